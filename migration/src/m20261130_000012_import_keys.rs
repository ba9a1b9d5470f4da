//! The external ids an import has met so far, with the row each came in:
//! kept in the database rather than in the server's memory, so an import's
//! memory stays flat however long the file.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportKey {
    Table,
    ImportId,
    ExternalId,
    Row,
}

#[derive(DeriveIden)]
enum ImportRun {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportKey::Table)
                    .col(ColumnDef::new(ImportKey::ImportId).uuid().not_null())
                    .col(ColumnDef::new(ImportKey::ExternalId).text().not_null())
                    .col(ColumnDef::new(ImportKey::Row).big_integer().not_null())
                    .primary_key(Index::create().col(ImportKey::ImportId).col(ImportKey::ExternalId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_import_key_run")
                            .from(ImportKey::Table, ImportKey::ImportId)
                            .to(ImportRun::Table, ImportRun::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportKey::Table).to_owned())
            .await
    }
}
