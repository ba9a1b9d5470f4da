//! Contact cadence and care moments: a customer's own time zone and cadence
//! override, and a key on tasks a job creates so that each moment, overdue
//! episode, quarter or half-year gets its task once, however often and on
//! however many instances the job runs (a unique index; NULL for tasks
//! people create).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customer {
    Table,
    TimeZone,
    CadenceDays,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    DedupKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::TimeZone).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::CadenceDays).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Task::Table)
                    .add_column(ColumnDef::new(Task::DedupKey).string_len(96).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_task_dedup_key")
                    .table(Task::Table)
                    .col(Task::DedupKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ux_task_dedup_key").table(Task::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Task::Table).drop_column(Task::DedupKey).to_owned())
            .await?;
        for column in [Customer::TimeZone, Customer::CadenceDays] {
            manager
                .alter_table(Table::alter().table(Customer::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
