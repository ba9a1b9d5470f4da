//! Lifecycle stage history: every move of a customer's stage with its time
//! and, for churn and win-back, the churn reason — what the monthly health
//! report counts churn and win-backs from.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomerStageChange {
    Table,
    Id,
    CustomerId,
    FromStage,
    ToStage,
    Reason,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomerStageChange::Table)
                    .col(ColumnDef::new(CustomerStageChange::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(CustomerStageChange::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(CustomerStageChange::FromStage).string_len(24).not_null())
                    .col(ColumnDef::new(CustomerStageChange::ToStage).string_len(24).not_null())
                    .col(ColumnDef::new(CustomerStageChange::Reason).string_len(16).null())
                    .col(
                        ColumnDef::new(CustomerStageChange::ChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_stage_change_customer")
                            .from(CustomerStageChange::Table, CustomerStageChange::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_stage_change_to_time")
                    .table(CustomerStageChange::Table)
                    .col(CustomerStageChange::ToStage)
                    .col(CustomerStageChange::ChangedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_stage_change_customer")
                    .table(CustomerStageChange::Table)
                    .col(CustomerStageChange::CustomerId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomerStageChange::Table).to_owned())
            .await?;
        Ok(())
    }
}
