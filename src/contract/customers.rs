//! Customer input and view types.

use super::Patch;
use async_graphql::{InputObject, Json, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contacts::ContactView;
use super::interactions::{Channel, InteractionView};
use super::orders::OrderSummary;
use super::value_enum;

value_enum!(
    /// Whether a customer is a person or a company.
    CustomerKind { Person => "person", Company => "company" }
);
value_enum!(
    /// Where a customer is in its relationship with us.
    LifecycleStage {
        Prospect => "prospect",
        Onboarding => "onboarding",
        Active => "active",
        AtRisk => "at_risk",
        Churned => "churned",
        WonBack => "won_back",
    }
);
value_enum!(
    /// Why a customer churned: `service`, `competitor`, `price_budget`, `other`.
    ChurnReason {
        Service => "service",
        Competitor => "competitor",
        PriceBudget => "price_budget",
        Other => "other",
    }
);
value_enum!(
    /// Value tier: key (top 20%), important (next 30%), general (the rest).
    ValueTier { Key => "key", Important => "important", General => "general" }
);

/// A new customer. Only `name` is required.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewCustomerInput")]
pub struct NewCustomer {
    /// Your system's id for this customer; unique.
    pub external_id: Option<String>,
    #[serde(default)]
    #[graphql(default)]
    pub kind: Option<CustomerKind>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub city: Option<String>,
    /// Acquisition source, e.g. `referral`.
    pub source: Option<String>,
    /// Staff member who owns the relationship (defaults to an agent creating it).
    pub owner_id: Option<String>,
    pub value_tier: Option<ValueTier>,
    /// Pins `value_tier` against automatic recomputation.
    pub tier_locked: Option<bool>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Why the customer churned: only with `lifecycle_stage` `churned`
    /// (`other` when left out).
    pub churn_reason: Option<ChurnReason>,
    pub tags: Option<Vec<String>>,
    pub preferred_channel: Option<Channel>,
    /// BCP 47 tag, e.g. `en` or `zh-CN`.
    pub preferred_language: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub relationship_start: Option<NaiveDate>,
    /// IANA time zone, e.g. `Pacific/Auckland`: care moments fall on the
    /// customer's local date (the business calendar's zone when unset).
    pub time_zone: Option<String>,
    /// Days between contacts (1–365), overriding the tier's cadence.
    #[schema(minimum = 1, maximum = 365)]
    pub cadence_days: Option<i32>,
    pub marketing_consent: Option<bool>,
    /// A JSON object of at most 8 KB, its numbers within ±1e300.
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<Json<Value>>,
    pub notes: Option<String>,
    /// Another customer's loyalty referral code (letters and digits, up to
    /// 32): links the two, and the new customer's first completed order
    /// rewards both (once). An unknown code, one's own (same e-mail) or a
    /// deleted customer's is a 422.
    pub referral_code: Option<String>,
}

/// A partial update: absent fields are kept, `null` clears a field.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CustomerPatchInput")]
pub struct CustomerPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = CustomerKind)]
    pub kind: Patch<CustomerKind>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub company: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub industry: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub size_band: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub country: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub source: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub owner_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = ValueTier)]
    pub value_tier: Patch<ValueTier>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub tier_locked: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = LifecycleStage)]
    pub lifecycle_stage: Patch<LifecycleStage>,
    /// Why the customer churned: only while (or when) `lifecycle_stage` is
    /// `churned` (`null` clears it otherwise); `other` when the stage moves
    /// to churned without one.
    #[serde(default)]
    #[schema(value_type = Option<ChurnReason>)]
    pub churn_reason: Patch<ChurnReason>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Channel>)]
    pub preferred_channel: Patch<Channel>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub preferred_language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub birthday: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub relationship_start: Patch<NaiveDate>,
    /// IANA time zone, e.g. `Pacific/Auckland`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub time_zone: Patch<String>,
    /// Days between contacts (1–365), overriding the tier's cadence.
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 365)]
    pub cadence_days: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub marketing_consent: Patch<bool>,
    /// A JSON object of at most 8 KB, its numbers within ±1e300.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Patch<Json<Value>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

/// What a customer may change about itself through `/me`.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "MyProfilePatchInput")]
pub struct MyProfilePatch {
    #[serde(default)]
    #[schema(value_type = String)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Channel>)]
    pub preferred_channel: Patch<Channel>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub preferred_language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub birthday: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub marketing_consent: Patch<bool>,
}

impl From<MyProfilePatch> for CustomerPatch {
    fn from(p: MyProfilePatch) -> Self {
        Self {
            name: p.name,
            email: p.email,
            phone: p.phone,
            preferred_channel: p.preferred_channel,
            preferred_language: p.preferred_language,
            birthday: p.birthday,
            marketing_consent: p.marketing_consent,
            ..Self::default()
        }
    }
}

