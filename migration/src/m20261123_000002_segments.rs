//! RFM scores, value-tier history, settings, segments and their membership.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomerRfm {
    Table,
    CustomerId,
    RecencyDays,
    Frequency,
    Monetary,
    HistoricalSpend,
    RScore,
    FScore,
    MScore,
    Label,
    ComputedTier,
    LifetimeValue,
    LastOrderAt,
    ComputedAt,
}

#[derive(DeriveIden)]
enum CustomerTierChange {
    Table,
    Id,
    CustomerId,
    FromTier,
    ToTier,
    Reason,
    ChangedAt,
}

#[derive(DeriveIden)]
enum AppSetting {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Segment {
    Table,
    Id,
    Name,
    Description,
    Kind,
    Rule,
    MemberCount,
    RefreshedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SegmentMember {
    Table,
    SegmentId,
    CustomerId,
    EnteredAt,
}

#[derive(DeriveIden)]
enum SegmentEvent {
    Table,
    Id,
    SegmentId,
    CustomerId,
    Kind,
    At,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn sequence_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn to_customer(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Customer::Table, Customer::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn to_segment(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Segment::Table, Segment::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomerRfm::Table)
                    .col(ColumnDef::new(CustomerRfm::CustomerId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(CustomerRfm::RecencyDays).big_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::Frequency).big_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::Monetary).big_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::HistoricalSpend).big_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::RScore).small_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::FScore).small_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::MScore).small_integer().not_null())
                    .col(ColumnDef::new(CustomerRfm::Label).string().not_null())
                    .col(ColumnDef::new(CustomerRfm::ComputedTier).string().not_null())
                    .col(ColumnDef::new(CustomerRfm::LifetimeValue).big_integer().not_null())
                    .col(ts(CustomerRfm::LastOrderAt))
                    .col(ts(CustomerRfm::ComputedAt))
                    .foreign_key(&mut to_customer(
                        "fk_rfm_customer",
                        CustomerRfm::Table,
                        CustomerRfm::CustomerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_rfm_label")
                    .table(CustomerRfm::Table)
                    .col(CustomerRfm::Label)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomerTierChange::Table)
                    .col(sequence_pk(CustomerTierChange::Id))
                    .col(ColumnDef::new(CustomerTierChange::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(CustomerTierChange::FromTier).string().not_null())
                    .col(ColumnDef::new(CustomerTierChange::ToTier).string().not_null())
                    .col(ColumnDef::new(CustomerTierChange::Reason).string().not_null())
                    .col(ts(CustomerTierChange::ChangedAt))
                    .foreign_key(&mut to_customer(
                        "fk_tier_change_customer",
                        CustomerTierChange::Table,
                        CustomerTierChange::CustomerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tier_change_customer")
                    .table(CustomerTierChange::Table)
                    .col(CustomerTierChange::CustomerId)
                    .col(CustomerTierChange::ChangedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppSetting::Table)
                    .col(ColumnDef::new(AppSetting::Key).string().not_null().primary_key())
                    .col(ColumnDef::new(AppSetting::Value).json_binary().not_null())
                    .col(ts(AppSetting::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Segment::Table)
                    .col(ColumnDef::new(Segment::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Segment::Name).string().not_null().unique_key())
                    .col(ColumnDef::new(Segment::Description).text().null())
                    .col(ColumnDef::new(Segment::Kind).string().not_null())
                    .col(ColumnDef::new(Segment::Rule).json_binary().null())
                    .col(ColumnDef::new(Segment::MemberCount).big_integer().not_null())
                    .col(ColumnDef::new(Segment::RefreshedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Segment::CreatedBy).string().not_null())
                    .col(ts(Segment::CreatedAt))
                    .col(ts(Segment::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SegmentMember::Table)
                    .col(ColumnDef::new(SegmentMember::SegmentId).uuid().not_null())
                    .col(ColumnDef::new(SegmentMember::CustomerId).uuid().not_null())
                    .col(ts(SegmentMember::EnteredAt))
                    .primary_key(
                        Index::create()
                            .col(SegmentMember::SegmentId)
                            .col(SegmentMember::CustomerId),
                    )
                    .foreign_key(&mut to_segment(
                        "fk_member_segment",
                        SegmentMember::Table,
                        SegmentMember::SegmentId,
                    ))
                    .foreign_key(&mut to_customer(
                        "fk_member_customer",
                        SegmentMember::Table,
                        SegmentMember::CustomerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_member_customer")
                    .table(SegmentMember::Table)
                    .col(SegmentMember::CustomerId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SegmentEvent::Table)
                    .col(sequence_pk(SegmentEvent::Id))
                    .col(ColumnDef::new(SegmentEvent::SegmentId).uuid().not_null())
                    .col(ColumnDef::new(SegmentEvent::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(SegmentEvent::Kind).string().not_null())
                    .col(ts(SegmentEvent::At))
                    .foreign_key(&mut to_segment(
                        "fk_segment_event_segment",
                        SegmentEvent::Table,
                        SegmentEvent::SegmentId,
                    ))
                    .foreign_key(&mut to_customer(
                        "fk_segment_event_customer",
                        SegmentEvent::Table,
                        SegmentEvent::CustomerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_segment_event_segment")
                    .table(SegmentEvent::Table)
                    .col(SegmentEvent::SegmentId)
                    .col(SegmentEvent::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SegmentEvent::Table.into_iden(),
            SegmentMember::Table.into_iden(),
            Segment::Table.into_iden(),
            AppSetting::Table.into_iden(),
            CustomerTierChange::Table.into_iden(),
            CustomerRfm::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
