//! Webhook subscriptions, their deliveries and the delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::events::EventType;
use super::{Patch, value_enum};

value_enum!(
    /// Where a delivery stands.
    DeliveryStatus { Pending => "pending", Succeeded => "succeeded", Failed => "failed" }
);

value_enum!(
    /// Where a replay stands.
    ReplayState { Queued => "queued", Done => "done" }
);

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http` or `https`, at most 2048 characters; private addresses are
    /// refused (when sending, too) unless the allow-list names them.
    pub url: String,
    /// The types to send; absent or empty means every type.
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Changes to a subscription. Turning it back on clears what disabled it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    pub active: Option<bool>,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every type.
    pub event_types: Vec<EventType>,
    pub active: bool,
    /// Why the system turned it off (`410 Gone`, failing too long).
    pub disabled_reason: Option<String>,
    /// Start of the current unbroken run of failed attempts.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// The signing secret: only in the answers to creation and rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One event (or test) for one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The `webhook-id` header of every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// One POST tried: the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub id: i64,
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The endpoint's status; absent when no answer came.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// At most 1 kB of the answer, sanitised.
    pub response_body: Option<String>,
    /// Why no answer counted: a refused address, a timeout, a connection error.
    pub error: Option<String>,
}

/// The filter of a subscription's deliveries.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
}

/// Deliveries to send again: those made in `[since, until)`, of one status
/// (default `failed`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub status: Option<DeliveryStatus>,
}

/// A replay and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub state: ReplayState,
    /// Deliveries queued again.
    pub requeued: i64,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
