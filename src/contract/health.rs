//! Health: the factors a score is made of and the levels it falls into.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;
use crate::domain::health;

value_enum!(
    /// What a health score is made of: `order_recency` (days since the last
    /// order against the customer's own rhythm), `frequency_trend` (orders in
    /// the last 90 days against the 90 before), `satisfaction` (the latest
    /// NPS or CSAT answer on a 100 scale), `complaints` (open complaints and
    /// SLA breaches in the last 90 days), `contact_cadence` (days since the
    /// last contact against the tier's cadence), `loyalty_activity` (points
    /// earned or spent lately), `primary_contact` (whether the primary contact
    /// is still there), `unmet_needs` (the share of the customer's open needs
    /// not yet unmet) and `manual` (a staff override until it expires).
    HealthFactor {
        OrderRecency => "order_recency",
        FrequencyTrend => "frequency_trend",
        Satisfaction => "satisfaction",
        Complaints => "complaints",
        ContactCadence => "contact_cadence",
        LoyaltyActivity => "loyalty_activity",
        PrimaryContact => "primary_contact",
        UnmetNeeds => "unmet_needs",
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

value_enum!(
    /// An early-warning rule: `low_score` (the score below 50, cleared at
    /// 55), `low_satisfaction` (the latest answer below 80 on a 100 scale,
    /// cleared at 85), `order_gap` (a monthly buyer silent for 3 months,
    /// cleared by an order), `primary_contact_left`, `dormant` (90 days
    /// without a purchase, cleared by one in the last 30), with the default
    /// thresholds.
    AlertRule {
        LowScore => "low_score",
        LowSatisfaction => "low_satisfaction",
        OrderGap => "order_gap",
        PrimaryContactLeft => "primary_contact_left",
        Dormant => "dormant",
    }
);

value_enum!(
    /// A risk (`payment_failed`, `primary_contact_left`,
    /// `order_volume_drop`, `sla_breach`, `detractor`) or an opportunity
    /// (`promoter`, `tier_upgrade`, `spend_growth`) shown beside the score.
    IndicatorKind {
        PaymentFailed => "payment_failed",
        PrimaryContactLeft => "primary_contact_left",
        OrderVolumeDrop => "order_volume_drop",
        SlaBreach => "sla_breach",
        Detractor => "detractor",
        Promoter => "promoter",
        TierUpgrade => "tier_upgrade",
        SpendGrowth => "spend_growth",
    }
);

impl IndicatorKind {
    /// Whether it is a risk (else an opportunity).
    pub fn is_risk(self) -> bool {
        matches!(
            self,
            Self::PaymentFailed | Self::PrimaryContactLeft | Self::OrderVolumeDrop | Self::SlaBreach | Self::Detractor
        )
    }
}

/// A risk or opportunity with its evidence and, where known, its time.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "HealthIndicator", complex)]
pub struct IndicatorView {
    pub kind: IndicatorKind,
    /// `risk` or `opportunity`.
    pub side: String,
    /// The figures behind it (no personal data).
    #[graphql(skip)]
    pub evidence: serde_json::Value,
    pub at: Option<DateTime<Utc>>,
}

#[async_graphql::ComplexObject]
impl IndicatorView {
    /// The figures behind it, as JSON text.
    async fn evidence(&self) -> String {
        self.evidence.to_string()
    }
}

/// An early-warning alert: one per rule and episode, open until the rule's
/// clear threshold is crossed.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "HealthAlert", complex)]
pub struct AlertView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub rule: AlertRule,
    /// The figures that fired it (scores, days, thresholds; no personal data).
    #[graphql(skip)]
    pub evidence: serde_json::Value,
    pub fired_at: DateTime<Utc>,
    /// `null` while open.
    pub cleared_at: Option<DateTime<Utc>>,
    /// The win-back task it created (or joined, when one was open).
    pub task_id: Option<Uuid>,
}

#[async_graphql::ComplexObject]
impl AlertView {
    /// The figures that fired it, as JSON text.
    async fn evidence(&self) -> String {
        self.evidence.to_string()
    }
}

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
    /// Early-warning alerts, open ones first, then the latest cleared (20 at most).
    pub alerts: Vec<AlertView>,
    /// Risks and opportunities apart from the score, each with its evidence.
    pub indicators: Vec<IndicatorView>,
}

