//! Loyalty: the program, accounts, the ledger and its statements.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;

value_enum!(
    /// How fractional points round.
    Rounding { Down => "down", Nearest => "nearest", Up => "up" }
);

value_enum!(
    /// Whether points expire at the end of the day or of the month they fall due.
    ExpiryAt { EndOfDay => "end_of_day", EndOfMonth => "end_of_month" }
);

value_enum!(
    /// What moved points: `earn` (an order or a purchase), `bonus`, `adjust`
    /// (staff, with a reason code), `redeem`, `expire`, `reverse` (a refund
    /// taking back an earn), `referral`, `restore` (a cancelled redemption
    /// put back).
    EntryKind {
        Earn => "earn",
        Bonus => "bonus",
        Adjust => "adjust",
        Redeem => "redeem",
        Expire => "expire",
        Reverse => "reverse",
        Referral => "referral",
        Restore => "restore",
    }
);

/// Points earned per whole unit of one currency.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "EarnRateInput")]
pub struct EarnRate {
    /// ISO 4217 code.
    pub currency: String,
    /// Points per whole unit (1 EUR, 1 JPY), more than 0 and at most 1,000.
    #[schema(exclusive_minimum = 0, maximum = 1000)]
    pub points_per_unit: f64,
}

/// The loyalty program's rules. Points are earned on the **eligible amount**
/// of an order: what was paid, less any part paid with points and less
/// refunds. A field left out takes its default (so a program saved before a
/// rule existed reads with that rule's default).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields, default)]
#[graphql(name = "LoyaltyProgram", input_name = "LoyaltyProgramInput")]
pub struct LoyaltyProgram {
    /// Whether completed orders earn points (default false).
    pub enabled: bool,
    /// Earn rates by currency; an order in a currency without a rate earns nothing.
    pub earn_rates: Vec<EarnRate>,
    /// How fractional points round (default `down`), for earns and for refund reversals.
    pub rounding: Rounding,
    /// The fewest points one redemption may use (default 1).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub min_redemption: i64,
    /// Months from earning to expiry (default 12; 1–120).
    #[schema(minimum = 1, maximum = 120)]
    pub expiry_months: u32,
    /// Points expire when the day (or month) they fall due ends in `time_zone`:
    /// at the first instant of the next local day (or month).
    pub expiry_at: ExpiryAt,
    /// The program's IANA time zone (default `UTC`).
    pub time_zone: String,
    /// Days new points stay pending (not spendable) — a return window (default 0; 0–365).
    #[schema(maximum = 365)]
    pub pending_days: u32,
    /// The most debt a refund may leave when the points it takes back were
    /// spent (default 10,000); beyond it the reversal records the rest as
    /// unrecovered.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub debt_limit: i64,
    /// Days a restored lot whose expiry has passed stays spendable (default 30; 1–365).
    #[schema(minimum = 1, maximum = 365)]
    pub restore_grace_days: u32,
    /// Months a tier is held before its review, which may move the account
    /// down one tier when its points earned in the last 12 months no longer
    /// qualify (default 12; 1–36). Upgrades happen at once.
    #[schema(minimum = 1, maximum = 36)]
    pub tier_review_months: u32,
    /// Points for the referrer when a referred customer's first order
    /// completes (default 500; 0–10^6).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub referrer_points: i64,
    /// Points for the referred customer then (default 250; 0–10^6).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub referee_points: i64,
    /// Most referral rewards one referrer earns in 12 months (default 10; 0–1000).
    #[schema(maximum = 1000)]
    pub referrals_per_year: u32,
    /// Days ahead a lot's coming expiry is announced, once per lot, as
    /// `loyalty.points_expiring` (default 30; 0 announces nothing; up to 365).
    #[schema(maximum = 365)]
    pub expiring_notice_days: u32,
    /// Minutes a checkout's hold keeps its points before it is released by
    /// itself, unless the hold asks for its own (default 15; 1–10,080).
    #[schema(minimum = 1, maximum = 10_080)]
    pub hold_minutes: u32,
}

