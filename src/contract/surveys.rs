//! Surveys, invitations, responses and results on the wire.

use std::collections::BTreeMap;

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;

value_enum!(
    /// What a survey measures: NPS (0–10), CSAT (1–5), CES (1–7), or a
    /// custom questionnaire.
    SurveyKind { Nps => "nps", Csat => "csat", Ces => "ces", Custom => "custom" }
);
value_enum!(
    /// Draft (editable, not sendable) → active (sendable) → closed (answers
    /// no longer taken).
    SurveyStatus { Draft => "draft", Active => "active", Closed => "closed" }
);
value_enum!(
    /// How a survey treats the fatigue rules: the settings' windows, none,
    /// or its own (`fatigue_kind_days`, `fatigue_cooldown_days`).
    FatigueMode { Default => "default", Ignore => "ignore", Override => "override" }
);
value_enum!(
    /// Where an invitation stands; `expired` is an unfinished invitation
    /// past its expiry.
    InvitationStatus { Pending => "pending", Partial => "partial", Completed => "completed", Expired => "expired" }
);
value_enum!(
    /// How an invitation reaches the customer.
    SurveyChannel { Email => "email", Sms => "sms", App => "app", Web => "web", Link => "link" }
);
value_enum!(
    /// What made an invitation.
    InvitationSource { Manual => "manual", FollowUp => "follow_up", Order => "order", Periodic => "periodic" }
);
value_enum!(
    /// The type of a custom question.
    QuestionType {
        Rating => "rating",
        SingleChoice => "single_choice",
        MultipleChoice => "multiple_choice",
        Number => "number",
        Text => "text",
    }
);
value_enum!(
    /// When a survey sends itself: after each completed order (with a
    /// delay), or every few months to a segment.
    TriggerKind { AfterOrder => "after_order", Periodic => "periodic" }
);
value_enum!(
    /// Why a customer was not invited.
    SkipReason {
        SameKind => "same_kind",
        Cooldown => "cooldown",
        AlreadyInvited => "already_invited",
        NotFound => "not_found",
        Duplicate => "duplicate",
    }
);
value_enum!(
    /// Where a response stands.
    ResponseStatus { Partial => "partial", Completed => "completed" }
);
value_enum!(
    /// The trend's step.
    ResultsInterval { Week => "week", Month => "month" }
);
value_enum!(
    /// What results are broken down by.
    ResultsGroup {
        Tier => "tier",
        Segment => "segment",
        Owner => "owner",
        Channel => "channel",
        FeedbackCategory => "feedback_category",
    }
);

/// A choice of a choice question. Answers carry its `id`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject, SimpleObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SurveyChoiceInput", name = "SurveyChoice")]
pub struct ChoiceSpec {
    /// 1–64 letters, digits, `_` or `-`; unique within the question.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    /// The label by language tag; the survey's default language is required.
    pub label: BTreeMap<String, String>,
}

/// A question of a custom survey.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject, SimpleObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SurveyQuestionInput", name = "SurveyQuestion")]
pub struct QuestionSpec {
    /// 1–64 letters, digits, `_` or `-`; unique within the survey.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: QuestionType,
    #[serde(default)]
    #[graphql(default)]
    pub required: bool,
    /// The question by language tag; the survey's default language is required.
    pub text: BTreeMap<String, String>,
    /// Rating: the lowest and highest value (0–100); number: optional bounds.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Single and multiple choice: 2–50 choices.
    #[schema(min_items = 2, max_items = 50)]
    pub choices: Option<Vec<ChoiceSpec>>,
    /// Text: the longest answer (default and at most 5000).
    #[schema(minimum = 1, maximum = 5000)]
    pub max_length: Option<i32>,
}

/// When a survey sends itself.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject, SimpleObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SurveyTriggerInput", name = "SurveyTrigger")]
pub struct TriggerSpec {
    pub kind: TriggerKind,
    /// After an order: minutes to wait after the order (0–43200).
    #[schema(minimum = 0, maximum = 43200)]
    pub delay_minutes: Option<i32>,
    /// Periodic: the segment asked.
    pub segment_id: Option<Uuid>,
    /// Periodic: months between two invitations of one customer (1–24).
    #[schema(minimum = 1, maximum = 24)]
    pub every_months: Option<i32>,
}

