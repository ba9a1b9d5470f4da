//! Indexes the needs report reads through: deliveries by status and close
//! time, and the few deleted customers (a partial index), so the report
//! can leave their needs out without reading every customer row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX ix_need_status_closed ON need (status, closed_at)")
            .await?;
        db.execute_unprepared("CREATE INDEX ix_customer_deleted ON customer (id) WHERE deleted_at IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_customer_deleted").await?;
        db.execute_unprepared("DROP INDEX ix_need_status_closed").await?;
        Ok(())
    }
}
