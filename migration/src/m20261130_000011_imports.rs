//! Bulk imports and their row errors (the failed rows as they were sent, so
//! they can be fixed and sent again).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportRun {
    Table,
    Id,
    Kind,
    Format,
    DryRun,
    Columns,
    Rows,
    Created,
    Updated,
    Unchanged,
    Failed,
    CreatedBy,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ImportError {
    Table,
    Id,
    ImportId,
    Row,
    Field,
    Error,
    Cells,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let count = |c: ImportRun| ColumnDef::new(c).big_integer().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(ImportRun::Table)
                    .col(ColumnDef::new(ImportRun::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ImportRun::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(ImportRun::Format).string_len(16).not_null())
                    .col(ColumnDef::new(ImportRun::DryRun).boolean().not_null())
                    .col(ColumnDef::new(ImportRun::Columns).json_binary().not_null())
                    .col(count(ImportRun::Rows))
                    .col(count(ImportRun::Created))
                    .col(count(ImportRun::Updated))
                    .col(count(ImportRun::Unchanged))
                    .col(count(ImportRun::Failed))
                    .col(ColumnDef::new(ImportRun::CreatedBy).text().not_null())
                    .col(
                        ColumnDef::new(ImportRun::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ImportRun::FinishedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportError::Table)
                    .col(
                        ColumnDef::new(ImportError::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ImportError::ImportId).uuid().not_null())
                    .col(ColumnDef::new(ImportError::Row).big_integer().not_null())
                    .col(ColumnDef::new(ImportError::Field).text().not_null())
                    .col(ColumnDef::new(ImportError::Error).text().not_null())
                    .col(ColumnDef::new(ImportError::Cells).json_binary().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_import_error_run")
                            .from(ImportError::Table, ImportError::ImportId)
                            .to(ImportRun::Table, ImportRun::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_error_run")
                    .table(ImportError::Table)
                    .col(ImportError::ImportId)
                    .col(ImportError::Row)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportError::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ImportRun::Table).to_owned())
            .await
    }
}
