//! The needs register: each customer's needs with urgency, importance and
//! the quadrant they make, a solution, an owner, the customer's
//! confirmation, and their history; the success plan built from them.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;
use super::{Patch, tasks::TaskView};

value_enum!(
    /// `core` (why the customer buys) or `secondary`.
    NeedKind { Core => "core", Secondary => "secondary" }
);
value_enum!(
    /// Urgency or importance of a need.
    NeedLevel { High => "high", Medium => "medium", Low => "low" }
);
value_enum!(
    /// Where urgency × importance puts a need: `do_now`, `plan`, `delegate`,
    /// `later` (the table is in the README).
    Quadrant { DoNow => "do_now", Plan => "plan", Delegate => "delegate", Later => "later" }
);
value_enum!(
    /// Where a need came from; `source_id` names the item where there is one
    /// (an interaction for `interview` and `meeting`, a survey response, a
    /// feedback item).
    NeedSource {
        Interview => "interview",
        SurveyResponse => "survey_response",
        Feedback => "feedback",
        Meeting => "meeting",
        Other => "other",
    }
);
value_enum!(
    /// `open → in_progress → proposed → confirmed → delivered`, or
    /// `declined` / `withdrawn` with a reason (moves in the README).
    NeedStatus {
        Open => "open",
        InProgress => "in_progress",
        Proposed => "proposed",
        Confirmed => "confirmed",
        Delivered => "delivered",
        Declined => "declined",
        Withdrawn => "withdrawn",
    }
);
value_enum!(
    /// What a link of a need points at.
    NeedLinkKind { Task => "task", Interaction => "interaction" }
);

/// A need to record.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewNeedInput")]
pub struct NewNeed {
    /// 1–200 characters, one line.
    pub title: String,
    /// Up to 2,000 characters.
    pub description: Option<String>,
    pub kind: NeedKind,
    pub urgency: NeedLevel,
    pub importance: NeedLevel,
    pub source: NeedSource,
    /// The item it came from, of this customer (none for `other`).
    pub source_id: Option<Uuid>,
    /// Stage or period the need belongs to, e.g. `onboarding` or `2027-Q1`.
    pub stage: Option<String>,
    /// Staff member who owns it; defaults to the caller.
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
}

/// Changes to a need's description fields (the status moves by transition).
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NeedPatchInput")]
pub struct NeedPatch {
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    pub kind: Option<NeedKind>,
    pub urgency: Option<NeedLevel>,
    pub importance: Option<NeedLevel>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub stage: Patch<String>,
    /// Reassigning is for admins and managers.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub owner_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_on: Patch<NaiveDate>,
}

/// A status move. `proposed` needs a `solution` (or one already given);
/// `confirmed` needs `confirmed_by_contact_id`, an active contact of the
/// customer; `declined` and `withdrawn` need a `reason`.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NeedTransitionInput")]
pub struct NeedTransition {
    pub to: NeedStatus,
    /// The proposed solution, 1–10,000 characters.
    pub solution: Option<String>,
    /// Why it was declined or withdrawn, 1–10,000 characters.
    pub reason: Option<String>,
    pub confirmed_by_contact_id: Option<Uuid>,
    /// When the customer confirmed; defaults to now, never in the future.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// A note for the history, 1–10,000 characters.
    pub note: Option<String>,
}

/// A link from a need to a task or an interaction of the same customer.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NeedLinkInput")]
pub struct NeedLinkInput {
    pub kind: NeedLinkKind,
    pub target_id: Uuid,
}