/// A customer as the API shows it. For analysts, `name`, `email`, `phone`
/// and `birthday` are masked.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Customer", complex)]
pub struct CustomerView {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub kind: CustomerKind,
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
    pub value_tier: ValueTier,
    pub tier_locked: bool,
    pub lifecycle_stage: LifecycleStage,
    /// The latest churn's reason and time (kept after a win-back).
    pub churn_reason: Option<ChurnReason>,
    pub churned_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub preferred_channel: Option<Channel>,
    pub preferred_language: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub relationship_start: Option<NaiveDate>,
    /// IANA time zone; care moments fall on the customer's local date.
    pub time_zone: Option<String>,
    /// Days between contacts overriding the tier's cadence.
    pub cadence_days: Option<i32>,
    pub marketing_consent: bool,
    pub marketing_consent_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub custom_attributes: Json<Value>,
    pub notes: Option<String>,
    pub last_contacted_at: Option<DateTime<Utc>>,
    /// The latest NPS answer (0–10) and its category (`promoter`,
    /// `passive`, `detractor`), from surveys.
    pub nps_score: Option<i32>,
    pub nps_category: Option<String>,
    /// The latest CSAT answer (1–5).
    pub latest_csat: Option<i32>,
    /// When a promoter answer made the customer a referral candidate.
    pub referral_candidate_at: Option<DateTime<Utc>>,
    /// The health score (0–100) and level as of the last recompute
    /// (`GET /customers/{id}/health` computes it now, with why).
    pub health_score: Option<f64>,
    pub health_level: Option<super::health::HealthLevel>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A move of a customer's lifecycle stage.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct StageChangeView {
    pub from_stage: LifecycleStage,
    pub to_stage: LifecycleStage,
    /// The churn reason, for a churn and for the win-back that ends one.
    pub reason: Option<ChurnReason>,
    pub changed_at: DateTime<Utc>,
}

/// What a customer sees of itself at `/me`.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "MyProfile")]
pub struct MyProfileView {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub preferred_language: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub marketing_consent: bool,
    pub value_tier: ValueTier,
    pub created_at: DateTime<Utc>,
}

impl From<CustomerView> for MyProfileView {
    fn from(c: CustomerView) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            preferred_channel: c.preferred_channel,
            preferred_language: c.preferred_language,
            birthday: c.birthday,
            marketing_consent: c.marketing_consent,
            value_tier: c.value_tier,
            created_at: c.created_at,
        }
    }
}

value_enum!(
    /// Sort order of the customer list; `_desc` variants are newest/last first.
    CustomerSort {
        CreatedAtDesc => "created_at_desc",
        CreatedAtAsc => "created_at_asc",
        UpdatedAtDesc => "updated_at_desc",
        UpdatedAtAsc => "updated_at_asc",
        NameAsc => "name_asc",
        NameDesc => "name_desc",
    }
);

/// Filters for the customer list (all optional, combined with AND).
#[derive(Clone, Debug, Default, InputObject)]
#[graphql(name = "CustomerFilter")]
pub struct CustomerFilter {
    pub value_tier: Option<ValueTier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Customers carrying this tag.
    pub tag: Option<String>,
    pub owner_id: Option<String>,
    /// Case-insensitive text search on name, email and company.
    pub q: Option<String>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this instant.
    pub created_to: Option<DateTime<Utc>>,
    /// Members of this segment (as of its last refresh).
    pub segment_id: Option<Uuid>,
}

/// Query string of `GET /customers`: the filters plus sort and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    pub value_tier: Option<ValueTier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Customers carrying this tag.
    pub tag: Option<String>,
    pub owner_id: Option<String>,
    /// Case-insensitive text search on name, email and company (analysts: company only).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Created at or after this instant (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this instant (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Members of this segment (as of its last refresh).
    pub segment_id: Option<Uuid>,
    pub sort: Option<CustomerSort>,
}

impl CustomerListQuery {
    /// Splits the query into its filter and its sort.
    pub fn into_parts(self) -> (CustomerFilter, Option<CustomerSort>) {
        let filter = CustomerFilter {
            value_tier: self.value_tier,
            lifecycle_stage: self.lifecycle_stage,
            tag: self.tag,
            owner_id: self.owner_id,
            q: self.q,
            created_from: self.created_from,
            created_to: self.created_to,
            segment_id: self.segment_id,
        };
        (filter, self.sort)
    }
}

/// The customer 360: profile plus what hangs on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOverview {
    pub customer: CustomerView,
    pub contacts: Vec<ContactView>,
    pub recent_interactions: Vec<InteractionView>,
    pub orders: OrderSummary,
    /// RFM scores and lifetime value as of the last recompute (absent without completed orders).
    pub rfm: Option<super::segments::RfmView>,
    /// Feedback not yet closed, newest first (at most 20).
    pub open_feedback: Vec<super::feedback::FeedbackView>,
    /// Loyalty balance, debt and tier (absent before points first move).
    pub loyalty: Option<super::loyalty::LoyaltyGlance>,
    /// Early-warning alerts still open, newest first (at most 20); the
    /// health score and level are on `customer`.
    pub open_alerts: Vec<super::health::AlertView>,
    /// Tasks still open, soonest due first (at most 20).
    pub open_tasks: Vec<super::tasks::TaskView>,
    /// Open needs per quadrant (empty for agents on customers they do not own).
    pub open_needs: Vec<super::needs::QuadrantCount>,
}
