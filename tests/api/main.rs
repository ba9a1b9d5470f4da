//! The integration tests: one binary (it links once), a module per area.
//! Each test that touches a database runs on SQLite and on PostgreSQL
//! (`on_both_databases!`).

#[macro_use]
mod common;

mod access;
mod bulk;
mod cadence;
mod cli;
mod customers;
mod events;
mod feedback;
mod graphql;
mod hardening;
mod health;
mod health_report;
mod health_warning;
mod idempotency;
mod loyalty;
mod loyalty_holds;
mod loyalty_referrals;
mod migrations;
mod needs;
mod outages;
mod payments;
mod platform;
mod privacy;
mod relations;
mod replicas;
mod schema;
mod seed;
mod segments;
mod surveys;
mod tasks;
mod webhooks;
