//! Early-warning alerts: one row per rule and episode, open until cleared;
//! the latest health score and level, and the latest churn's reason and
//! time, on the customer.
//! A partial unique index keeps one open alert per customer and rule, so
//! instances evaluating the same customers at once raise it once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HealthAlert {
    Table,
    Id,
    CustomerId,
    Rule,
    Evidence,
    FiredAt,
    ClearedAt,
    TaskId,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
    HealthScore,
    HealthLevel,
    ChurnReason,
    ChurnedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HealthAlert::Table)
                    .col(ColumnDef::new(HealthAlert::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(HealthAlert::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(HealthAlert::Rule).string_len(32).not_null())
                    .col(ColumnDef::new(HealthAlert::Evidence).json().not_null())
                    .col(
                        ColumnDef::new(HealthAlert::FiredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(HealthAlert::ClearedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(HealthAlert::TaskId).uuid().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_health_alert_customer")
                            .from(HealthAlert::Table, HealthAlert::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_health_alert_customer_time")
                    .table(HealthAlert::Table)
                    .col(HealthAlert::CustomerId)
                    .col(HealthAlert::FiredAt)
                    .to_owned(),
            )
            .await?;
        // The latest recompute's score and level on the customer, for segment
        // rules, lists and the 360.
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::HealthScore).double().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::HealthLevel).string_len(24).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::ChurnReason).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Customer::Table)
                    .add_column(ColumnDef::new(Customer::ChurnedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_health_level")
                    .table(Customer::Table)
                    .col(Customer::HealthLevel)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_health_alert_open ON health_alert (customer_id, rule) WHERE cleared_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_customer_health_level")
                    .table(Customer::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Customer::HealthScore,
            Customer::HealthLevel,
            Customer::ChurnReason,
            Customer::ChurnedAt,
        ] {
            manager
                .alter_table(Table::alter().table(Customer::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(HealthAlert::Table).to_owned())
            .await?;
        Ok(())
    }
}
