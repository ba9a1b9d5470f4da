//! `event`: the event log. Each row is written in the transaction of the
//! change it reports; the pull feed reads it and webhook delivery fans it out.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event")]
pub struct Model {
    /// Write order; with `tx` on PostgreSQL, the feed's order.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// UUID v7; the `webhook-id` of every delivery of this event.
    #[sea_orm(unique)]
    pub id: Uuid,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    /// The record the event is about (customer, order, segment, …).
    pub subject_id: Uuid,
    /// The customer it concerns, when there is one (for export and erasure).
    pub customer_id: Option<Uuid>,
    /// The fields beyond the ids: changed field names, states, amounts.
    pub data: Json,
    /// The writing transaction on PostgreSQL (set by the database); 0 on SQLite.
    pub tx: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