impl Default for LoyaltyProgram {
    fn default() -> Self {
        Self {
            enabled: false,
            earn_rates: Vec::new(),
            rounding: Rounding::Down,
            min_redemption: 1,
            expiry_months: 12,
            expiry_at: ExpiryAt::EndOfDay,
            time_zone: "UTC".into(),
            pending_days: 0,
            debt_limit: 10_000,
            restore_grace_days: 30,
            tier_review_months: 12,
            referrer_points: 500,
            referee_points: 250,
            referrals_per_year: 10,
            expiring_notice_days: 30,
            hold_minutes: 15,
        }
    }
}

/// A customer's points.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyAccount")]
pub struct AccountView {
    pub customer_id: Uuid,
    /// The ledger's sum: points held less debt.
    pub balance: i64,
    /// Points that may be redeemed now.
    pub spendable: i64,
    /// Points still in their pending period.
    pub pending: i64,
    /// Points refunds took back after they were spent; the next earns settle it.
    pub debt: i64,
    pub lifetime_earned: i64,
    /// Points that expire within the next 30 days.
    pub expiring_soon: i64,
    /// The customer's code to refer others.
    pub referral_code: String,
    /// Points earned in the last 12 months (earns, bonuses and referrals,
    /// less reversals): what tiers qualify on. Spending does not lower it.
    pub qualifying_points: i64,
    pub tier_id: Option<Uuid>,
    pub tier_name: Option<String>,
    /// The next tier up and the qualifying points still missing for it.
    pub next_tier_name: Option<String>,
    pub points_to_next_tier: Option<i64>,
    /// The tier the account would hold after its next review, as things stand.
    pub projected_tier_name: Option<String>,
    pub next_review_at: Option<DateTime<Utc>>,
}

/// What one entry took from or put back into one lot.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyLotMove")]
pub struct LotMoveView {
    pub lot_id: Uuid,
    /// Negative: taken from the lot; positive: put back.
    pub points: i64,
    /// When the lot's points expire.
    pub expires_at: DateTime<Utc>,
}

/// One movement of points. Entries are never changed or deleted; a
/// correction is another entry.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyEntry")]
pub struct EntryView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The entry's number in its account's ledger: 1, 2, … in the order the
    /// account's lock let them in.
    pub seq: i64,
    pub kind: EntryKind,
    /// Signed: credits positive, debits negative.
    pub points: i64,
    /// The ledger's sum after this entry.
    pub balance_after: i64,
    /// Debt this entry added (positive) or settled (negative).
    pub debt_change: i64,
    /// Points a reversal could not take back: neither held nor within the debt limit.
    pub unrecovered: i64,
    pub reason_code: Option<String>,
    /// Staff's note (not shown to partners).
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub reward_id: Option<Uuid>,
    /// The entry this one reverses or restores.
    pub reverses_entry_id: Option<Uuid>,
    /// Who made it: a staff member, a partner, or `system`.
    pub actor: String,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
    /// The lots it drew on or made.
    pub lots: Vec<LotMoveView>,
}

/// Points for a purchase, or a bonus. Give `amount_minor` and `currency`
/// (points at the program's rate and the customer's tier), or `order_id` (a
/// recorded order: earns once however often it is sent), or `points` (a
/// bonus).
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyEarnInput")]
pub struct EarnInput {
    /// The eligible amount, in minor units (1 to 10^12).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: Option<super::MinorUnits>,
    /// ISO 4217 code of `amount_minor`.
    pub currency: Option<String>,
    /// A recorded order of this customer.
    pub order_id: Option<Uuid>,
    /// A bonus of this many points (1 to 10^9).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: Option<i64>,
    /// Why: a code of letters, digits and `_ . : -`, up to 64 characters.
    pub reason_code: Option<String>,
    pub note: Option<String>,
}

/// Points spent.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyRedeemInput")]
pub struct RedeemInput {
    /// 1 to 10^9, at least the program's minimum redemption.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: i64,
    /// The order the points paid for, if recorded.
    pub order_id: Option<Uuid>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
}

