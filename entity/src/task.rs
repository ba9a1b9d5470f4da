//! `task`: a piece of work for a staff member about a customer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub customer_id: Uuid,
    pub feedback_id: Option<Uuid>,
    pub title: String,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTimeUtc>,
    pub status: String,
    pub outcome: Option<String>,
    pub created_by: String,
    /// Set on tasks a job creates: one task per key, ever.
    pub dedup_key: Option<String>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
