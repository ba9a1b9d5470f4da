//! Tools the command line offers beside the server: `rapport seed` fills a
//! database with realistic data, `rapport bench` measures against it. They
//! sit apart from the product's layers and use them as any caller would.

pub mod bench;
pub mod seed;