/// A new survey (a draft). NPS, CSAT and CES surveys ask their score and a
/// comment (texts optional); custom surveys give their questions.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewSurveyInput")]
pub struct NewSurvey {
    pub name: String,
    pub kind: SurveyKind,
    /// Language tag of the texts every question must have (default `en`).
    pub default_language: Option<String>,
    /// Custom surveys: 1–50 questions.
    #[schema(min_items = 1, max_items = 50)]
    pub questions: Option<Vec<QuestionSpec>>,
    /// NPS, CSAT, CES: the score question by language (English default).
    pub score_text: Option<BTreeMap<String, String>>,
    /// NPS, CSAT, CES: the comment question by language.
    pub comment_text: Option<BTreeMap<String, String>>,
    /// Default `default` (the settings' windows).
    pub fatigue: Option<FatigueMode>,
    /// With `override`: days between two sends of this kind (0–730).
    #[schema(minimum = 0, maximum = 730)]
    pub fatigue_kind_days: Option<i32>,
    /// With `override`: days after any send (0–365).
    #[schema(minimum = 0, maximum = 365)]
    pub fatigue_cooldown_days: Option<i32>,
    /// Follow-up invitations skip fatigue (default true).
    pub follow_up_exempt: Option<bool>,
    /// Hours an invitation stays valid (1–8760, default 336 = 14 days).
    #[schema(minimum = 1, maximum = 8760)]
    pub expires_after_hours: Option<i32>,
    /// Reminders per invitation (0–10, default 2).
    #[schema(minimum = 0, maximum = 10)]
    pub max_reminders: Option<i32>,
    pub trigger: Option<TriggerSpec>,
}

/// Changes to a survey. Questions change only while no response exists.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "SurveyPatchInput")]
pub struct SurveyPatch {
    pub name: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    pub questions: Option<Vec<QuestionSpec>>,
    pub score_text: Option<BTreeMap<String, String>>,
    pub comment_text: Option<BTreeMap<String, String>>,
    pub fatigue: Option<FatigueMode>,
    #[schema(minimum = 0, maximum = 730)]
    pub fatigue_kind_days: Option<i32>,
    #[schema(minimum = 0, maximum = 365)]
    pub fatigue_cooldown_days: Option<i32>,
    pub follow_up_exempt: Option<bool>,
    #[schema(minimum = 1, maximum = 8760)]
    pub expires_after_hours: Option<i32>,
    #[schema(minimum = 0, maximum = 10)]
    pub max_reminders: Option<i32>,
    /// `draft` → `active` → `closed`.
    pub status: Option<SurveyStatus>,
    pub trigger: Option<TriggerSpec>,
    /// Removes the trigger.
    #[serde(default)]
    #[graphql(default)]
    pub clear_trigger: bool,
}

/// A survey.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Survey")]
pub struct SurveyView {
    pub id: Uuid,
    pub name: String,
    pub kind: SurveyKind,
    pub status: SurveyStatus,
    pub default_language: String,
    pub questions: Vec<QuestionSpec>,
    pub fatigue: FatigueMode,
    pub fatigue_kind_days: Option<i32>,
    pub fatigue_cooldown_days: Option<i32>,
    pub follow_up_exempt: bool,
    pub expires_after_hours: i32,
    pub max_reminders: i32,
    pub trigger: Option<TriggerSpec>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Filters of the survey list.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "SurveyFilter")]
pub struct SurveyFilter {
    pub kind: Option<SurveyKind>,
    pub status: Option<SurveyStatus>,
}

/// Who to invite: a segment's members, customers by id, or by external id
/// (any combination; each customer once).
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewInvitationsInput")]
pub struct NewInvitations {
    pub segment_id: Option<Uuid>,
    /// Up to 1000.
    #[schema(max_items = 1000)]
    pub customer_ids: Option<Vec<Uuid>>,
    /// Up to 1000.
    #[schema(max_items = 1000)]
    pub external_ids: Option<Vec<String>>,
    /// Default `email`.
    pub channel: Option<SurveyChannel>,
    /// Return the tokens (to put in links you send yourself). Default true;
    /// tokens are never shown again.
    pub return_tokens: Option<bool>,
}

/// Customers skipped for one reason.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "InvitationSkips")]
pub struct Skipped {
    pub reason: SkipReason,
    pub count: i64,
}

