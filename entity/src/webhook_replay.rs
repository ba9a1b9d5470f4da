//! `webhook_replay`: a request to send a subscription's deliveries of a time
//! range again, worked by a background job.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_replay")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub since: DateTimeUtc,
    pub until: DateTimeUtc,
    /// Only deliveries in this state; none means every finished one.
    pub status: Option<String>,
    /// `queued` or `done`.
    pub state: String,
    pub requeued: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
