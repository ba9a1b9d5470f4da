//! Failed payments a shop or billing system reports for a customer (a
//! declined card, a bounced direct debit), and when each was recovered:
//! the evidence behind health's `payment_failed` risk.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentFailure {
    Table,
    Id,
    CustomerId,
    OrderId,
    AmountMinor,
    Currency,
    ReasonCode,
    FailedAt,
    RecoveredAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = |c: PaymentFailure| ColumnDef::new(c).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(PaymentFailure::Table)
                    .col(ColumnDef::new(PaymentFailure::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(PaymentFailure::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(PaymentFailure::OrderId).uuid().null())
                    .col(ColumnDef::new(PaymentFailure::AmountMinor).big_integer().null())
                    .col(ColumnDef::new(PaymentFailure::Currency).string_len(3).null())
                    .col(ColumnDef::new(PaymentFailure::ReasonCode).string_len(64).null())
                    .col(ts(PaymentFailure::FailedAt).not_null())
                    .col(ts(PaymentFailure::RecoveredAt).null())
                    .col(ColumnDef::new(PaymentFailure::CreatedBy).string_len(128).not_null())
                    .col(ts(PaymentFailure::CreatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_failure_customer")
                            .from(PaymentFailure::Table, PaymentFailure::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_failure_customer")
                    .table(PaymentFailure::Table)
                    .col(PaymentFailure::CustomerId)
                    .col(PaymentFailure::FailedAt)
                    .col(PaymentFailure::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentFailure::Table).to_owned())
            .await
    }
}
