//! Adopted suggestions: when a feedback item of kind `suggestion` was
//! adopted, by whom and with what note.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedbackItem {
    Table,
    AdoptedAt,
    AdoptedBy,
    AdoptionNote,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            ColumnDef::new(FeedbackItem::AdoptedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(FeedbackItem::AdoptedBy)
                .string_len(128)
                .null()
                .to_owned(),
            ColumnDef::new(FeedbackItem::AdoptionNote).text().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(FeedbackItem::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            FeedbackItem::AdoptedAt,
            FeedbackItem::AdoptedBy,
            FeedbackItem::AdoptionNote,
        ] {
            manager
                .alter_table(Table::alter().table(FeedbackItem::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
