//! `webhook_attempt`: the delivery log, one row per POST tried.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempt")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// 1 for the first try.
    pub attempt: i32,
    pub at: DateTimeUtc,
    /// The endpoint's status; none when no answer came.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// At most 1 kB of the answer, control characters and contact details removed.
    pub response_body: Option<String>,
    /// Why no answer counted (refused address, timeout, connection error).
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
