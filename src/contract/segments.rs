//! RFM, value tiers, lifetime value and segment types.

use super::Patch;
use async_graphql::{InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;

/// Analytics settings (admin/manager). Lifetime value =
/// historical spend + average order value × orders per year × expected
/// remaining years, which over the RFM window is
/// `monetary × 365 / rfm_window_days × expected_lifetime_months / 12`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "AnalyticsSettingsInput")]
pub struct AnalyticsSettings {
    /// Days of orders counted for frequency and monetary (default 365).
    #[schema(minimum = 7, maximum = 3650)]
    pub rfm_window_days: u32,
    /// Share of customers with orders, by spend in the window, that are `key` (default 20).
    #[schema(minimum = 1, maximum = 100)]
    pub key_tier_percent: u8,
    /// Share after the key tier that is `important` (default 30); key and
    /// important together at most 100.
    #[schema(maximum = 99)]
    pub important_tier_percent: u8,
    /// Expected remaining relationship, for the lifetime-value projection (default 36).
    #[schema(minimum = 1, maximum = 600)]
    pub expected_lifetime_months: u32,
    /// Only orders in this currency count for RFM and value; null counts all
    /// orders' minor units together (fine for single-currency businesses).
    pub currency: Option<String>,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        Self {
            rfm_window_days: 365,
            key_tier_percent: 20,
            important_tier_percent: 30,
            expected_lifetime_months: 36,
            currency: None,
        }
    }
}

/// A customer's RFM scores and value, as of the last recompute.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Rfm")]
pub struct RfmView {
    /// Days since the last completed order.
    pub recency_days: i64,
    /// Completed orders in the window.
    pub frequency: i64,
    /// Spend in the window, minor units.
    #[schema(value_type = i64)]
    pub monetary: super::MinorUnits,
    pub r_score: i16,
    pub f_score: i16,
    pub m_score: i16,
    /// One of champions, loyal, potential_loyalist, new, promising,
    /// need_attention, about_to_sleep, at_risk, cannot_lose, hibernating, lost.
    pub label: String,
    /// Spend over all time, minor units.
    #[schema(value_type = i64)]
    pub historical_spend: super::MinorUnits,
    /// Historical spend plus the projection, minor units.
    #[schema(value_type = i64)]
    pub lifetime_value: super::MinorUnits,
    /// The tier the last recompute gave (a locked tier on the customer wins).
    pub computed_tier: String,
    pub computed_at: DateTime<Utc>,
}

/// Options of one recompute.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "RfmRecomputeInput")]
pub struct RfmRecompute {
    /// Overrides the configured window for this run (7–3650 days).
    #[schema(minimum = 7, maximum = 3650)]
    pub window_days: Option<u32>,
}

/// What a recompute did.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct RfmRecomputeResult {
    pub customers_scored: i64,
    pub tier_changes: i64,
    pub window_days: u32,
    pub computed_at: DateTime<Utc>,
    pub elapsed_ms: u64,
}

/// Customers and spend under one label.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct RfmLabelCount {
    pub label: String,
    pub customers: i64,
    #[schema(value_type = i64)]
    pub monetary: super::MinorUnits,
}

/// Customers and spend in one (R, F, M) cell.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct RfmCell {
    pub r: i16,
    pub f: i16,
    pub m: i16,
    pub customers: i64,
    #[schema(value_type = i64)]
    pub monetary: super::MinorUnits,
}

/// The RFM distribution of the last recompute.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct RfmDistribution {
    pub computed_at: Option<DateTime<Utc>>,
    pub customers: i64,
    pub labels: Vec<RfmLabelCount>,
    pub cells: Vec<RfmCell>,
}

value_enum!(
    /// Dynamic segments follow a rule; static ones hold hand-picked members.
    SegmentKind { Dynamic => "dynamic", Static => "static" }
);

/// The rule language in the OpenAPI document: `{"all": [...]}`,
/// `{"any": [...]}`, `{"not": {...}}` or a condition. Its JSON schema is
/// generated from the table of rule fields (`service::segment_fields`), so a
/// new field documents itself.
pub struct SegmentRuleDoc;

/// A new segment.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewSegmentInput")]
pub struct NewSegment {
    pub name: String,
    pub description: Option<String>,
    pub kind: SegmentKind,
    /// Required for dynamic segments, absent for static ones.
    #[schema(value_type = Option<SegmentRuleDoc>)]
    pub rule: Option<Json<Value>>,
}

/// A partial update of a segment.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "SegmentPatchInput")]
pub struct SegmentPatch {
    #[serde(default)]
    #[schema(value_type = String)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = SegmentRuleDoc)]
    pub rule: Patch<Json<Value>>,
}

/// A segment.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Segment", complex)]
pub struct SegmentView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub kind: SegmentKind,
    #[schema(value_type = Option<SegmentRuleDoc>)]
    pub rule: Option<Json<Value>>,
    /// Members at the last refresh (static: current members).
    pub member_count: i64,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule to try without saving.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = SegmentRuleDoc)]
    pub rule: Value,
}

/// How many customers a rule matches, and the first 20 of them.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SegmentPreview")]
pub struct SegmentPreview {
    pub count: i64,
    pub sample: Vec<super::customers::CustomerView>,
}

/// What a refresh did.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct SegmentRefresh {
    pub segment_id: Uuid,
    pub member_count: i64,
    pub entered: i64,
    pub exited: i64,
    pub refreshed_at: DateTime<Utc>,
}

/// Customers to add to or remove from a static segment, by id or external id.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "SegmentMembersInput")]
pub struct MemberChange {
    #[serde(default)]
    #[graphql(default)]
    pub customer_ids: Vec<Uuid>,
    #[serde(default)]
    #[graphql(default)]
    pub external_ids: Vec<String>,
}

/// Query string of `GET /segments`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SegmentListQuery {
    pub kind: Option<SegmentKind>,
}