/// What a recompute did.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthRecomputeResult {
    pub customers_scored: i64,
    /// Early-warning alerts raised.
    pub alerts_raised: i64,
    /// Win-back tasks created.
    pub tasks_created: i64,
    /// Alerts left without a task by `max_win_back_tasks_per_owner`.
    pub tasks_capped: i64,
    /// Upsell tasks created.
    pub upsell_tasks_created: i64,
    pub computed_at: DateTime<Utc>,
    pub elapsed_ms: u64,
}

/// How much each factor weighs, 0–100 each; only their proportions matter,
/// and the manual factor weighs in only while one is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HealthWeightsInput")]
pub struct HealthWeights {
    #[schema(minimum = 0, maximum = 100)]
    pub order_recency: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub frequency_trend: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub satisfaction: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub complaints: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub contact_cadence: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub loyalty_activity: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub primary_contact: f64,
    /// Settings saved before this factor existed weigh it by default.
    #[serde(default = "default_unmet_needs")]
    #[schema(minimum = 0, maximum = 100)]
    pub unmet_needs: f64,
    #[schema(minimum = 0, maximum = 100)]
    pub manual: f64,
}

fn default_unmet_needs() -> f64 {
    health::Weights::default().of(HealthFactor::UnmetNeeds)
}

impl HealthWeights {
    /// Each factor with its weight.
    pub fn pairs(&self) -> [(HealthFactor, f64); 9] {
        [
            (HealthFactor::OrderRecency, self.order_recency),
            (HealthFactor::FrequencyTrend, self.frequency_trend),
            (HealthFactor::Satisfaction, self.satisfaction),
            (HealthFactor::Complaints, self.complaints),
            (HealthFactor::ContactCadence, self.contact_cadence),
            (HealthFactor::LoyaltyActivity, self.loyalty_activity),
            (HealthFactor::PrimaryContact, self.primary_contact),
            (HealthFactor::UnmetNeeds, self.unmet_needs),
            (HealthFactor::Manual, self.manual),
        ]
    }
}

/// The defaults are the scoring rules' own.
impl Default for HealthWeights {
    fn default() -> Self {
        let w = health::Weights::default();
        Self {
            order_recency: w.of(HealthFactor::OrderRecency),
            frequency_trend: w.of(HealthFactor::FrequencyTrend),
            satisfaction: w.of(HealthFactor::Satisfaction),
            complaints: w.of(HealthFactor::Complaints),
            contact_cadence: w.of(HealthFactor::ContactCadence),
            loyalty_activity: w.of(HealthFactor::LoyaltyActivity),
            primary_contact: w.of(HealthFactor::PrimaryContact),
            unmet_needs: w.of(HealthFactor::UnmetNeeds),
            manual: w.of(HealthFactor::Manual),
        }
    }
}

/// The levels' lower bounds, inclusive: `score >= healthy` is healthy,
/// `score >= watch` watch, `score >= at_risk` at risk, below it critical;
/// with less than `min_coverage` of the weight (manual aside) having data
/// the level is `insufficient_data`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HealthCutoffsInput")]
pub struct HealthCutoffs {
    /// 0–100, above `watch`.
    #[schema(minimum = 0, maximum = 100)]
    pub healthy: f64,
    /// 0–100, above `at_risk`.
    #[schema(minimum = 0, maximum = 100)]
    pub watch: f64,
    /// 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub at_risk: f64,
    /// 0.1–1.
    #[schema(minimum = 0.1, maximum = 1)]
    pub min_coverage: f64,
}

impl Default for HealthCutoffs {
    fn default() -> Self {
        let c = health::Cutoffs::default();
        Self {
            healthy: c.healthy,
            watch: c.watch,
            at_risk: c.at_risk,
            min_coverage: c.min_coverage,
        }
    }
}

/// The weights and cut-offs scores are computed with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HealthSettingsInput")]
pub struct HealthSettings {
    pub weights: HealthWeights,
    pub cutoffs: HealthCutoffs,
    /// The early-warning thresholds; left out, the defaults.
    #[serde(default)]
    #[graphql(default)]
    pub warning: HealthWarning,
    /// When a recompute creates upsell tasks; left out, the defaults.
    #[serde(default)]
    #[graphql(default)]
    pub upsell: HealthUpsell,
}

