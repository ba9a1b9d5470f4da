//! Schema migrations, one file per change, each with a working `down()`.
//! The same migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_customers;
mod m20261123_000002_segments;
mod m20261124_000003_lighter_rfm_table;
mod m20261124_000004_customer_order_stats;
mod m20261125_000005_feedback;
mod m20261130_000006_list_indexes;
mod m20261130_000007_events_and_jobs;
mod m20261130_000008_webhooks;
mod m20261130_000009_idempotency;
mod m20261130_000010_erasure;
mod m20261130_000011_imports;
mod m20261130_000012_import_keys;
mod m20261130_000013_surveys;
mod m20261130_000014_loyalty;
mod m20261201_000015_health;
mod m20261201_000016_health_alerts;
mod m20261201_000017_cadence;
mod m20261201_000018_stage_changes;
mod m20261202_000019_needs;
mod m20261202_000020_suggestion_adoption;
mod m20261202_000021_needs_report_indexes;
mod m20261202_000022_payment_failures;

pub use m20261124_000004_customer_order_stats::RECOUNT_ALL as RECOUNT_ORDER_STATS;

/// Every migration of the application, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_customers::Migration),
            Box::new(m20261123_000002_segments::Migration),
            Box::new(m20261124_000003_lighter_rfm_table::Migration),
            Box::new(m20261124_000004_customer_order_stats::Migration),
            Box::new(m20261125_000005_feedback::Migration),
            Box::new(m20261130_000006_list_indexes::Migration),
            Box::new(m20261130_000007_events_and_jobs::Migration),
            Box::new(m20261130_000008_webhooks::Migration),
            Box::new(m20261130_000009_idempotency::Migration),
            Box::new(m20261130_000010_erasure::Migration),
            Box::new(m20261130_000011_imports::Migration),
            Box::new(m20261130_000012_import_keys::Migration),
            Box::new(m20261130_000013_surveys::Migration),
            Box::new(m20261130_000014_loyalty::Migration),
            Box::new(m20261201_000015_health::Migration),
            Box::new(m20261201_000016_health_alerts::Migration),
            Box::new(m20261201_000017_cadence::Migration),
            Box::new(m20261201_000018_stage_changes::Migration),
            Box::new(m20261202_000019_needs::Migration),
            Box::new(m20261202_000020_suggestion_adoption::Migration),
            Box::new(m20261202_000021_needs_report_indexes::Migration),
            Box::new(m20261202_000022_payment_failures::Migration),
        ]
    }
}
