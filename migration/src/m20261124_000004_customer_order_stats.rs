//! Order statistics kept on the customer row: completed-order count, total
//! spend and the time of the last completed order. Segment rules filter on
//! them as plain columns instead of aggregating a customer's orders per
//! candidate row; recording or refunding an order updates them in the same
//! transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customer {
    Table,
    OrderCount,
    TotalSpend,
    LastOrderAt,
}

/// Recounts the statistics of every customer with completed orders, in one
/// statement (the same on SQLite and PostgreSQL); bulk loads run it too.
pub const RECOUNT_ALL: &str = "UPDATE customer
    SET order_count = s.n, total_spend = s.spend, last_order_at = s.last
    FROM (SELECT customer_id, COUNT(*) AS n, SUM(amount_minor) AS spend, MAX(ordered_at) AS last
          FROM customer_order WHERE status = 'completed' GROUP BY customer_id) AS s
    WHERE s.customer_id = customer.id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            ColumnDef::new(Customer::OrderCount)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Customer::TotalSpend)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Customer::LastOrderAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Customer::Table).add_column(col).to_owned())
                .await?;
        }
        manager.get_connection().execute_unprepared(RECOUNT_ALL).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Customer::OrderCount, Customer::TotalSpend, Customer::LastOrderAt] {
            manager
                .alter_table(Table::alter().table(Customer::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
