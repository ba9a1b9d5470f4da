//! `customer`: the record everything hangs on.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "customer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub kind: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<String>,
    pub value_tier: String,
    pub tier_locked: bool,
    pub lifecycle_stage: String,
    pub tags: Json,
    pub preferred_channel: Option<String>,
    pub preferred_language: Option<String>,
    pub birthday: Option<Date>,
    pub relationship_start: Option<Date>,
    /// IANA time zone, for the customer's local date (care moments).
    pub time_zone: Option<String>,
    /// Days between contacts, overriding the tier's cadence.
    pub cadence_days: Option<i32>,
    pub marketing_consent: bool,
    pub marketing_consent_at: Option<DateTimeUtc>,
    pub custom_attributes: Json,
    pub notes: Option<String>,
    pub last_contacted_at: Option<DateTimeUtc>,
    /// Completed orders (kept up to date by order recording and refunds).
    pub order_count: i64,
    /// Sum of completed orders' amounts, in minor units.
    pub total_spend: i64,
    /// Time of the latest completed order.
    pub last_order_at: Option<DateTimeUtc>,
    /// The latest NPS score (0–10) and its category, from a survey response.
    pub nps_score: Option<i32>,
    pub nps_category: Option<String>,
    pub nps_at: Option<DateTimeUtc>,
    /// The latest CSAT score (1–5).
    pub latest_csat: Option<i32>,
    pub csat_at: Option<DateTimeUtc>,
    /// When a promoter answer made the customer a referral candidate.
    pub referral_candidate_at: Option<DateTimeUtc>,
    /// The latest health recompute's score (0–100) and level.
    pub health_score: Option<f64>,
    pub health_level: Option<String>,
    /// The latest churn's reason and time (kept after a win-back).
    pub churn_reason: Option<String>,
    pub churned_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
