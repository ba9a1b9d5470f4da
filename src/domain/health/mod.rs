//! Health scores: each factor's value (0–100) from a customer's facts, the
//! score as the weighted mean over the factors that have data, and the level
//! from cut-offs. The one place the rules live; the service gathers the
//! facts in set-based SQL and stores what this computes.
//!
//! The rules, each a value from 0 (worst) to 100 (best):
//! - `order_recency`: days since the last order against the customer's own
//!   typical gap between orders ((last − first) ÷ (orders − 1), at least 7
//!   days; 90 days with a single order). Within the gap is 100, falling
//!   linearly to 0 at three gaps. No orders: no data.
//! - `frequency_trend`: orders in the last 90 days ÷ orders in the 90 before,
//!   × 100, at most 100 (as many or more is 100, half as many 50). None in
//!   either period: no data.
//! - `satisfaction`: the latest answer on a 100 scale (NPS × 10; CSAT 1–5 as
//!   0, 25, 50, 75, 100). None: no data.
//! - `complaints`: 100 − 25 per open complaint − 20 per SLA breach in the
//!   last 90 days, at least 0. Always has data (none is good news).
//! - `contact_cadence`: days since the last contact against the tier's
//!   cadence: within it 100, falling linearly to 0 at twice it. Never
//!   contacted: no data.
//! - `loyalty_activity`: points earned or spent in the last 90 days 100, in
//!   the last 180 days 50, else 0. No loyalty account: no data.
//! - `primary_contact`: a primary contact still there 100; the primary
//!   contact left (none active) 0. No contacts: no data.
//! - `unmet_needs`: the share of the customer's open needs (needs register)
//!   that are not unmet, × 100. No open needs: no data.
//! - `manual`: a staff override's value until it expires. None: no data.
//!
//! A factor without data is left out and the weights re-normalised over the
//! factors that have data. **Coverage** is the share of the weight of the
//! factors other than `manual` and `unmet_needs` (both optional: most
//! customers have neither) that have data; below the minimum coverage
//! the level is `insufficient_data` (a new customer is never `critical` for
//! lack of history). Each contribution is value × weight ÷ (sum of the
//! weights with data), rounded to 2 decimals; the score is the sum of the
//! contributions, so the explanation adds up to it exactly.

use chrono::{DateTime, NaiveDate, Utc};

pub mod indicators;
pub mod warning;

use crate::contract::health::{HealthFactor, HealthLevel};

/// Everything a score is computed from, for one customer at one instant.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub order_count: i64,
    pub first_order_at: Option<DateTime<Utc>>,
    pub last_order_at: Option<DateTime<Utc>>,
    pub orders_last_90: i64,
    pub orders_prior_90: i64,
    /// The latest NPS (0–10) or CSAT (1–5) answer, whichever came last.
    pub satisfaction: Option<Satisfaction>,
    pub open_complaints: i64,
    pub sla_breaches_90: i64,
    /// Failed payments of the last 90 days not recovered, and when the
    /// latest of them failed.
    pub payment_failures_90: i64,
    pub payment_failed_at: Option<DateTime<Utc>>,
    pub last_contacted_at: Option<DateTime<Utc>>,
    /// The tier's (or the customer's own) contact cadence in days.
    pub cadence_days: i64,
    /// The last earn or redemption; `None` inside means an account without
    /// movements, `None` outside no account at all.
    pub loyalty_last_activity: Option<Option<DateTime<Utc>>>,
    /// Whether the customer has contacts, and an active primary among them.
    pub contacts: Option<bool>,
    /// A live manual override's value.
    pub manual: Option<i32>,
    /// Open needs and, of them, unmet ones (`None`: none open).
    pub needs: Option<(i64, i64)>,
    /// When the latest satisfaction answer came.
    pub satisfaction_at: Option<DateTime<Utc>>,
    /// Net spend (minor units, all currencies) in the last 90 days and the 90 before.
    pub spend_last_90: i64,
    pub spend_prior_90: i64,
    /// The latest move to a higher value tier in the last 90 days: when, from, to.
    pub tier_upgrade: Option<(DateTime<Utc>, String, String)>,
    /// When the relationship began (`relationship_start`, else the record's creation).
    pub customer_since: Option<NaiveDate>,
}