/// A token to send, once.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "InvitationToken")]
pub struct IssuedToken {
    pub invitation_id: Uuid,
    pub customer_id: Uuid,
    /// Answer at `/api/v1/public/survey-invitations/{token}`.
    pub token: String,
}

/// What a send did.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "InvitationReport")]
pub struct InvitationReport {
    pub invited: i64,
    pub skipped: Vec<Skipped>,
    /// The new tokens (when asked for; at most 1000 listed).
    pub tokens: Vec<IssuedToken>,
}

/// An invitation (its token is never shown after the send).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyInvitation")]
pub struct InvitationView {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub customer_id: Uuid,
    pub channel: SurveyChannel,
    pub source: InvitationSource,
    pub feedback_id: Option<Uuid>,
    pub exempt: bool,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub last_sent_at: DateTime<Utc>,
    pub reminders: i32,
    pub created_at: DateTime<Utc>,
}

/// Filters of an invitation list.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "InvitationFilter")]
pub struct InvitationFilter {
    pub status: Option<InvitationStatus>,
    pub customer_id: Option<Uuid>,
}

/// What a reminder round did.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "ReminderReport")]
pub struct ReminderReport {
    /// Unfinished, unexpired invitations reminded (their sends count for fatigue).
    pub reminded: i64,
    /// Left alone: already reminded as often as the survey allows.
    pub at_limit: i64,
    /// The invitations reminded: send their links again (only the tokens'
    /// hashes are kept, so the links are the ones first sent).
    pub invitation_ids: Vec<Uuid>,
}

/// A question as the customer sees it, in the customer's language.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "PublicQuestion")]
pub struct PublicQuestion {
    pub id: String,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: QuestionType,
    pub required: bool,
    pub text: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub choices: Vec<PublicChoice>,
    pub max_length: Option<i32>,
}

/// A choice in the customer's language.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "PublicChoice")]
pub struct PublicChoice {
    pub id: String,
    pub label: String,
}

/// An invitation as the invited customer sees it.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "PublicInvitation")]
pub struct PublicInvitation {
    pub invitation_id: Uuid,
    pub survey_name: String,
    pub kind: SurveyKind,
    /// The language the texts are in.
    pub language: String,
    pub questions: Vec<PublicQuestion>,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    /// The answers saved so far, by question id.
    #[schema(value_type = Object)]
    pub answers: async_graphql::Json<serde_json::Map<String, serde_json::Value>>,
}

/// Answers by question id: a whole number (rating), a number, a choice id
/// (single choice), a list of choice ids (multiple choice) or text; `null`
/// clears an answer. Saved answers not named stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersInput {
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
}

/// Finishing a response, optionally with last answers.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishInput {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
}

