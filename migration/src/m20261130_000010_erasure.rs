//! Erasures: which customers were erased, when and by whom — kept so that a
//! restored backup can be erased again (`rapport erase --replay`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Erasure {
    Table,
    CustomerId,
    ErasedAt,
    ErasedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Erasure::Table)
                    .col(ColumnDef::new(Erasure::CustomerId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Erasure::ErasedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Erasure::ErasedBy).text().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Erasure::Table).to_owned()).await
    }
}