/// A satisfaction answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Satisfaction {
    Nps(i32),
    Csat(i32),
}

impl Satisfaction {
    /// On a 100 scale.
    pub fn on_100(self) -> f64 {
        match self {
            Self::Nps(s) => f64::from(s.clamp(0, 10)) * 10.0,
            Self::Csat(s) => f64::from(s.clamp(1, 5) - 1) * 25.0,
        }
    }
}

/// Each factor's weight (any non-negative numbers; they are re-normalised).
#[derive(Clone, Debug, PartialEq)]
pub struct Weights(pub Vec<(HealthFactor, f64)>);

impl HealthFactor {
    /// Whether the factor counts toward coverage: not the optional ones a
    /// customer usually lacks (a manual override, open needs).
    pub fn counts_for_coverage(self) -> bool {
        !matches!(self, Self::Manual | Self::UnmetNeeds)
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self(vec![
            (HealthFactor::OrderRecency, 25.0),
            (HealthFactor::FrequencyTrend, 15.0),
            (HealthFactor::Satisfaction, 20.0),
            (HealthFactor::Complaints, 15.0),
            (HealthFactor::ContactCadence, 10.0),
            (HealthFactor::LoyaltyActivity, 5.0),
            (HealthFactor::PrimaryContact, 10.0),
            (HealthFactor::UnmetNeeds, 10.0),
            (HealthFactor::Manual, 20.0),
        ])
    }
}

impl Weights {
    /// A factor's weight (0 when not listed; never negative).
    pub fn of(&self, f: HealthFactor) -> f64 {
        self.0.iter().find(|(g, _)| *g == f).map_or(0.0, |(_, w)| w.max(0.0))
    }
}

/// The levels' lower bounds, inclusive: `score >= healthy` is healthy,
/// `score >= watch` watch, `score >= at_risk` at risk, below it critical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cutoffs {
    pub healthy: f64,
    pub watch: f64,
    pub at_risk: f64,
    /// The least coverage (0–1) a score needs to have a level.
    pub min_coverage: f64,
}

impl Default for Cutoffs {
    fn default() -> Self {
        Self {
            healthy: 70.0,
            watch: 50.0,
            at_risk: 30.0,
            min_coverage: 0.5,
        }
    }
}

impl Cutoffs {
    /// The level of a score with enough coverage.
    pub fn level(&self, score: f64) -> HealthLevel {
        if score >= self.healthy {
            HealthLevel::Healthy
        } else if score >= self.watch {
            HealthLevel::Watch
        } else if score >= self.at_risk {
            HealthLevel::AtRisk
        } else {
            HealthLevel::Critical
        }
    }
}

/// One factor of a score: its value (`None` without data), weight and
/// contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub factor: HealthFactor,
    pub value: Option<f64>,
    pub weight: f64,
    pub contribution: Option<f64>,
}

/// A score with its explanation.
#[derive(Clone, Debug, PartialEq)]
pub struct Explained {
    /// `None` when no factor has data.
    pub score: Option<f64>,
    pub level: HealthLevel,
    pub coverage: f64,
    pub parts: Vec<Part>,
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let secs = (to - from).num_seconds().max(0) as f64;
    secs / 86_400.0
}

