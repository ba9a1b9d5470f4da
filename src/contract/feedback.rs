//! Feedback items, their SLA clocks and history, tasks, and the settings
//! behind them (SLA policies, business calendar, classification rules).

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;

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
    /// How an SLA target counts time.
    TargetUnit {
        Minutes => "minutes",
        Hours => "hours",
        Days => "days",
        BusinessHours => "business_hours",
        BusinessDays => "business_days",
    }
);
value_enum!(
    /// A day of the week.
    Weekday {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
);
value_enum!(
    /// What a task is for.
    TaskKind {
        FollowUp => "follow_up",
        Escalation => "escalation",
        Callback => "callback",
        Review => "review",
        Other => "other",
    }
);
value_enum!(
    /// Whether a task still needs doing.
    TaskStatus { Open => "open", Done => "done", Cancelled => "cancelled" }
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
    pub assignee_id: MaybeUndefined<String>,
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

/// An SLA target: an amount of some unit. Business units count only
/// working hours of the business calendar; a business day is the working
/// time of the calendar's first working weekday.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaTargetInput")]
pub struct SlaTarget {
    /// 1–100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    pub amount: u32,
    pub unit: TargetUnit,
}

/// The targets for one severity, optionally only for one kind (a policy with
/// a kind wins over the severity's general one).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaPolicyInput")]
pub struct SlaPolicy {
    pub severity: Severity,
    pub kind: Option<FeedbackKind>,
    /// Time to acknowledge.
    pub first_response: SlaTarget,
    /// Time to resolve (waiting on the customer does not count).
    pub resolution: SlaTarget,
}

/// Every SLA policy. Defaults: urgent — first response 1 hour, resolution
/// 24 hours; important — 2 hours, 24 hours; general — 3 business days,
/// 5 business days.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaPoliciesInput")]
pub struct SlaPolicies {
    /// One general policy per severity is required; kind-specific ones are optional.
    pub policies: Vec<SlaPolicy>,
}

impl Default for SlaPolicies {
    fn default() -> Self {
        let target = |amount, unit| SlaTarget { amount, unit };
        let policy = |severity, first, resolution| SlaPolicy {
            severity,
            kind: None,
            first_response: first,
            resolution,
        };
        Self {
            policies: vec![
                policy(
                    Severity::Urgent,
                    target(1, TargetUnit::Hours),
                    target(24, TargetUnit::Hours),
                ),
                policy(
                    Severity::Important,
                    target(2, TargetUnit::Hours),
                    target(24, TargetUnit::Hours),
                ),
                policy(
                    Severity::General,
                    target(3, TargetUnit::BusinessDays),
                    target(5, TargetUnit::BusinessDays),
                ),
            ],
        }
    }
}

/// A block of working hours, local time `HH:MM`, `start` before `end`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HoursBlockInput")]
pub struct HoursBlock {
    pub start: String,
    pub end: String,
}

/// The working hours of one weekday.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "WorkingDayInput")]
pub struct WorkingDay {
    pub day: Weekday,
    /// One or more blocks, e.g. 09:00–12:00 and 13:30–18:00.
    pub hours: Vec<HoursBlock>,
}

/// When business time runs. Default: Monday–Friday 09:00–17:00 UTC.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "BusinessCalendarInput")]
pub struct BusinessCalendarSettings {
    /// IANA zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// Working days; days not listed are off.
    pub week: Vec<WorkingDay>,
    /// Dates off (local dates).
    pub holidays: Vec<NaiveDate>,
}

impl Default for BusinessCalendarSettings {
    fn default() -> Self {
        let hours = || {
            vec![HoursBlock {
                start: "09:00".into(),
                end: "17:00".into(),
            }]
        };
        Self {
            time_zone: "UTC".into(),
            week: [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
                .into_iter()
                .map(|day| WorkingDay { day, hours: hours() })
                .collect(),
            holidays: Vec::new(),
        }
    }
}

/// The lowest severity feedback of a kind gets.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "KindFloorInput")]
pub struct KindFloor {
    pub kind: FeedbackKind,
    pub severity: Severity,
}

/// How severity is decided when none is given, strongest first: a word
/// from `urgent_keywords` makes it urgent, one from `important_keywords`
/// at least important; a key-tier customer's feedback of `key_tier_kinds`
/// is at least `key_tier_severity`; each kind has a floor. Keywords match
/// case-insensitively, English ones as whole words, Chinese ones anywhere.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "ClassificationSettingsInput")]
pub struct ClassificationSettings {
    pub urgent_keywords: Vec<String>,
    pub important_keywords: Vec<String>,
    pub key_tier_severity: Severity,
    pub key_tier_kinds: Vec<FeedbackKind>,
    pub kind_floors: Vec<KindFloor>,
}

impl Default for ClassificationSettings {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Self {
            urgent_keywords: words(&[
                "safety",
                "unsafe",
                "injury",
                "injured",
                "hurt",
                "fraud",
                "fraudulent",
                "scam",
                "data leak",
                "data breach",
                "leaked",
                "privacy breach",
                "fire",
                "poisoning",
                "安全",
                "受伤",
                "伤害",
                "欺诈",
                "诈骗",
                "盗刷",
                "数据泄露",
                "泄露",
                "起火",
                "中毒",
            ]),
            important_keywords: words(&[
                "refund",
                "cancel",
                "broken",
                "lawyer",
                "complaint",
                "退款",
                "投诉",
                "损坏",
                "律师",
            ]),
            key_tier_severity: Severity::Important,
            key_tier_kinds: vec![FeedbackKind::Complaint, FeedbackKind::Incident, FeedbackKind::Question],
            kind_floors: vec![
                KindFloor {
                    kind: FeedbackKind::Complaint,
                    severity: Severity::Important,
                },
                KindFloor {
                    kind: FeedbackKind::Incident,
                    severity: Severity::Important,
                },
            ],
        }
    }
}

/// A new task.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewTaskInput")]
pub struct NewTask {
    pub kind: TaskKind,
    pub customer_id: Uuid,
    /// The feedback item it is about.
    pub feedback_id: Option<Uuid>,
    pub title: String,
    /// Defaults to the caller.
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// Changes to a task. Finishing it (`done`) takes an outcome note.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "TaskPatchInput")]
pub struct TaskPatch {
    pub status: Option<TaskStatus>,
    pub outcome: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub assignee_id: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: MaybeUndefined<DateTime<Utc>>,
}

/// A task.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Task")]
pub struct TaskView {
    pub id: Uuid,
    pub kind: TaskKind,
    pub customer_id: Uuid,
    pub feedback_id: Option<Uuid>,
    pub title: String,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: TaskStatus,
    pub outcome: Option<String>,
    pub created_by: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the task list.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "TaskFilter")]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub kind: Option<TaskKind>,
    /// Agents always see only their own.
    pub assignee_id: Option<String>,
    pub customer_id: Option<Uuid>,
    pub feedback_id: Option<Uuid>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
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

/// A staff directory entry to save.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "StaffInput")]
pub struct StaffInput {
    pub name: String,
    pub email: Option<String>,
    /// The member's manager (a token subject): escalations go there.
    pub manager_id: Option<String>,
}

/// A staff directory entry.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "StaffMember")]
pub struct StaffView {
    /// The member's token subject.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub manager_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What one sweep did.
#[derive(Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct SweepReport {
    pub warnings: u64,
    pub breaches: u64,
    pub escalations: u64,
}
