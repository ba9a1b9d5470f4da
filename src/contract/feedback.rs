//! Feedback items, their SLA clocks and history, and the feedback report.

use super::Patch;
use super::value_enum;
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

value_enum!(
    /// Where feedback came in.
    FeedbackChannel {
        App => "app",
        Web => "web",
        Email => "email",
        Phone => "phone",
        Social => "social",
        InStore => "in_store",
        Survey => "survey",
    }
);
value_enum!(
    /// What the customer is telling us.
    FeedbackKind {
        Complaint => "complaint",
        Suggestion => "suggestion",
        Praise => "praise",
        Question => "question",
        Incident => "incident",
    }
);
value_enum!(
    /// How fast it must be handled; decides the SLA policy.
    Severity { Urgent => "urgent", Important => "important", General => "general" }
);
value_enum!(
    /// Where an item is in its loop. `waiting_customer` pauses the resolution clock.
    FeedbackStatus {
        New => "new",
        Acknowledged => "acknowledged",
        InProgress => "in_progress",
        WaitingCustomer => "waiting_customer",
        Resolved => "resolved",
        Closed => "closed",
    }
);
value_enum!(
    /// Why it happened, recorded on close.
    RootCause {
        Product => "product",
        Service => "service",
        Delivery => "delivery",
        Billing => "billing",
        Communication => "communication",
        Policy => "policy",
        CustomerEducation => "customer_education",
        NoFault => "no_fault",
        Other => "other",
    }
);
value_enum!(
    /// A dimension of the feedback report.
    FeedbackGroupBy { Kind => "kind", Severity => "severity", Channel => "channel" }
);

/// New feedback. Staff name the customer; a customer token files for itself.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewFeedbackInput")]
pub struct NewFeedback {
    /// Required for staff; must be absent (or the caller's own id) for a customer.
    pub customer_id: Option<Uuid>,
    pub channel: FeedbackChannel,
    pub kind: FeedbackKind,
    /// One line, at most 200 characters.
    pub subject: String,
    /// At most 10,000 characters.
    pub body: String,
    /// The customer's own rating, 1–5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i32>,
    /// Given by staff; left out, the classification rules decide.
    pub severity: Option<Severity>,
    /// Staff member to work it (staff only).
    pub assignee_id: Option<String>,
}

/// Severity and assignment changes.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "FeedbackPatchInput")]
pub struct FeedbackPatch {
    /// A new severity moves the SLA targets to that severity's policy.
    pub severity: Option<Severity>,
    /// Assigns (or, with null, unassigns) the item.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Patch<String>,
}

/// A state change. Closing needs `root_cause` and `review_note`.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "FeedbackTransitionInput")]
pub struct Transition {
    pub to: FeedbackStatus,
    pub note: Option<String>,
    pub root_cause: Option<RootCause>,
    pub review_note: Option<String>,
}

/// A comment on an item.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewCommentInput")]
pub struct NewComment {
    pub body: String,
}

/// One SLA clock of an item.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct SlaClock {
    /// The target, in minutes of `business` or wall-clock time.
    pub target_minutes: i64,
    /// Whether only business hours count.
    pub business: bool,
    /// When the target is reached (moves when the clock pauses).
    pub due_at: DateTime<Utc>,
    /// When 80% of the target is used.
    pub warn_at: DateTime<Utc>,
    /// When it was met (acknowledged / resolved).
    pub met_at: Option<DateTime<Utc>>,
    pub warned_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    /// The clock is stopped (waiting on the customer, or met).
    pub paused: bool,
}