/// 100 up to `ratio` 1, falling linearly to 0 at `zero_at`.
fn falling(ratio: f64, zero_at: f64) -> f64 {
    if ratio <= 1.0 {
        100.0
    } else {
        (100.0 * (zero_at - ratio) / (zero_at - 1.0)).clamp(0.0, 100.0)
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Rounds contributions to hundredths so that they add up to `total`
/// exactly: each is rounded down, and the hundredths left over go to the
/// largest remainders (Hamilton's method).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]
fn apportion(exact: &[Option<f64>], total: f64) -> Vec<Option<f64>> {
    let cents: Vec<Option<f64>> = exact.iter().map(|c| c.map(|v| v * 100.0)).collect();
    let mut floors: Vec<Option<i64>> = cents.iter().map(|c| c.map(|v| v.floor() as i64)).collect();
    let left = (total * 100.0).round() as i64 - floors.iter().flatten().sum::<i64>();
    let mut order: Vec<usize> = (0..cents.len()).filter(|&i| cents[i].is_some()).collect();
    order.sort_by(|&a, &b| {
        let frac = |i: usize| cents[i].unwrap_or(0.0) - cents[i].unwrap_or(0.0).floor();
        frac(b).total_cmp(&frac(a))
    });
    for &i in order.iter().take(left.max(0) as usize) {
        if let Some(f) = floors[i].as_mut() {
            *f += 1;
        }
    }
    floors.into_iter().map(|f| f.map(|c| c as f64 / 100.0)).collect()
}

/// One factor's value from the facts, `None` without data.
#[allow(clippy::cast_precision_loss)]
pub fn value(factor: HealthFactor, f: &Facts, now: DateTime<Utc>) -> Option<f64> {
    match factor {
        HealthFactor::OrderRecency => {
            let last = f.last_order_at?;
            if f.order_count < 1 {
                return None;
            }
            let gap = match (f.first_order_at, f.order_count) {
                (Some(first), n) if n >= 2 => (days(first, last) / (n - 1) as f64).max(7.0),
                _ => 90.0,
            };
            Some(falling(days(last, now) / gap, 3.0))
        }
        HealthFactor::FrequencyTrend => match (f.orders_last_90, f.orders_prior_90) {
            (0, 0) => None,
            (_, 0) => Some(100.0),
            (last, prior) => Some((100.0 * last as f64 / prior as f64).min(100.0)),
        },
        HealthFactor::Satisfaction => f.satisfaction.map(Satisfaction::on_100),
        HealthFactor::Complaints => {
            Some((100.0 - 25.0 * f.open_complaints as f64 - 20.0 * f.sla_breaches_90 as f64).max(0.0))
        }
        HealthFactor::ContactCadence => {
            let last = f.last_contacted_at?;
            Some(falling(days(last, now) / f.cadence_days.max(1) as f64, 2.0))
        }
        HealthFactor::LoyaltyActivity => {
            let last = f.loyalty_last_activity?;
            Some(match last.map(|t| days(t, now)) {
                Some(d) if d <= 90.0 => 100.0,
                Some(d) if d <= 180.0 => 50.0,
                _ => 0.0,
            })
        }
        HealthFactor::PrimaryContact => f.contacts.map(|ok| if ok { 100.0 } else { 0.0 }),
        HealthFactor::UnmetNeeds => f
            .needs
            .filter(|(open, _)| *open > 0)
            .map(|(open, unmet)| 100.0 * (1.0 - unmet.clamp(0, open) as f64 / open as f64)),
        HealthFactor::Manual => f.manual.map(|v| f64::from(v.clamp(0, 100))),
    }
}

/// The score, level and explanation of one customer's facts.
pub fn explain(f: &Facts, now: DateTime<Utc>, weights: &Weights, cutoffs: &Cutoffs) -> Explained {
    combine(
        HealthFactor::ALL.iter().map(|&factor| (factor, value(factor, f, now))),
        weights,
        cutoffs,
    )
}

/// The score, level and explanation of factor values (`None`: no data),
/// as computed now or as stored with an earlier score.
pub fn combine(
    values: impl IntoIterator<Item = (HealthFactor, Option<f64>)>,
    weights: &Weights,
    cutoffs: &Cutoffs,
) -> Explained {
    let values: Vec<(HealthFactor, Option<f64>, f64)> = values
        .into_iter()
        .map(|(factor, v)| (factor, v, weights.of(factor)))
        .collect();
    let with_data: f64 = values.iter().filter(|(_, v, _)| v.is_some()).map(|(_, _, w)| w).sum();
    let base: f64 = values
        .iter()
        .filter(|(g, ..)| g.counts_for_coverage())
        .map(|(_, _, w)| w)
        .sum();
    let covered: f64 = values
        .iter()
        .filter(|(g, v, _)| g.counts_for_coverage() && v.is_some())
        .map(|(_, _, w)| w)
        .sum();
    let coverage = if base > 0.0 { covered / base } else { 0.0 };
    let exact: Vec<Option<f64>> = values
        .iter()
        .map(|(_, v, w)| v.filter(|_| with_data > 0.0).map(|v| v * w / with_data))
        .collect();
    let score = (with_data > 0.0).then(|| round2(exact.iter().flatten().sum()));
    let shares = apportion(&exact, score.unwrap_or(0.0));
    let parts: Vec<Part> = values
        .into_iter()
        .zip(shares)
        .map(|((factor, value, weight), contribution)| Part {
            factor,
            value: value.map(round2),
            weight,
            contribution,
        })
        .collect();
    let level = match score {
        Some(s) if coverage >= cutoffs.min_coverage => cutoffs.level(s),
        _ => HealthLevel::InsufficientData,
    };
    Explained {
        score,
        level,
        coverage: round2(coverage),
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmet_needs_score_the_share_met_and_leave_coverage_alone() {
        let at = DateTime::<Utc>::MIN_UTC;
        let some = Facts {
            needs: Some((4, 1)),
            ..Facts::default()
        };
        assert_eq!(value(HealthFactor::UnmetNeeds, &some, at), Some(75.0));
        assert_eq!(value(HealthFactor::UnmetNeeds, &Facts::default(), at), None);
        assert!(!HealthFactor::UnmetNeeds.counts_for_coverage());
        let without = explain(&Facts::default(), at, &Weights::default(), &Cutoffs::default());
        let with = explain(&some, at, &Weights::default(), &Cutoffs::default());
        assert_eq!(without.coverage, with.coverage);
    }
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default()
    }

    fn ago(d: i64) -> Option<DateTime<Utc>> {
        Some(now() - Duration::days(d))
    }

    fn part(e: &Explained, f: HealthFactor) -> &Part {
        e.parts.iter().find(|p| p.factor == f).expect("every factor is listed")
    }

    /// A customer ordering monthly for a year, last 10 days ago, content,
    /// contacted lately, with points and a primary contact.
    fn steady() -> Facts {
        Facts {
            order_count: 13,
            first_order_at: ago(370),
            last_order_at: ago(10),
            orders_last_90: 3,
            orders_prior_90: 3,
            satisfaction: Some(Satisfaction::Nps(9)),
            open_complaints: 0,
            sla_breaches_90: 0,
            last_contacted_at: ago(5),
            cadence_days: 30,
            loyalty_last_activity: Some(ago(20)),
            contacts: Some(true),
            manual: None,
            ..Facts::default()
        }
    }

    #[test]
    fn each_factor_follows_its_rule() {
        let f = steady();
        let v = |g| value(g, &f, now());
        assert_eq!(v(HealthFactor::OrderRecency), Some(100.0));
        assert_eq!(v(HealthFactor::FrequencyTrend), Some(100.0));
        assert_eq!(v(HealthFactor::Satisfaction), Some(90.0));
        assert_eq!(v(HealthFactor::Complaints), Some(100.0));
        assert_eq!(v(HealthFactor::ContactCadence), Some(100.0));
        assert_eq!(v(HealthFactor::LoyaltyActivity), Some(100.0));
        assert_eq!(v(HealthFactor::PrimaryContact), Some(100.0));
        assert_eq!(v(HealthFactor::Manual), None);

        // Two gaps late (gap 30 days, 60 days since): halfway down.
        let late = Facts {
            last_order_at: ago(60),
            first_order_at: ago(420),
            ..steady()
        };
        assert_eq!(value(HealthFactor::OrderRecency, &late, now()), Some(50.0));
        // One order: a 90-day rhythm.
        let once = Facts {
            order_count: 1,
            first_order_at: ago(180),
            last_order_at: ago(180),
            ..steady()
        };
        assert_eq!(value(HealthFactor::OrderRecency, &once, now()), Some(50.0));
        let halved = Facts {
            orders_last_90: 2,
            orders_prior_90: 4,
            ..steady()
        };
        assert_eq!(value(HealthFactor::FrequencyTrend, &halved, now()), Some(50.0));
        let csat = Facts {
            satisfaction: Some(Satisfaction::Csat(4)),
            ..steady()
        };
        assert_eq!(value(HealthFactor::Satisfaction, &csat, now()), Some(75.0));
        let unhappy = Facts {
            open_complaints: 2,
            sla_breaches_90: 3,
            ..steady()
        };
        assert_eq!(value(HealthFactor::Complaints, &unhappy, now()), Some(0.0));
        let quiet = Facts {
            last_contacted_at: ago(45),
            ..steady()
        };
        assert_eq!(value(HealthFactor::ContactCadence, &quiet, now()), Some(50.0));
        let idle = Facts {
            loyalty_last_activity: Some(ago(120)),
            ..steady()
        };
        assert_eq!(value(HealthFactor::LoyaltyActivity, &idle, now()), Some(50.0));
        let never = Facts {
            loyalty_last_activity: Some(None),
            ..steady()
        };
        assert_eq!(value(HealthFactor::LoyaltyActivity, &never, now()), Some(0.0));
        let left = Facts {
            contacts: Some(false),
            ..steady()
        };
        assert_eq!(value(HealthFactor::PrimaryContact, &left, now()), Some(0.0));
    }

    #[test]
    fn the_explanation_adds_up_to_the_score() {
        let f = Facts {
            last_order_at: ago(60),
            first_order_at: ago(420),
            orders_last_90: 1,
            satisfaction: Some(Satisfaction::Csat(3)),
            open_complaints: 1,
            manual: Some(40),
            ..steady()
        };
        let e = explain(&f, now(), &Weights::default(), &Cutoffs::default());
        let sum: f64 = e.parts.iter().filter_map(|p| p.contribution).sum();
        let score = e.score.expect("a score");
        assert!((sum - score).abs() < 1e-9, "{sum} vs {score}");
        assert!((0.0..=100.0).contains(&score));
        assert_eq!(e.coverage, 1.0);
        assert_eq!(part(&e, HealthFactor::Manual).value, Some(40.0));
    }

    #[test]
    fn factors_without_data_are_left_out_and_weights_renormalised() {
        // Only satisfaction (20) and complaints (15) and contact (10) known:
        // 45 of 100, below the minimum coverage of 0.5.
        let f = Facts {
            satisfaction: Some(Satisfaction::Nps(10)),
            last_contacted_at: ago(1),
            cadence_days: 30,
            ..Facts::default()
        };
        let e = explain(&f, now(), &Weights::default(), &Cutoffs::default());
        assert_eq!(e.score, Some(100.0));
        assert_eq!(e.coverage, 0.45);
        assert_eq!(e.level, HealthLevel::InsufficientData);
        let missing = part(&e, HealthFactor::OrderRecency);
        assert_eq!((missing.value, missing.contribution), (None, None));
        // The contributions re-normalise over 45: satisfaction 20/45 of 100.
        assert_eq!(part(&e, HealthFactor::Satisfaction).contribution, Some(44.45));
        let sum: f64 = e.parts.iter().filter_map(|p| p.contribution).sum();
        assert!((sum - 100.0).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn a_new_customer_has_insufficient_data_never_critical() {
        let e = explain(&Facts::default(), now(), &Weights::default(), &Cutoffs::default());
        assert_eq!(e.level, HealthLevel::InsufficientData);
        assert_eq!(e.score, Some(100.0), "only 'no complaints' is known");
        // Even a staff override alone does not make enough data.
        let judged = Facts {
            manual: Some(5),
            ..Facts::default()
        };
        let e = explain(&judged, now(), &Weights::default(), &Cutoffs::default());
        assert_eq!(e.level, HealthLevel::InsufficientData);
    }

    #[test]
    fn cut_offs_are_inclusive_lower_bounds() {
        let c = Cutoffs::default();
        assert_eq!(c.level(70.0), HealthLevel::Healthy);
        assert_eq!(c.level(69.99), HealthLevel::Watch);
        assert_eq!(c.level(50.0), HealthLevel::Watch);
        assert_eq!(c.level(49.99), HealthLevel::AtRisk);
        assert_eq!(c.level(30.0), HealthLevel::AtRisk);
        assert_eq!(c.level(29.99), HealthLevel::Critical);
        assert_eq!(c.level(0.0), HealthLevel::Critical);
    }

    #[test]
    fn a_lapsed_unhappy_customer_is_critical() {
        let f = Facts {
            last_order_at: ago(200),
            first_order_at: ago(560),
            orders_last_90: 0,
            orders_prior_90: 0,
            satisfaction: Some(Satisfaction::Nps(2)),
            open_complaints: 3,
            last_contacted_at: ago(200),
            loyalty_last_activity: Some(ago(300)),
            contacts: Some(false),
            ..steady()
        };
        let e = explain(&f, now(), &Weights::default(), &Cutoffs::default());
        assert_eq!(e.level, HealthLevel::Critical, "{e:?}");
        assert_eq!(part(&e, HealthFactor::FrequencyTrend).value, None);
    }
}
