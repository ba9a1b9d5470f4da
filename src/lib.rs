//! Rapport: a headless API for customer relationship maintenance.
//!
//! Layers: `http` and `graphql` are thin doors onto `service`, which alone
//! talks to the database and relies on `domain` for rules and parsing.

pub mod auth;
pub mod bench;
pub mod config;
pub mod contract;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod seed;
pub mod service;
pub mod startup;
pub mod telemetry;

pub use startup::Application;
