//! A customer's data, exported whole; an erasure's record.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::contacts::ContactView;
use super::customers::CustomerView;
use super::events::EventView;
use super::feedback::{FeedbackEventView, FeedbackView};
use super::interactions::InteractionView;
use super::orders::OrderView;
use super::segments::RfmView;
use super::tasks::TaskView;

/// A segment the customer is in.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub segment_id: Uuid,
    pub segment_name: String,
    pub entered_at: DateTime<Utc>,
}

/// A change of the customer's value tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierChangeView {
    pub from_tier: String,
    pub to_tier: String,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
}

/// Everything held about one customer (a data subject's access request).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExport {
    pub customer: CustomerView,
    pub contacts: Vec<ContactView>,
    pub interactions: Vec<InteractionView>,
    pub orders: Vec<OrderView>,
    pub feedback: Vec<FeedbackView>,
    /// Every feedback item's history: states, assignments, comments, SLA marks.
    pub feedback_history: Vec<FeedbackEventView>,
    pub tasks: Vec<TaskView>,
    pub segments: Vec<MembershipView>,
    pub rfm: Option<RfmView>,
    pub tier_changes: Vec<TierChangeView>,
    /// Survey invitations and the responses to them.
    pub survey_invitations: Vec<super::surveys::InvitationView>,
    pub survey_responses: Vec<super::surveys::ResponseView>,
    /// The loyalty account (absent until points first move) and its whole
    /// ledger, oldest first, each entry with the lots it moved.
    pub loyalty_account: Option<super::loyalty::AccountView>,
    pub loyalty_entries: Vec<super::loyalty::EntryView>,
    /// The account's moves between tiers, newest first.
    pub loyalty_tier_changes: Vec<super::loyalty::LoyaltyTierChange>,
    /// Staff's manual health factor, while it exists.
    pub health_override: Option<super::health::OverrideView>,
    /// Every stored health score, oldest first.
    pub health_history: Vec<super::health::HealthPoint>,
    /// Every early-warning alert, open ones first.
    pub health_alerts: Vec<super::health::AlertView>,
    /// Every need in the needs register, oldest first.
    pub needs: Vec<super::needs::NeedView>,
    /// Every change of those needs, oldest first.
    pub need_history: Vec<super::needs::NeedEventView>,
    /// Every failed payment reported, oldest first.
    pub payment_failures: Vec<super::payments::PaymentFailureView>,
    /// Every move of the lifecycle stage, oldest first.
    pub stage_changes: Vec<super::customers::StageChangeView>,
    /// The events about this customer still in the log.
    pub events: Vec<EventView>,
    /// When it was erased, if it was.
    pub erased_at: Option<DateTime<Utc>>,
    pub exported_at: DateTime<Utc>,
}

/// An erasure.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    pub customer_id: Uuid,
    pub erased_at: DateTime<Utc>,
    pub erased_by: String,
}
