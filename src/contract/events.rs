//! Events: what changed, as the pull feed and webhooks carry it. Payloads are
//! thin — ids, states, amounts and the names of changed fields, never a
//! person's name, e-mail, phone or free text — so every role that may read
//! events (partners included) gets them whole, and an integration fetches
//! the record when it needs more.

use async_graphql::{Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Declares the event types: variant, wire name, and the key the subject's id
/// goes under in `data`.
macro_rules! event_types {
    ($($variant:ident => $wire:literal, $subject:literal;)+) => {
        /// The type of an event (`<area>.<what happened>`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
        pub enum EventType {
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl EventType {
            /// Every type, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire name, e.g. `customer.created`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// The field of `data` that carries the subject's id.
            pub const fn subject_key(self) -> &'static str {
                match self { $(Self::$variant => $subject),+ }
            }
        }
    };
}

event_types! {
    CustomerCreated => "customer.created", "customer_id";
    CustomerUpdated => "customer.updated", "customer_id";
    CustomerDeleted => "customer.deleted", "customer_id";
    CustomerErased => "customer.erased", "customer_id";
    CustomerTierChanged => "customer.tier_changed", "customer_id";
    OrderCompleted => "order.completed", "order_id";
    OrderRefunded => "order.refunded", "order_id";
    SegmentEntered => "segment.entered", "segment_id";
    SegmentExited => "segment.exited", "segment_id";
    FeedbackCreated => "feedback.created", "feedback_id";
    FeedbackUpdated => "feedback.updated", "feedback_id";
    FeedbackStateChanged => "feedback.state_changed", "feedback_id";
    FeedbackSlaWarning => "feedback.sla_warning", "feedback_id";
    FeedbackSlaBreached => "feedback.sla_breached", "feedback_id";
    FeedbackSuggestionAdopted => "feedback.suggestion_adopted", "feedback_id";
    TaskCreated => "task.created", "task_id";
    TaskCompleted => "task.completed", "task_id";
    WebhookEndpointDisabled => "webhook.endpoint_disabled", "webhook_id";
    SurveyInvitationSent => "survey.invitation_sent", "invitation_id";
    SurveyResponseReceived => "survey.response_received", "response_id";
    HealthRiskChanged => "health.risk_changed", "alert_id";
    NpsDetractor => "nps.detractor", "response_id";
    LoyaltyPointsChanged => "loyalty.points_changed", "entry_id";
    LoyaltyTierChanged => "loyalty.tier_changed", "customer_id";
    LoyaltyPointsExpiring => "loyalty.points_expiring", "lot_id";
    NeedCreated => "need.created", "need_id";
    NeedStatusChanged => "need.status_changed", "need_id";
    NeedUnmet => "need.unmet", "need_id";
    PaymentFailed => "payment.failed", "payment_failure_id";
    PaymentRecovered => "payment.recovered", "payment_failure_id";
}

/// The wire names, as OpenAPI's enum (the derive would use variant names).
impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The type of an event (`<area>.<what happened>`)."))
            .enum_values(Some(Self::ALL.iter().map(|t| t.as_str())))
            .into()
    }
}

impl ToSchema for EventType {}

impl EventType {
    /// Reads a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == name)
    }
}

/// One event: the body a webhook delivers, and an item of the feed.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Event")]
pub struct EventView {
    /// UUID v7; the same in the feed and in every delivery (`webhook-id`), so
    /// a consumer de-duplicates by it.
    pub id: Uuid,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: EventType,
    /// When the change happened.
    pub timestamp: DateTime<Utc>,
    /// The subject's id (under `customer_id`, `order_id`, …), the customer's
    /// id where there is one, and what changed.
    #[schema(value_type = Object)]
    pub data: Json<serde_json::Value>,
}

/// A feed item: the event and the position after it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedItem {
    #[serde(flatten)]
    pub event: EventView,
    /// Pass as `after` to read on from this event.
    pub cursor: String,
}

/// A page of the event feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeed {
    pub items: Vec<FeedItem>,
    /// Where to continue: the last item's cursor, or the `after` given when
    /// nothing new has committed yet. Always present, so a consumer polls
    /// with it.
    pub next_cursor: Option<String>,
    /// More events are ready now; ask again at once.
    pub has_more: bool,
}

/// The feed's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// A `cursor` (or `next_cursor`) from an earlier read; absent reads from
    /// the oldest event kept.
    pub after: Option<String>,
    /// Comma-separated event types, e.g. `customer.created,order.completed`;
    /// absent means all.
    pub types: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
}
