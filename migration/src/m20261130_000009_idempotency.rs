//! Stored answers of idempotent requests: one row per (token subject,
//! method, route, key), written in the transaction of the change it answers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    Subject,
    Method,
    Route,
    Key,
    Fingerprint,
    Status,
    Headers,
    Body,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .col(ColumnDef::new(IdempotencyKey::Subject).text().not_null())
                    .col(ColumnDef::new(IdempotencyKey::Method).string_len(8).not_null())
                    .col(ColumnDef::new(IdempotencyKey::Route).text().not_null())
                    .col(ColumnDef::new(IdempotencyKey::Key).string_len(255).not_null())
                    .col(ColumnDef::new(IdempotencyKey::Fingerprint).string_len(64).not_null())
                    .col(ColumnDef::new(IdempotencyKey::Status).integer().not_null())
                    .col(ColumnDef::new(IdempotencyKey::Headers).json_binary().not_null())
                    .col(ColumnDef::new(IdempotencyKey::Body).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyKey::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKey::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKey::Subject)
                            .col(IdempotencyKey::Method)
                            .col(IdempotencyKey::Route)
                            .col(IdempotencyKey::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_expires")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKey::Table).to_owned())
            .await
    }
}