/// A correction by staff, up or down.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyAdjustInput")]
pub struct AdjustInput {
    /// Non-zero, −10^9 to 10^9; a negative adjustment never overdraws (0 is a 422).
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub points: i64,
    /// Why (required): a code of letters, digits and `_ . : -`, up to 64 characters.
    pub reason_code: String,
    pub note: Option<String>,
}

/// Query string of the moving operations.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MoveQuery {
    /// Answer what would happen without writing anything.
    pub simulate: Option<bool>,
}

/// What a move did (or, simulated, would do).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyMove")]
pub struct MoveResult {
    pub entry: EntryView,
    pub account: AccountView,
    /// True when nothing was written.
    pub simulated: bool,
}

value_enum!(
    /// Where a checkout's hold stands: `held` (points taken, awaiting the
    /// checkout), `captured` (the redemption stands), `released` (the points
    /// went back) or `expired` (released by itself when not captured in time).
    HoldStatus { Held => "held", Captured => "captured", Released => "released", Expired => "expired" }
);

/// Points held for a checkout: taken at once (a redemption), then captured
/// or released.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyHoldInput")]
pub struct HoldInput {
    /// 1 to 10^9, at least the program's minimum redemption.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: i64,
    /// The order the points pay for, if recorded.
    pub order_id: Option<Uuid>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    /// Minutes until the hold is released by itself (default the program's
    /// `hold_minutes`; 1–10,080).
    #[schema(minimum = 1, maximum = 10_080)]
    pub expires_in_minutes: Option<u32>,
}

/// A checkout's hold on points.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyHold")]
pub struct HoldView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The redemption that took the points.
    pub entry_id: Uuid,
    pub points: i64,
    pub status: HoldStatus,
    /// When an uncaptured hold is released by itself.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a hold, capture or release did: the hold, the entry it wrote or
/// stands on (the redemption; for a release, the restore), and the account.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyHoldResult")]
pub struct HoldResult {
    pub hold: HoldView,
    pub entry: EntryView,
    pub account: AccountView,
    /// True when nothing was written.
    pub simulated: bool,
}

/// A promoter worth asking for referrals: their latest NPS answer made them
/// a candidate and is still a promoter's.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyReferralCandidate")]
pub struct ReferralCandidate {
    pub customer_id: Uuid,
    /// Masked for analysts.
    pub name: String,
    /// Masked for analysts.
    pub email: Option<String>,
    /// The latest NPS answer (9 or 10).
    pub nps_score: Option<i32>,
    /// When a promoter answer first made the customer a candidate.
    pub candidate_since: DateTime<Utc>,
    /// The code to share (none before the customer's account is first used).
    pub referral_code: Option<String>,
    /// Customers who joined with this customer's code.
    pub referred: i64,
}

/// Query string of `GET …/loyalty/entries`.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "LoyaltyEntryFilter")]
pub struct EntryFilter {
    pub kind: Option<EntryKind>,
}

/// Query string of a statement.
#[derive(Debug, Deserialize, IntoParams, InputObject)]
#[graphql(name = "LoyaltyStatementPeriod")]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// From this instant (inclusive).
    pub from: DateTime<Utc>,
    /// Until this instant (exclusive); at most 366 days after `from`.
    pub to: DateTime<Utc>,
}

/// A customer's points over a period: the opening balance, every movement
/// with the lots it drew on, and the closing balance (opening + movements).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyStatement")]
pub struct Statement {
    pub customer_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub opening_balance: i64,
    pub entries: Vec<EntryView>,
    pub closing_balance: i64,
}

/// One inconsistency the audit found.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyAuditProblem")]
pub struct AuditProblem {
    /// `balance` (points − debt ≠ the ledger's sum), `lots` (points ≠ what the
    /// lots hold), `lot` (a lot's remainder ≠ its moves' sum), `balance_after`
    /// (the last entry's balance ≠ the account's) or `seq` (entries missing
    /// from the account's numbering).
    pub check: String,
    pub customer_id: Uuid,
    pub lot_id: Option<Uuid>,
    pub expected: i64,
    pub actual: i64,
}

