//! `feedback_item`: one piece of customer feedback and its two SLA clocks
//! (`response_*` until acknowledged, `resolution_*` until resolved).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "feedback_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub channel: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub rating: Option<i32>,
    pub severity: String,
    pub severity_rule: String,
    pub sentiment: f64,
    pub keywords: Json,
    pub status: String,
    pub assignee_id: Option<String>,
    pub created_by: String,
    pub root_cause: Option<String>,
    pub review_note: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub response_target_minutes: i64,
    pub response_business: bool,
    pub response_used_micros: i64,
    pub response_since: Option<DateTimeUtc>,
    pub response_due_at: DateTimeUtc,
    pub response_warn_at: DateTimeUtc,
    pub response_met_at: Option<DateTimeUtc>,
    pub response_warned_at: Option<DateTimeUtc>,
    pub response_breached_at: Option<DateTimeUtc>,
    pub resolution_target_minutes: i64,
    pub resolution_business: bool,
    pub resolution_used_micros: i64,
    pub resolution_since: Option<DateTimeUtc>,
    pub resolution_due_at: DateTimeUtc,
    pub resolution_warn_at: DateTimeUtc,
    pub resolution_met_at: Option<DateTimeUtc>,
    pub resolution_warned_at: Option<DateTimeUtc>,
    pub resolution_breached_at: Option<DateTimeUtc>,
    /// When a suggestion was adopted, by whom, with what note.
    pub adopted_at: Option<DateTimeUtc>,
    pub adopted_by: Option<String>,
    pub adoption_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
