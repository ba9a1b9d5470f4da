//! Rapport: a headless API for customer relationship maintenance.
//!
//! Layers: `http` and `graphql` are thin doors onto `service`, which alone
//! talks to the database and relies on `domain` for rules and parsing;
//! `contract` holds the wire types both doors share; `cli` the tools beside
//! the server (seed, bench).

pub mod auth;
pub mod cli;
pub mod config;
pub mod contract;
pub mod database;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod replica;
pub mod service;
pub mod startup;
pub mod telemetry;

pub use startup::Application;
