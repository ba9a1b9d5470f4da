//! The customer list filtered by tier, stage or owner reads its page in
//! `created_at` order straight from an index: each single-column filter index
//! becomes (column, created_at, id), which serves the filter alone as well.
//! Before, a common stage (`active`, three customers in four) meant fetching
//! and sorting most of the table for one page.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customer {
    Table,
}

/// (old index, its column, new index).
const INDEXES: [(&str, &str, &str); 3] = [
    ("ix_customer_tier", "value_tier", "ix_customer_tier_created"),
    ("ix_customer_stage", "lifecycle_stage", "ix_customer_stage_created"),
    ("ix_customer_owner", "owner_id", "ix_customer_owner_created"),
];

fn index(name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(Customer::Table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (old, col, new) in INDEXES {
            manager.create_index(index(new, &[col, "created_at", "id"])).await?;
            manager
                .drop_index(Index::drop().name(old).table(Customer::Table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (old, col, new) in INDEXES {
            manager.create_index(index(old, &[col])).await?;
            manager
                .drop_index(Index::drop().name(new).table(Customer::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}
