//! Health: each recompute's score per customer, kept as history (score,
//! level, coverage and every factor's value, weight and contribution), and
//! staff's manual overrides with their expiry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HealthScore {
    Table,
    Id,
    CustomerId,
    ComputedAt,
    Score,
    Level,
    Coverage,
    Factors,
}

#[derive(DeriveIden)]
enum HealthOverride {
    Table,
    CustomerId,
    Value,
    Reason,
    Author,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HealthScore::Table)
                    .col(ColumnDef::new(HealthScore::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(HealthScore::CustomerId).uuid().not_null())
                    .col(ts(HealthScore::ComputedAt))
                    .col(ColumnDef::new(HealthScore::Score).double().null())
                    .col(ColumnDef::new(HealthScore::Level).string_len(24).not_null())
                    .col(ColumnDef::new(HealthScore::Coverage).double().not_null())
                    .col(ColumnDef::new(HealthScore::Factors).json().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_health_score_customer")
                            .from(HealthScore::Table, HealthScore::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_health_score_customer_time")
                    .table(HealthScore::Table)
                    .col(HealthScore::CustomerId)
                    .col(HealthScore::ComputedAt)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_health_score_time_level")
                    .table(HealthScore::Table)
                    .col(HealthScore::ComputedAt)
                    .col(HealthScore::Level)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HealthOverride::Table)
                    .col(
                        ColumnDef::new(HealthOverride::CustomerId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(HealthOverride::Value).integer().not_null().check(
                            Expr::col(HealthOverride::Value)
                                .gte(0)
                                .and(Expr::col(HealthOverride::Value).lte(100)),
                        ),
                    )
                    .col(ColumnDef::new(HealthOverride::Reason).text().not_null())
                    .col(ColumnDef::new(HealthOverride::Author).string_len(128).not_null())
                    .col(ts(HealthOverride::ExpiresAt))
                    .col(ts(HealthOverride::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_health_override_customer")
                            .from(HealthOverride::Table, HealthOverride::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [HealthOverride::Table.into_iden(), HealthScore::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
