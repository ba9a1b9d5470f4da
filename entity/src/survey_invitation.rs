//! `survey_invitation`: one customer asked to answer one survey, by a
//! single-use token of which only the SHA-256 hash is kept.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub survey_id: Uuid,
    pub customer_id: Uuid,
    /// The survey's kind, for the fatigue rules.
    pub kind: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub channel: String,
    /// `manual`, `follow_up`, `order` or `periodic`.
    pub source: String,
    /// What made a triggered invitation (unique per survey), so a trigger
    /// run twice invites once.
    pub source_key: Option<String>,
    /// The feedback item a follow-up invitation asks about.
    pub feedback_id: Option<Uuid>,
    /// Outside the fatigue rules (a follow-up): neither blocked by them nor
    /// counted by them.
    pub exempt: bool,
    /// `pending`, `partial` or `completed` (expiry is read from `expires_at`).
    pub status: String,
    pub expires_at: DateTimeUtc,
    pub sent_at: DateTimeUtc,
    /// The latest send, reminders included: what the fatigue rules count.
    pub last_sent_at: DateTimeUtc,
    pub reminders: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