/// A feedback item.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Feedback", complex)]
pub struct FeedbackView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub channel: FeedbackChannel,
    pub kind: FeedbackKind,
    pub subject: String,
    pub body: String,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i32>,
    pub severity: Severity,
    /// Which rule set the severity: `explicit`, `keyword:<word>`,
    /// `tier:key`, `kind:<kind>`.
    pub severity_rule: String,
    /// −1 (negative) to 1 (positive).
    pub sentiment: f64,
    pub keywords: Vec<String>,
    pub status: FeedbackStatus,
    pub assignee_id: Option<String>,
    pub created_by: String,
    /// Time to acknowledge.
    pub first_response: SlaClock,
    /// Time to resolve; paused while waiting on the customer.
    pub resolution: SlaClock,
    pub root_cause: Option<RootCause>,
    pub review_note: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When a suggestion was adopted (see `POST /feedback/{id}/adopt`).
    pub adopted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a customer sees of its own feedback.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "MyFeedback")]
pub struct MyFeedbackView {
    pub id: Uuid,
    pub channel: FeedbackChannel,
    pub kind: FeedbackKind,
    pub subject: String,
    pub body: String,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i32>,
    pub status: FeedbackStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<FeedbackView> for MyFeedbackView {
    fn from(f: FeedbackView) -> Self {
        Self {
            id: f.id,
            channel: f.channel,
            kind: f.kind,
            subject: f.subject,
            body: f.body,
            rating: f.rating,
            status: f.status,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// One entry of an item's history.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "FeedbackEvent")]
pub struct FeedbackEventView {
    pub id: Uuid,
    pub feedback_id: Uuid,
    /// created, status_changed, assigned, severity_changed, comment,
    /// sla_warning, sla_breach, closed.
    pub kind: String,
    /// The staff member or customer who did it, or `system`.
    pub actor: String,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Filters of the feedback list (combined with AND).
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "FeedbackFilter")]
pub struct FeedbackFilter {
    pub status: Option<FeedbackStatus>,
    pub kind: Option<FeedbackKind>,
    pub severity: Option<Severity>,
    pub channel: Option<FeedbackChannel>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<Uuid>,
    /// Only items with (true) or without (false) a breached SLA clock.
    pub breached: Option<bool>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this instant.
    pub created_to: Option<DateTime<Utc>>,
}

/// Query string of `GET /analytics/feedback`.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "FeedbackReportInput")]
pub struct FeedbackReportQuery {
    /// Items created at or after (default: 30 days ago).
    pub from: Option<DateTime<Utc>>,
    /// Items created before (default: now).
    pub to: Option<DateTime<Utc>>,
    /// Splits timings and attainment by this dimension too.
    pub group_by: Option<FeedbackGroupBy>,
}

/// Items per value of a dimension.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct VolumeCount {
    pub value: String,
    pub items: i64,
}

/// Durations of one SLA clock over the items that met or missed it, in minutes.
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct Timing {
    /// Items whose clock stopped (acknowledged / resolved).
    pub items: i64,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
    /// Share of the items whose clock stopped that did so within target, in %.
    pub attainment_percent: Option<f64>,
}

/// Timings of one group (or of all items).
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct TimingGroup {
    /// The group's value, or `all`.
    pub value: String,
    pub items: i64,
    pub first_response: Timing,
    pub resolution: Timing,
}

/// A keyword and how many items carry it.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct KeywordCount {
    pub keyword: String,
    pub items: i64,
}

/// Average sentiment of the items created in one week (weeks start on Monday, UTC).
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct SentimentWeek {
    pub week_start: NaiveDate,
    pub items: i64,
    pub average_sentiment: f64,
}

/// The feedback report.
#[derive(Debug, Serialize, ToSchema, SimpleObject)]
pub struct FeedbackReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: i64,
    pub by_kind: Vec<VolumeCount>,
    pub by_severity: Vec<VolumeCount>,
    pub by_channel: Vec<VolumeCount>,
    /// First `all`, then one per value of `group_by`.
    pub timings: Vec<TimingGroup>,
    pub top_keywords: Vec<KeywordCount>,
    pub sentiment_by_week: Vec<SentimentWeek>,
}

/// What one sweep did.
#[derive(Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct SweepReport {
    pub warnings: u64,
    pub breaches: u64,
    pub escalations: u64,
}