/// The ledger's invariants over every account.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyAudit")]
pub struct AuditReport {
    pub accounts: i64,
    pub entries: i64,
    pub lots: i64,
    /// True when no problem was found.
    pub clean: bool,
    /// The first 100 problems.
    pub problems: Vec<AuditProblem>,
}

/// A tier: reached by qualifying points earned in a rolling 12 months.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyTier")]
pub struct TierView {
    pub id: Uuid,
    pub name: String,
    /// Qualifying points (rolling 12 months) that reach it.
    pub qualifying_points: i64,
    /// Earn multiplier (0.1–10).
    pub multiplier: f64,
    /// What the tier gives, as the program describes it.
    #[schema(value_type = Object)]
    pub benefits: async_graphql::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tier to create, or a tier's new definition.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyTierInput")]
pub struct TierInput {
    /// Unique.
    pub name: String,
    /// 0 to 10^9, unique among tiers.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub qualifying_points: i64,
    /// Earn multiplier, 0.1 to 10 (default 1).
    #[schema(minimum = 0.1, maximum = 10)]
    pub multiplier: Option<f64>,
    /// A JSON object describing the benefits (up to 8 kB, its numbers within ±1e300).
    #[schema(value_type = Option<Object>)]
    pub benefits: Option<async_graphql::Json<serde_json::Value>>,
}

/// One move of an account between tiers.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyTierChange")]
pub struct LoyaltyTierChange {
    pub from_tier_id: Option<Uuid>,
    pub to_tier_id: Option<Uuid>,
    /// `upgrade` (on qualifying) or `review` (the periodic review, one step down).
    pub reason: String,
    pub qualifying_points: i64,
    pub at: DateTime<Utc>,
}

/// An item of the rewards catalogue.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyReward")]
pub struct RewardView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Points one redemption costs.
    pub cost: i64,
    /// Items left; absent for an unlimited reward.
    pub stock: Option<i64>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub active: bool,
    /// Whether it can be redeemed now: active, in its window, in stock.
    pub available: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A reward to create, or a reward's new definition.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyRewardInput")]
pub struct RewardInput {
    pub name: String,
    pub description: Option<String>,
    /// 1 to 10^9 points.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub cost: i64,
    /// 0 to 10^9 items; leave out for unlimited.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    pub available_from: Option<DateTime<Utc>>,
    /// After `available_from`.
    pub available_until: Option<DateTime<Utc>>,
    /// Default true.
    pub active: Option<bool>,
}

/// Who redeems a reward: by our id or by the integration's external id.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LoyaltyRewardRedemptionInput")]
pub struct RewardRedemption {
    pub customer_id: Option<Uuid>,
    pub customer_external_id: Option<String>,
    pub note: Option<String>,
}

/// Query string of `GET /loyalty/liability`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiabilityQuery {
    /// The instant to report at (default now).
    pub as_of: Option<DateTime<Utc>>,
}

/// Points in one month of the program's time zone.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyMonthPoints")]
pub struct MonthPoints {
    /// `YYYY-MM`.
    pub month: String,
    pub points: i64,
}

/// What the program owes, at an instant: points outstanding (spendable and
/// pending) by the month they expire, debt, and what expired ("breakage")
/// by the month it was due.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyLiability")]
pub struct LiabilityReport {
    pub as_of: DateTime<Utc>,
    /// The program's time zone, which months are counted in.
    pub time_zone: String,
    /// Points held and not expired (spendable + pending).
    pub outstanding: i64,
    pub spendable: i64,
    pub pending: i64,
    /// Outstanding points by the month they expire, soonest first.
    pub outstanding_by_expiry_month: Vec<MonthPoints>,
    /// Debt refunds left behind.
    pub debt: i64,
    /// Points reversals could not take back (beyond the debt limit).
    pub unrecovered: i64,
    /// Expired points by the month they were due, oldest first.
    pub expired_by_month: Vec<MonthPoints>,
}

/// A customer's points at a glance, as the 360 shows them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "LoyaltyGlance")]
pub struct LoyaltyGlance {
    /// The ledger's sum: points held less debt.
    pub balance: i64,
    pub debt: i64,
    pub tier_name: Option<String>,
}