/// Upsell tasks: a relationship of at least `min_relationship_days` and
/// the latest satisfaction at least `min_satisfaction`, or an opportunity
/// indicator (promoter, tier upgrade, spend growth), make a recompute
/// create an `upsell` task for the owner — once per `every_months` per
/// customer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HealthUpsellInput")]
pub struct HealthUpsell {
    /// Off: no upsell tasks (default on).
    pub enabled: bool,
    /// Days the relationship must have lasted (`relationship_start`, else
    /// since the record was created), 0–3650 (default 365).
    #[schema(minimum = 0, maximum = 3650)]
    pub min_relationship_days: u32,
    /// The latest satisfaction (0–100 scale: NPS × 10, CSAT 1–5 as 0–100)
    /// that qualifies on its own (default 90).
    #[schema(minimum = 0, maximum = 100)]
    pub min_satisfaction: f64,
    /// Months (of 30 days) between one customer's upsell tasks, 1–24 (default 6).
    #[schema(minimum = 1, maximum = 24)]
    pub every_months: u32,
    /// Days until an upsell task is due, 0–90 (default 14).
    #[schema(minimum = 0, maximum = 90)]
    pub due_days: u32,
    /// Most upsell tasks one recompute creates for one owner, 0–10,000
    /// (default 25); the rest come with the next recomputes.
    #[schema(minimum = 0, maximum = 10_000)]
    pub max_tasks_per_owner: u32,
}

impl Default for HealthUpsell {
    fn default() -> Self {
        Self {
            enabled: true,
            min_relationship_days: 365,
            min_satisfaction: 90.0,
            every_months: 6,
            due_days: 14,
            max_tasks_per_owner: default_task_cap(),
        }
    }
}

/// Early-warning thresholds: each rule fires at one and clears at another
/// (hysteresis), so a value wobbling around a threshold raises one alert.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HealthWarningInput")]
pub struct HealthWarning {
    /// `low_score` fires below this score (0–100).
    #[schema(minimum = 0, maximum = 100)]
    pub score_fire_below: f64,
    /// … and clears at this score or above (at least `score_fire_below`).
    #[schema(minimum = 0, maximum = 100)]
    pub score_clear_at: f64,
    /// `low_satisfaction` fires below this (0–100 scale).
    #[schema(minimum = 0, maximum = 100)]
    pub satisfaction_fire_below: f64,
    /// … and clears at this or above (at least `satisfaction_fire_below`).
    #[schema(minimum = 0, maximum = 100)]
    pub satisfaction_clear_at: f64,
    /// `order_gap` fires after this many months (of 30 days) without an order, 1–24.
    #[schema(minimum = 1, maximum = 24)]
    pub gap_months: u32,
    /// `dormant` fires after this many days without a purchase, 7–3650.
    #[schema(minimum = 7, maximum = 3650)]
    pub dormant_days: u32,
    /// … and clears with a purchase within this many days (1 up to `dormant_days`).
    #[schema(minimum = 1, maximum = 3650)]
    pub dormant_clear_days: u32,
    /// Days until a win-back task is due, 0–90.
    #[schema(minimum = 0, maximum = 90)]
    pub win_back_due_days: u32,
    /// Most win-back tasks one recompute creates for one owner, 0–10,000
    /// (default 25): beyond it the alert is recorded without a task and
    /// counted as capped, so switching early warning on never floods anyone.
    #[serde(default = "default_task_cap")]
    #[schema(minimum = 0, maximum = 10_000)]
    pub max_win_back_tasks_per_owner: u32,
}

fn default_task_cap() -> u32 {
    25
}

/// The defaults are the rules' own.
impl Default for HealthWarning {
    fn default() -> Self {
        let w = health::warning::Warning::default();
        Self {
            score_fire_below: w.score_fire_below,
            score_clear_at: w.score_clear_at,
            satisfaction_fire_below: w.satisfaction_fire_below,
            satisfaction_clear_at: w.satisfaction_clear_at,
            gap_months: w.gap_months,
            dormant_days: w.dormant_days,
            dormant_clear_days: w.dormant_clear_days,
            win_back_due_days: 3,
            max_win_back_tasks_per_owner: default_task_cap(),
        }
    }
}

/// Weights and cut-offs to try; either left out stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "HealthPreviewInput")]
pub struct HealthPreviewInput {
    pub weights: Option<HealthWeights>,
    pub cutoffs: Option<HealthCutoffs>,
}

/// How many customers a level holds.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct LevelCount {
    pub level: HealthLevel,
    pub count: i64,
}

/// A customer whose level would change.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct LevelChange {
    pub customer_id: Uuid,
    /// Masked for analysts.
    pub name: String,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    pub level_before: HealthLevel,
    pub level_after: HealthLevel,
}