/// A follow-up task to spawn from a need (linked to it).
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NeedTaskInput")]
pub struct NeedTaskInput {
    pub title: String,
    /// Defaults to the need's owner, else the caller.
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// A link of a need.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedLink")]
pub struct NeedLinkView {
    pub kind: NeedLinkKind,
    pub target_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A need. Analysts see its free text masked.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Need")]
pub struct NeedView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub kind: NeedKind,
    pub urgency: NeedLevel,
    pub importance: NeedLevel,
    pub quadrant: Quadrant,
    pub source: NeedSource,
    pub source_id: Option<Uuid>,
    pub stage: Option<String>,
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: NeedStatus,
    pub solution: Option<String>,
    /// Why it was declined or withdrawn.
    pub reason: Option<String>,
    pub confirmed_by_contact_id: Option<Uuid>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Since when the need has been unmet (past its due date or its
    /// quadrant's limit), as the unmet job last found.
    pub unmet_since: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One change in a need's history.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedEvent")]
pub struct NeedEventView {
    pub id: Uuid,
    pub need_id: Uuid,
    /// `created`, `updated`, `status_changed`, `linked`, `unmet`.
    pub event: String,
    /// Who: a staff id, or `system:needs`.
    pub actor: String,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A need as its customer sees it once confirmed.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "MyNeed")]
pub struct MyNeedView {
    pub id: Uuid,
    pub title: String,
    pub status: NeedStatus,
    pub solution: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub due_on: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of a customer's needs and of `GET /needs`.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "NeedFilter")]
pub struct NeedFilter {
    pub status: Option<NeedStatus>,
    pub quadrant: Option<Quadrant>,
    pub kind: Option<NeedKind>,
    pub owner_id: Option<String>,
    /// `true`: still open (not delivered, declined or withdrawn); `false`: closed.
    pub open: Option<bool>,
    /// `true`: only needs the unmet job found unmet.
    pub unmet: Option<bool>,
}

/// One objective of a success plan: an open need with its tasks.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SuccessObjective")]
pub struct Objective {
    pub need: NeedView,
    /// The tasks linked to the need.
    pub tasks: Vec<TaskView>,
    pub tasks_done: i64,
    pub tasks_total: i64,
    /// Done ÷ all (0–1); `null` without tasks.
    pub progress: Option<f64>,
    /// The earliest of the need's due date and its open tasks' due dates.
    pub next_due_on: Option<NaiveDate>,
}

/// A customer's success plan: the open needs as objectives, most pressing
/// quadrant first, then soonest due.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SuccessPlan")]
pub struct SuccessPlan {
    pub customer_id: Uuid,
    pub objectives: Vec<Objective>,
    /// The earliest next due date of any objective.
    pub next_due_on: Option<NaiveDate>,
}

/// How long an open need of each quadrant may stay open before it is
/// unmet (days, 1–3650; `null`: no limit).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields, default)]
#[graphql(input_name = "NeedSettingsInput", name = "NeedSettings")]
pub struct NeedSettings {
    #[schema(minimum = 1, maximum = 3650)]
    pub do_now_days: Option<u32>,
    #[schema(minimum = 1, maximum = 3650)]
    pub plan_days: Option<u32>,
    #[schema(minimum = 1, maximum = 3650)]
    pub delegate_days: Option<u32>,
    #[schema(minimum = 1, maximum = 3650)]
    pub later_days: Option<u32>,
    /// Points a customer receives, once, when its suggestion is adopted
    /// (0–1,000,000; 0 credits nothing).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub suggestion_bonus_points: u32,
    /// Whether adopting a suggestion also records a need (source
    /// `feedback`, kind `secondary`, urgency low, importance medium).
    pub adoption_creates_need: bool,
}

impl Default for NeedSettings {
    fn default() -> Self {
        Self {
            do_now_days: Some(14),
            plan_days: Some(60),
            delegate_days: Some(30),
            later_days: None,
            suggestion_bonus_points: 100,
            adoption_creates_need: false,
        }
    }
}

/// What one run of the unmet job did.
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct NeedsUnmetResult {
    /// Needs newly found unmet (one `need.unmet` each).
    pub became_unmet: u64,
    /// Needs no longer unmet (met, closed, or given more time).
    pub cleared: u64,
}

/// Query of `GET /analytics/needs`.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "NeedReportQuery")]
pub struct NeedReportQuery {
    /// Months of deliveries to count, this one included (1–24, default 12).
    #[param(minimum = 1, maximum = 24)]
    pub months: Option<u32>,
}

/// Open and unmet needs in one group.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedGroupCount")]
pub struct NeedGroupCount {
    /// The quadrant, owner id or value tier (`null`: no owner).
    pub value: Option<String>,
    pub open: i64,
    pub unmet: i64,
}

/// Needs in one status.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedStatusCount")]
pub struct NeedStatusCount {
    pub status: NeedStatus,
    pub needs: i64,
}

/// Ages of the open needs, in whole days (nearest rank).
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedAges")]
pub struct NeedAges {
    pub open: i64,
    pub p50_days: Option<i64>,
    pub p90_days: Option<i64>,
    pub max_days: Option<i64>,
}

/// Needs delivered in one month (UTC).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedsDeliveredMonth")]
pub struct DeliveredMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub delivered: i64,
}

/// A key-tier customer with unmet do-now needs.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "KeyCustomerUnmet")]
pub struct KeyCustomerUnmet {
    pub customer_id: Uuid,
    /// Masked for analysts.
    pub name: String,
    pub owner_id: Option<String>,
    pub unmet_do_now: i64,
    /// When the oldest of them was recorded.
    pub oldest_created_at: DateTime<Utc>,
}

/// The needs report: live customers' needs by quadrant, status, owner and
/// value tier, the ages of open needs, deliveries per month, and the
/// key-tier customers with unmet do-now needs (most first, at most 100).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedReport")]
pub struct NeedReport {
    pub generated_at: DateTime<Utc>,
    pub by_quadrant: Vec<NeedGroupCount>,
    pub by_status: Vec<NeedStatusCount>,
    /// The 50 owners with the most open needs.
    pub by_owner: Vec<NeedGroupCount>,
    pub by_tier: Vec<NeedGroupCount>,
    pub ages: NeedAges,
    /// Oldest month first.
    pub delivered_per_month: Vec<DeliveredMonth>,
    pub key_customers_unmet_do_now: Vec<KeyCustomerUnmet>,
}

/// Adopting a suggestion.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "AdoptSuggestionInput")]
pub struct AdoptSuggestion {
    /// What is done with it, 1–10,000 characters.
    pub note: Option<String>,
}

/// A suggestion's adoption.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SuggestionAdoption")]
pub struct Adoption {
    pub feedback_id: Uuid,
    pub adopted_at: DateTime<Utc>,
    pub adopted_by: String,
    pub note: Option<String>,
    /// Points credited by this adoption (the bonus entry's id in
    /// `loyalty_entry_id`); 0 and `null` when it had been adopted already or
    /// the bonus is 0.
    pub points_credited: i64,
    pub loyalty_entry_id: Option<Uuid>,
    /// The need recorded for it, when the setting asks for one.
    pub need_id: Option<Uuid>,
}

/// A customer's open needs in one quadrant, as the 360 shows them.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "NeedQuadrantCount")]
pub struct QuadrantCount {
    pub quadrant: Quadrant,
    pub open: i64,
    /// Of them, the ones the unmet job last found unmet.
    pub unmet: i64,
}
