//! `survey`: an NPS, CSAT, CES or custom questionnaire and how it is sent.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "survey")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// `nps`, `csat`, `ces` or `custom`.
    pub kind: String,
    /// `draft`, `active` or `closed`.
    pub status: String,
    pub default_language: String,
    /// The questions (`domain::surveys::Question`), in order.
    pub questions: Json,
    /// `default`, `ignore` or `override` (the two day counts below).
    pub fatigue: String,
    pub fatigue_kind_days: Option<i32>,
    pub fatigue_cooldown_days: Option<i32>,
    /// Whether follow-up invitations (after a resolved feedback item) skip
    /// the fatigue rules.
    pub follow_up_exempt: bool,
    pub expires_after_hours: i32,
    pub max_reminders: i32,
    /// `after_order` or `periodic`, with its delay or segment and period.
    pub trigger_kind: Option<String>,
    pub trigger_delay_minutes: Option<i32>,
    pub trigger_segment_id: Option<Uuid>,
    pub trigger_every_months: Option<i32>,
    /// After an order: orders recorded up to here have been looked at.
    pub trigger_cursor: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub activated_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
