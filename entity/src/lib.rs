//! SeaORM entities: one module per table, no behaviour. Business rules live in
//! the application's `domain` and `service` modules.

pub mod contact;
pub mod customer;
pub mod customer_tag;
pub mod interaction;
pub mod order;