/// A response.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyResponse")]
pub struct ResponseView {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub invitation_id: Uuid,
    pub customer_id: Uuid,
    pub status: ResponseStatus,
    pub score: Option<i32>,
    /// Masked for analysts.
    pub comment: Option<String>,
    /// By question id; text answers masked for analysts.
    #[schema(value_type = Object)]
    pub answers: async_graphql::Json<serde_json::Map<String, serde_json::Value>>,
    pub language: String,
    pub channel: SurveyChannel,
    pub feedback_id: Option<Uuid>,
    pub opened_feedback_id: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Filters of a response list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ResponseFilter")]
pub struct ResponseFilter {
    pub status: Option<ResponseStatus>,
    pub customer_id: Option<Uuid>,
    /// Responses started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Responses started before.
    pub to: Option<DateTime<Utc>>,
}

/// A signed-in customer's invitation.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "MySurvey")]
pub struct MySurvey {
    pub invitation_id: Uuid,
    pub survey_name: String,
    pub kind: SurveyKind,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
}

/// The results query.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "SurveyResultsQuery")]
pub struct ResultsQuery {
    /// Responses started at or after (default: 12 intervals back).
    pub from: Option<DateTime<Utc>>,
    /// Responses started before (default: now).
    pub to: Option<DateTime<Utc>>,
    /// The trend's step (default `month`).
    pub interval: Option<ResultsInterval>,
    pub group_by: Option<ResultsGroup>,
}

/// A figure with its 95% interval (adjusted-Wald; see the results call).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Estimate")]
pub struct EstimateView {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Half the interval's width.
    pub margin: f64,
}

/// How a figure moved from the previous interval.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Change")]
pub struct ChangeView {
    pub delta: f64,
    /// The two-sample z statistic on the adjusted figures.
    pub z: f64,
    /// |z| > 1.96: significant at the 5% level.
    pub significant: bool,
}

/// The figures of a set of responses.
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyFigures")]
pub struct Figures {
    /// Responses with a score (partial ones included).
    pub responses: i64,
    /// NPS surveys.
    pub promoters: Option<i64>,
    pub passives: Option<i64>,
    pub detractors: Option<i64>,
    /// NPS −100…100.
    pub nps: Option<EstimateView>,
    /// CSAT: percent of 4–5.
    pub csat: Option<EstimateView>,
    /// CES (and any score survey): the mean score.
    pub mean: Option<EstimateView>,
    /// Below the settings' `min_responses`.
    pub insufficient_data: bool,
}

/// One interval of the trend.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyTrendPoint")]
pub struct TrendPoint {
    pub start: DateTime<Utc>,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub figures: Figures,
    /// The main figure (NPS, CSAT or mean) against the previous interval.
    pub change_vs_previous: Option<ChangeView>,
}

/// One group of the breakdown.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyGroup")]
pub struct GroupFigures {
    /// The tier, segment id, owner, channel or feedback category (`none` when unset).
    pub key: String,
    /// Fewer responses than the caller may see broken down: no figures.
    pub suppressed: bool,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub figures: Figures,
}

/// How one question was answered.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "QuestionDistribution")]
pub struct QuestionResult {
    pub question_id: String,
    pub answered: i64,
    /// Ratings by value and choices by id (as text keys), with their counts.
    pub counts: Vec<ValueCount>,
    /// Ratings and numbers.
    pub mean: Option<f64>,
}

/// A value and how often it was given.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "ValueCount")]
pub struct ValueCount {
    pub value: String,
    pub count: i64,
}

/// A survey's results.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "SurveyResults")]
pub struct SurveyResults {
    pub survey_id: Uuid,
    pub kind: SurveyKind,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Invitations sent in the period.
    pub invited: i64,
    /// Invitations sent in the period that have a response, percent, with
    /// its interval (null without invitations).
    pub response_rate: Option<EstimateView>,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub figures: Figures,
    pub interval: ResultsInterval,
    pub trend: Vec<TrendPoint>,
    pub group_by: Option<ResultsGroup>,
    pub groups: Vec<GroupFigures>,
    /// Per question (absent for partners).
    pub questions: Vec<QuestionResult>,
}

value_enum!(
    /// What a low follow-up score (CSAT ≤ 2) does to the feedback item.
    LowScoreAction { Reopen => "reopen", Task => "task" }
);

/// The survey rules in force.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SurveySettingsInput")]
pub struct SurveySettings {
    /// Days after a send before another survey of the same kind goes to the
    /// customer, per kind (default 90 each; 0–730).
    #[schema(maximum = 730)]
    pub nps_days: u32,
    #[schema(maximum = 730)]
    pub csat_days: u32,
    #[schema(maximum = 730)]
    pub ces_days: u32,
    #[schema(maximum = 730)]
    pub custom_days: u32,
    /// Days after any send before any other survey goes out (default 14; 0–365).
    #[schema(maximum = 365)]
    pub cooldown_days: u32,
    /// The CSAT survey sent when a feedback item is resolved; none sends nothing.
    pub follow_up_survey_id: Option<Uuid>,
    /// What a follow-up score of 2 or less does (default `reopen`).
    pub low_score_action: LowScoreAction,
    /// Below this many responses a figure is marked `insufficient_data` (default 30).
    #[schema(minimum = 1, maximum = 10000)]
    pub min_responses: u32,
    /// Groups with fewer responses are suppressed for partners and analysts
    /// (default 5, at least 3).
    #[schema(minimum = 3, maximum = 10000)]
    pub min_group_size: u32,
}

impl Default for SurveySettings {
    fn default() -> Self {
        Self {
            nps_days: 90,
            csat_days: 90,
            ces_days: 90,
            custom_days: 90,
            cooldown_days: 14,
            follow_up_survey_id: None,
            low_score_action: LowScoreAction::Reopen,
            min_responses: 30,
            min_group_size: 5,
        }
    }
}