/// What the proposed weights and cut-offs would do, saving nothing.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthPreview {
    /// Customers scored (every live customer).
    pub customers: i64,
    /// Customers per level with the settings in force (every level, zeros too).
    pub before: Vec<LevelCount>,
    /// Customers per level with the proposed ones.
    pub after: Vec<LevelCount>,
    /// How many customers would change level.
    pub changed: i64,
    /// The first 100 of them, by customer id.
    pub changes: Vec<LevelChange>,
    pub computed_at: DateTime<Utc>,
}

/// The month a health report covers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HealthReportQuery {
    /// `YYYY-MM`, a UTC month; the current month when left out.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// How many customers moved from one level to another.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct LevelMove {
    pub from: HealthLevel,
    pub to: HealthLevel,
    pub count: i64,
}

/// A customer whose level changed over the month.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct MovedCustomer {
    pub customer_id: Uuid,
    /// Masked for analysts; left out for partners.
    pub name: Option<String>,
    pub from: HealthLevel,
    pub to: HealthLevel,
}

/// An at-risk or critical customer, by lifetime value.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct AtRiskCustomer {
    pub customer_id: Uuid,
    /// Masked for analysts; left out for partners.
    pub name: Option<String>,
    pub level: HealthLevel,
    pub score: Option<f64>,
    /// The RFM projection of lifetime value (minor units), else the spend so far.
    pub lifetime_value_minor: i64,
}

/// Churns or win-backs with one reason.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ReasonCount {
    /// `service`, `competitor`, `price_budget`, `other`; `null` when none was recorded.
    pub reason: Option<super::customers::ChurnReason>,
    pub count: i64,
}

/// The monthly health report.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Customers with a stored score in the month.
    pub customers_scored: i64,
    /// Customers per level, each by its last score in the month (every level, zeros too).
    pub levels: Vec<LevelCount>,
    /// Level moves from each customer's last score before the month to its last in it.
    pub moves: Vec<LevelMove>,
    /// The first 100 customers who moved, by id.
    pub moved: Vec<MovedCustomer>,
    /// The 20 at-risk and critical customers (by their last score in the month) with the
    /// highest lifetime value.
    pub top_at_risk: Vec<AtRiskCustomer>,
    /// Customers moved to `churned` in the month, and per reason.
    pub churned: i64,
    pub churn_reasons: Vec<ReasonCount>,
    /// Churned customers won back in the month, and per reason of the churn they ended.
    pub won_back: i64,
    pub win_back_reasons: Vec<ReasonCount>,
}

/// Weights and cut-offs to back-test against the stored history; either
/// left out is the one in force.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "HealthBacktestInput")]
pub struct HealthBacktestInput {
    pub weights: Option<HealthWeights>,
    pub cutoffs: Option<HealthCutoffs>,
    /// Months replayed, the current one last: 1–24 (default 12).
    #[schema(minimum = 1, maximum = 24)]
    pub months: Option<u32>,
}

/// The customers at one level in one month, and how many of them churned
/// within 90 days.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct BacktestLevel {
    pub level: HealthLevel,
    pub customers: i64,
    pub churned: i64,
}

/// One replayed month: each live customer's last stored score in it,
/// levelled with the settings in force and with the proposed ones.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct BacktestMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// `false` while the 90 days after some of its scores have not all passed
    /// (churn counted so far).
    pub outcome_complete: bool,
    pub current: Vec<BacktestLevel>,
    pub proposed: Vec<BacktestLevel>,
}

/// How well at_risk + critical foretold churn within 90 days, over every
/// replayed month.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct BacktestSummary {
    /// Customer-months replayed.
    pub customers: i64,
    /// … of which churned within 90 days.
    pub churned: i64,
    /// Customer-months at at_risk or critical, and how many of those churned.
    pub flagged: i64,
    pub flagged_churned: i64,
    /// `flagged_churned / flagged`; `null` with nothing flagged.
    pub precision: Option<f64>,
    /// `flagged_churned / churned`; `null` without churn.
    pub recall: Option<f64>,
    /// `precision / (churned / customers)`: how much likelier a flagged customer churns.
    pub lift: Option<f64>,
}

/// The back-test of the settings in force and the proposed ones.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct HealthBacktest {
    pub months: Vec<BacktestMonth>,
    pub current: BacktestSummary,
    pub proposed: BacktestSummary,
    /// Days after a score within which a churn counts (90).
    pub churn_window_days: i64,
}
