//! `customer_rfm` is derived data, rewritten whole by every recompute from
//! customers that exist (customers are only ever soft-deleted), and read
//! through a join from `customer`. Its foreign key cost a lookup per row on
//! every recompute (a quarter of the recompute's time) and its index on
//! `label` (eleven values, too coarse to help a query) most of the rest of
//! the rewrite, so both go. PostgreSQL drops them; SQLite, which cannot drop
//! a foreign key, rebuilds the table with its rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

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
enum Customer {
    Table,
    Id,
}

const FK: &str = "fk_rfm_customer";
const LABEL_INDEX: &str = "ix_rfm_label";

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

/// The table as migration 2 made it, with or without its foreign key.
fn create(name: impl IntoIden, with_fk: bool) -> TableCreateStatement {
    let name = name.into_iden();
    let mut t = Table::create()
        .table(name.clone())
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
        .to_owned();
    if with_fk {
        t.foreign_key(
            ForeignKey::create()
                .name(FK)
                .from(name, CustomerRfm::CustomerId)
                .to(Customer::Table, Customer::Id)
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    t
}

/// SQLite: copy the rows into a new table of the wanted shape and swap it
/// in, all or nothing (inside a savepoint).
async fn rebuild(manager: &SchemaManager<'_>, with_fk: bool) -> Result<(), DbErr> {
    let index = if with_fk {
        format!("CREATE INDEX {LABEL_INDEX} ON customer_rfm (label);")
    } else {
        String::new()
    };
    let db = manager.get_connection();
    let create = manager
        .get_database_backend()
        .build(&create(Alias::new("customer_rfm_rebuild"), with_fk))
        .sql;
    let script = format!(
        "SAVEPOINT rfm_rebuild;
         DROP TABLE IF EXISTS customer_rfm_rebuild;
         {create};
         INSERT INTO customer_rfm_rebuild SELECT * FROM customer_rfm;
         DROP TABLE customer_rfm;
         ALTER TABLE customer_rfm_rebuild RENAME TO customer_rfm;
         {index}
         RELEASE rfm_rebuild;"
    );
    if let Err(e) = db.execute_unprepared(&script).await {
        db.execute_unprepared("ROLLBACK TO rfm_rebuild; RELEASE rfm_rebuild;")
            .await?;
        return Err(e);
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .drop_index(Index::drop().name(LABEL_INDEX).table(CustomerRfm::Table).to_owned())
                .await?;
            manager
                .drop_foreign_key(ForeignKey::drop().name(FK).table(CustomerRfm::Table).to_owned())
                .await
        } else {
            rebuild(manager, false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Rows of customers that no longer exist would break the constraint.
        db.execute_unprepared("DELETE FROM customer_rfm WHERE customer_id NOT IN (SELECT id FROM customer)")
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .create_index(
                    Index::create()
                        .name(LABEL_INDEX)
                        .table(CustomerRfm::Table)
                        .col(CustomerRfm::Label)
                        .to_owned(),
                )
                .await?;
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name(FK)
                        .from(CustomerRfm::Table, CustomerRfm::CustomerId)
                        .to(Customer::Table, Customer::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .await
        } else {
            rebuild(manager, true).await
        }
    }
}
