//! Health: the factors a score is made of and the levels it falls into.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::value_enum;

value_enum!(
    /// What a health score is made of: `order_recency` (days since the last
    /// order against the customer's own rhythm), `frequency_trend` (orders in
    /// the last 90 days against the 90 before), `satisfaction` (the latest
    /// NPS or CSAT answer on a 100 scale), `complaints` (open complaints and
    /// SLA breaches in the last 90 days), `contact_cadence` (days since the
    /// last contact against the tier's cadence), `loyalty_activity` (points
    /// earned or spent lately), `primary_contact` (whether the primary contact
    /// is still there) and `manual` (a staff override until it expires).
    HealthFactor {
        OrderRecency => "order_recency",
        FrequencyTrend => "frequency_trend",
        Satisfaction => "satisfaction",
        Complaints => "complaints",
        ContactCadence => "contact_cadence",
        LoyaltyActivity => "loyalty_activity",
        PrimaryContact => "primary_contact",
        Manual => "manual",
    }
);

value_enum!(
    /// Where a score falls: `healthy` (score >= 70), `watch` (>= 50),
    /// `at_risk` (>= 30), `critical` (below 30) with the default cut-offs; and
    /// `insufficient_data` when too few factors have data to judge.
    HealthLevel {
        InsufficientData => "insufficient_data",
        Healthy => "healthy",
        Watch => "watch",
        AtRisk => "at_risk",
        Critical => "critical",
    }
);

/// One factor of a score: why the score is what it is.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "HealthFactorPart")]
pub struct FactorView {
    pub factor: HealthFactor,
    /// 0–100; `null` without data.
    pub value: Option<f64>,
    /// The configured weight (re-normalised over the factors with data).
    pub weight: f64,
    /// Points of the score this factor gives; the contributions add up to the score.
    pub contribution: Option<f64>,
    /// `no_data` when the factor has none.
    pub reason: Option<String>,
}

/// A computed score at an instant.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthPoint {
    pub computed_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub level: HealthLevel,
}

/// One factor's value at an instant.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct FactorPoint {
    pub computed_at: DateTime<Utc>,
    pub value: Option<f64>,
}

/// One factor's values over the stored recomputes, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct FactorHistory {
    pub factor: HealthFactor,
    pub points: Vec<FactorPoint>,
}

/// Staff's manual factor, counted until it expires.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "HealthOverride")]
pub struct OverrideView {
    /// 0–100.
    pub value: i32,
    /// E-mail addresses and phone numbers in it are masked for analysts.
    pub reason: String,
    pub author: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A manual factor to set.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "HealthOverrideInput")]
pub struct OverrideInput {
    /// 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub value: i32,
    /// Why (required), up to 10,000 characters.
    pub reason: String,
    /// When it stops counting: in the future, within a year.
    pub expires_at: DateTime<Utc>,
}

/// A customer's health now, with why, and its history.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "CustomerHealth")]
pub struct HealthView {
    pub customer_id: Uuid,
    /// 0–100; `null` when no factor has data.
    pub score: Option<f64>,
    pub level: HealthLevel,
    /// The share (0–1) of the factors' weight (the manual factor aside) that has data.
    pub coverage: f64,
    /// When this score was computed (now: it is computed on read).
    pub computed_at: DateTime<Utc>,
    pub factors: Vec<FactorView>,
    /// The manual factor, while it counts.
    #[serde(rename = "override")]
    #[graphql(name = "override")]
    pub manual: Option<OverrideView>,
    /// The last 12 stored recomputes, oldest first.
    pub history: Vec<HealthPoint>,
    /// Each factor's values over those recomputes.
    pub factor_history: Vec<FactorHistory>,
}

/// What a recompute did.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthRecomputeResult {
    pub customers_scored: i64,
    pub computed_at: DateTime<Utc>,
    pub elapsed_ms: u64,
}
