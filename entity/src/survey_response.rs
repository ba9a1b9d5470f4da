//! `survey_response`: the answers to one invitation, partial until finished.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_response")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub invitation_id: Uuid,
    pub survey_id: Uuid,
    pub customer_id: Uuid,
    /// `partial` or `completed`.
    pub status: String,
    /// The score of an NPS, CSAT or CES survey.
    pub score: Option<i32>,
    /// The comment of an NPS, CSAT or CES survey (personal data).
    pub comment: Option<String>,
    /// Answers by question id: numbers, choice ids, text.
    pub answers: Json,
    pub language: String,
    pub channel: String,
    /// The feedback item a follow-up response is about.
    pub feedback_id: Option<Uuid>,
    /// The feedback item this response opened (a detractor's complaint).
    pub opened_feedback_id: Option<Uuid>,
    pub started_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
