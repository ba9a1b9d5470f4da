//! Loyalty: one account per customer, an append-only ledger, the lots every
//! credit makes (what is left of each, when it becomes spendable and when it
//! expires) and each entry's moves in and out of lots, tiers and their
//! history, the rewards catalogue and checkout holds.
//!
//! The database keeps the last guards: an account's points and debt and a
//! lot's remainder never go below zero (a `CHECK`), a lot never holds more
//! than it was given, and an idempotency key is used once per account.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoyaltyAccount {
    Table,
    CustomerId,
    Points,
    Debt,
    LifetimeEarned,
    LastSeq,
    TierId,
    TierSince,
    TierReviewAt,
    ReferralCode,
    ReferredBy,
    ReferralRewardedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyEntry {
    Table,
    Id,
    CustomerId,
    Seq,
    Kind,
    Points,
    BalanceAfter,
    DebtChange,
    Unrecovered,
    ReasonCode,
    Note,
    OrderId,
    RewardId,
    ReversesEntryId,
    EligibleMinor,
    Actor,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyLot {
    Table,
    Id,
    CustomerId,
    EntryId,
    Points,
    Remaining,
    AvailableAt,
    ExpiresAt,
    NotifiedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyLotMove {
    Table,
    Id,
    EntryId,
    LotId,
    Points,
}

#[derive(DeriveIden)]
enum LoyaltyTier {
    Table,
    Id,
    Name,
    QualifyingPoints,
    Multiplier,
    Benefits,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyTierChange {
    Table,
    Id,
    CustomerId,
    FromTierId,
    ToTierId,
    Reason,
    QualifyingPoints,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyReward {
    Table,
    Id,
    Name,
    Description,
    Cost,
    Stock,
    AvailableFrom,
    AvailableUntil,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LoyaltyHold {
    Table,
    Id,
    CustomerId,
    EntryId,
    Points,
    Status,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CustomerOrder {
    Table,
    RefundedMinor,
    PointsPaidMinor,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

fn points(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyAccount::Table)
                    .col(
                        ColumnDef::new(LoyaltyAccount::CustomerId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        points(LoyaltyAccount::Points)
                            .check(Expr::cust("points >= 0"))
                            .to_owned(),
                    )
                    .col(points(LoyaltyAccount::Debt).check(Expr::cust("debt >= 0")).to_owned())
                    .col(points(LoyaltyAccount::LifetimeEarned))
                    .col(points(LoyaltyAccount::LastSeq))
                    .col(ColumnDef::new(LoyaltyAccount::TierId).uuid().null())
                    .col(ts_null(LoyaltyAccount::TierSince))
                    .col(ts_null(LoyaltyAccount::TierReviewAt))
                    .col(
                        ColumnDef::new(LoyaltyAccount::ReferralCode)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(LoyaltyAccount::ReferredBy).uuid().null())
                    .col(ts_null(LoyaltyAccount::ReferralRewardedAt))
                    .col(ts(LoyaltyAccount::CreatedAt))
                    .col(ts(LoyaltyAccount::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_account_customer")
                            .from(LoyaltyAccount::Table, LoyaltyAccount::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_loyalty_account_referred_by",
                LoyaltyAccount::Table,
                &["referred_by", "referral_rewarded_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyEntry::Table)
                    .col(ColumnDef::new(LoyaltyEntry::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyEntry::CustomerId).uuid().not_null())
                    .col(points(LoyaltyEntry::Seq))
                    .col(ColumnDef::new(LoyaltyEntry::Kind).string_len(16).not_null())
                    .col(points(LoyaltyEntry::Points))
                    .col(points(LoyaltyEntry::BalanceAfter))
                    .col(points(LoyaltyEntry::DebtChange))
                    .col(points(LoyaltyEntry::Unrecovered))
                    .col(ColumnDef::new(LoyaltyEntry::ReasonCode).string_len(64).null())
                    .col(ColumnDef::new(LoyaltyEntry::Note).text().null())
                    .col(ColumnDef::new(LoyaltyEntry::OrderId).uuid().null())
                    .col(ColumnDef::new(LoyaltyEntry::RewardId).uuid().null())
                    .col(ColumnDef::new(LoyaltyEntry::ReversesEntryId).uuid().null())
                    .col(ColumnDef::new(LoyaltyEntry::EligibleMinor).big_integer().null())
                    .col(ColumnDef::new(LoyaltyEntry::Actor).text().not_null())
                    .col(ColumnDef::new(LoyaltyEntry::IdempotencyKey).string_len(255).not_null())
                    .col(ts(LoyaltyEntry::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_entry_account")
                            .from(LoyaltyEntry::Table, LoyaltyEntry::CustomerId)
                            .to(LoyaltyAccount::Table, LoyaltyAccount::CustomerId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A retried credit or debit finds its entry instead of writing a second.
        manager
            .create_index(
                index(
                    "ux_loyalty_entry_key",
                    LoyaltyEntry::Table,
                    &["customer_id", "idempotency_key"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // The account's entries in the order its lock let them in.
        manager
            .create_index(
                index("ux_loyalty_entry_seq", LoyaltyEntry::Table, &["customer_id", "seq"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_loyalty_entry_customer", &["customer_id", "created_at"][..]),
            ("ix_loyalty_entry_order", &["order_id"][..]),
            ("ix_loyalty_entry_reverses", &["reverses_entry_id"][..]),
            ("ix_loyalty_entry_kind", &["kind", "created_at"][..]),
        ] {
            manager.create_index(index(name, LoyaltyEntry::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyLot::Table)
                    .col(ColumnDef::new(LoyaltyLot::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyLot::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(LoyaltyLot::EntryId).uuid().not_null())
                    .col(points(LoyaltyLot::Points).check(Expr::cust("points > 0")).to_owned())
                    .col(
                        points(LoyaltyLot::Remaining)
                            .check(Expr::cust("remaining >= 0 AND remaining <= points"))
                            .to_owned(),
                    )
                    .col(ts(LoyaltyLot::AvailableAt))
                    .col(ts(LoyaltyLot::ExpiresAt))
                    .col(ts_null(LoyaltyLot::NotifiedAt))
                    .col(ts(LoyaltyLot::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_lot_entry")
                            .from(LoyaltyLot::Table, LoyaltyLot::EntryId)
                            .to(LoyaltyEntry::Table, LoyaltyEntry::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // Redemption order: the customer's lots by expiry.
            ("ix_loyalty_lot_customer", &["customer_id", "expires_at"][..]),
            // The expiry job and the liability: lots by expiry.
            ("ix_loyalty_lot_expires", &["expires_at"][..]),
            ("ix_loyalty_lot_entry", &["entry_id"][..]),
        ] {
            manager.create_index(index(name, LoyaltyLot::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyLotMove::Table)
                    .col(
                        ColumnDef::new(LoyaltyLotMove::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoyaltyLotMove::EntryId).uuid().not_null())
                    .col(ColumnDef::new(LoyaltyLotMove::LotId).uuid().not_null())
                    .col(points(LoyaltyLotMove::Points))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_lot_move_lot")
                            .from(LoyaltyLotMove::Table, LoyaltyLotMove::LotId)
                            .to(LoyaltyLot::Table, LoyaltyLot::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_loyalty_lot_move_entry", &["entry_id"][..]),
            ("ix_loyalty_lot_move_lot", &["lot_id"][..]),
        ] {
            manager.create_index(index(name, LoyaltyLotMove::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyTier::Table)
                    .col(ColumnDef::new(LoyaltyTier::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyTier::Name).text().not_null().unique_key())
                    .col(
                        points(LoyaltyTier::QualifyingPoints)
                            .unique_key()
                            .check(Expr::cust("qualifying_points >= 0"))
                            .to_owned(),
                    )
                    .col(ColumnDef::new(LoyaltyTier::Multiplier).double().not_null())
                    .col(ColumnDef::new(LoyaltyTier::Benefits).json_binary().not_null())
                    .col(ts(LoyaltyTier::CreatedAt))
                    .col(ts(LoyaltyTier::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyTierChange::Table)
                    .col(ColumnDef::new(LoyaltyTierChange::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyTierChange::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(LoyaltyTierChange::FromTierId).uuid().null())
                    .col(ColumnDef::new(LoyaltyTierChange::ToTierId).uuid().null())
                    .col(ColumnDef::new(LoyaltyTierChange::Reason).string_len(16).not_null())
                    .col(points(LoyaltyTierChange::QualifyingPoints))
                    .col(ts(LoyaltyTierChange::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_tier_change_account")
                            .from(LoyaltyTierChange::Table, LoyaltyTierChange::CustomerId)
                            .to(LoyaltyAccount::Table, LoyaltyAccount::CustomerId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_loyalty_tier_change_customer",
                LoyaltyTierChange::Table,
                &["customer_id", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyReward::Table)
                    .col(ColumnDef::new(LoyaltyReward::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyReward::Name).text().not_null())
                    .col(ColumnDef::new(LoyaltyReward::Description).text().null())
                    .col(points(LoyaltyReward::Cost).check(Expr::cust("cost > 0")).to_owned())
                    .col(
                        ColumnDef::new(LoyaltyReward::Stock)
                            .big_integer()
                            .null()
                            .check(Expr::cust("stock >= 0"))
                            .to_owned(),
                    )
                    .col(ts_null(LoyaltyReward::AvailableFrom))
                    .col(ts_null(LoyaltyReward::AvailableUntil))
                    .col(ColumnDef::new(LoyaltyReward::Active).boolean().not_null())
                    .col(ts(LoyaltyReward::CreatedAt))
                    .col(ts(LoyaltyReward::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoyaltyHold::Table)
                    .col(ColumnDef::new(LoyaltyHold::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LoyaltyHold::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(LoyaltyHold::EntryId).uuid().not_null().unique_key())
                    .col(points(LoyaltyHold::Points))
                    .col(ColumnDef::new(LoyaltyHold::Status).string_len(16).not_null())
                    .col(ts(LoyaltyHold::ExpiresAt))
                    .col(ts(LoyaltyHold::CreatedAt))
                    .col(ts(LoyaltyHold::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loyalty_hold_entry")
                            .from(LoyaltyHold::Table, LoyaltyHold::EntryId)
                            .to(LoyaltyEntry::Table, LoyaltyEntry::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_loyalty_hold_status",
                LoyaltyHold::Table,
                &["status", "expires_at"],
            ))
            .await?;
        // Promoters to ask for referrals, newest candidates first.
        manager
            .create_index(index(
                "ix_customer_referral_candidate",
                Customer::Table,
                &["referral_candidate_at", "id"],
            ))
            .await?;
        // Partial refunds, and the part of an order paid with points (not
        // eligible to earn).
        for col in [CustomerOrder::RefundedMinor, CustomerOrder::PointsPaidMinor] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CustomerOrder::Table)
                        .add_column(ColumnDef::new(col).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_customer_referral_candidate")
                    .table(Customer::Table)
                    .to_owned(),
            )
            .await?;
        for col in [CustomerOrder::RefundedMinor, CustomerOrder::PointsPaidMinor] {
            manager
                .alter_table(Table::alter().table(CustomerOrder::Table).drop_column(col).to_owned())
                .await?;
        }
        for table in [
            LoyaltyHold::Table.into_iden(),
            LoyaltyReward::Table.into_iden(),
            LoyaltyTierChange::Table.into_iden(),
            LoyaltyTier::Table.into_iden(),
            LoyaltyLotMove::Table.into_iden(),
            LoyaltyLot::Table.into_iden(),
            LoyaltyEntry::Table.into_iden(),
            LoyaltyAccount::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
