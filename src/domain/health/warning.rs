//! Early warning: rules that fire once per episode, with hysteresis — each
//! fires when its condition crosses the fire threshold and stays open until
//! it crosses a separate clear threshold, so a score wobbling around a
//! cut-off raises one alert, not one per recompute.
//!
//! The rules (defaults):
//! - `low_score`: the score falls below 50 (fire) while the level is not
//!   `insufficient_data`; clears at 55 or more.
//! - `low_satisfaction`: the latest answer on a 100 scale is below 80;
//!   clears at 85 or more.
//! - `order_gap`: a customer who used to order monthly (3 orders or more,
//!   typically at most 31 days apart) has not ordered for 3 months (90
//!   days); clears with an order in the last 31 days.
//! - `primary_contact_left`: the primary contact left and no active one is
//!   there; clears when one is.
//! - `dormant`: 90 days without a purchase (from a customer who has bought);
//!   clears with a purchase in the last 30 days.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Explained, Facts, days};
use crate::contract::health::{AlertRule, HealthLevel};

/// The thresholds the rules fire and clear at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warning {
    pub score_fire_below: f64,
    pub score_clear_at: f64,
    pub satisfaction_fire_below: f64,
    pub satisfaction_clear_at: f64,
    pub gap_months: u32,
    pub dormant_days: u32,
    pub dormant_clear_days: u32,
}

impl Default for Warning {
    fn default() -> Self {
        Self {
            score_fire_below: 50.0,
            score_clear_at: 55.0,
            satisfaction_fire_below: 80.0,
            satisfaction_clear_at: 85.0,
            gap_months: 3,
            dormant_days: 90,
            dormant_clear_days: 30,
        }
    }
}

/// What a rule says about a customer now.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// The condition crossed the fire threshold: an alert with its evidence.
    Fire(Value),
    /// The condition crossed the clear threshold.
    Clear,
    /// Between the thresholds (or no data): whatever is, stays.
    Hold,
}

/// Whether the fire side holds (`Some(true)` with evidence), the clear side
/// (`Some(false)`), or neither.
fn side(fire: Option<Value>, clear: bool) -> Signal {
    match fire {
        Some(evidence) => Signal::Fire(evidence),
        None if clear => Signal::Clear,
        None => Signal::Hold,
    }
}

/// Days typically between a customer's orders, with 2 or more.
#[allow(clippy::cast_precision_loss)]
fn typical_gap(f: &Facts) -> Option<f64> {
    let (first, last) = (f.first_order_at?, f.last_order_at?);
    (f.order_count >= 2).then(|| days(first, last) / (f.order_count - 1) as f64)
}

/// What `rule` says about these facts and this score now.
pub fn signal(rule: AlertRule, f: &Facts, e: &Explained, now: DateTime<Utc>, w: &Warning) -> Signal {
    let since_order = f.last_order_at.map(|t| days(t, now));
    match rule {
        AlertRule::LowScore => match e.score {
            Some(s) if e.level != HealthLevel::InsufficientData => side(
                (s < w.score_fire_below).then(|| json!({"score": s, "fire_below": w.score_fire_below})),
                s >= w.score_clear_at,
            ),
            _ => Signal::Hold,
        },
        AlertRule::LowSatisfaction => match f.satisfaction.map(super::Satisfaction::on_100) {
            Some(s) => side(
                (s < w.satisfaction_fire_below)
                    .then(|| json!({"satisfaction": s, "fire_below": w.satisfaction_fire_below})),
                s >= w.satisfaction_clear_at,
            ),
            None => Signal::Hold,
        },
        AlertRule::OrderGap => match (since_order, typical_gap(f)) {
            (Some(since), Some(gap)) if f.order_count >= 3 && gap <= 31.0 => side(
                (since >= f64::from(w.gap_months) * 30.0).then(|| {
                    json!({"days_since_last_order": since.floor(), "typical_gap_days": gap.round(),
                        "orders": f.order_count})
                }),
                since < 31.0,
            ),
            (Some(since), _) => side(None, since < 31.0),
            (None, _) => Signal::Hold,
        },
        AlertRule::PrimaryContactLeft => match f.contacts {
            Some(false) => Signal::Fire(json!({"active_primary_contact": false})),
            Some(true) => Signal::Clear,
            None => Signal::Hold,
        },
        AlertRule::Dormant => match since_order {
            Some(since) => side(
                (since >= f64::from(w.dormant_days))
                    .then(|| json!({"days_since_last_order": since.floor(), "fire_at_days": w.dormant_days})),
                since < f64::from(w.dormant_clear_days),
            ),
            None => Signal::Hold,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::health::{Cutoffs, Weights, explain};
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default()
    }

    fn scored(score: f64) -> Explained {
        Explained {
            score: Some(score),
            level: Cutoffs::default().level(score),
            coverage: 1.0,
            parts: Vec::new(),
        }
    }

    #[test]
    fn a_score_fires_below_one_threshold_and_clears_above_another() {
        let (f, w) = (Facts::default(), Warning::default());
        let at = |s| signal(AlertRule::LowScore, &f, &scored(s), now(), &w);
        assert!(matches!(at(49.0), Signal::Fire(_)));
        assert_eq!(at(50.0), Signal::Hold);
        assert_eq!(at(54.99), Signal::Hold);
        assert_eq!(at(55.0), Signal::Clear);
        let unknown = explain(&Facts::default(), now(), &Weights::default(), &Cutoffs::default());
        assert_eq!(signal(AlertRule::LowScore, &f, &unknown, now(), &w), Signal::Hold);
    }

    #[test]
    fn a_monthly_buyer_silent_for_three_months_fires_once_a_new_customer_never() {
        let w = Warning::default();
        let e = scored(80.0);
        let monthly = |last_days_ago: i64| Facts {
            order_count: 6,
            first_order_at: Some(now() - Duration::days(last_days_ago + 150)),
            last_order_at: Some(now() - Duration::days(last_days_ago)),
            ..Facts::default()
        };
        assert!(matches!(
            signal(AlertRule::OrderGap, &monthly(91), &e, now(), &w),
            Signal::Fire(_)
        ));
        assert_eq!(signal(AlertRule::OrderGap, &monthly(60), &e, now(), &w), Signal::Hold);
        assert_eq!(signal(AlertRule::OrderGap, &monthly(3), &e, now(), &w), Signal::Clear);
        assert!(matches!(
            signal(AlertRule::Dormant, &monthly(91), &e, now(), &w),
            Signal::Fire(_)
        ));
        for rule in AlertRule::ALL {
            assert!(
                !matches!(signal(*rule, &Facts::default(), &e, now(), &w), Signal::Fire(_)),
                "{rule:?}"
            );
        }
    }

    #[test]
    fn satisfaction_on_a_100_scale_has_its_own_band() {
        let (w, e) = (Warning::default(), scored(80.0));
        let said = |s| Facts {
            satisfaction: Some(super::super::Satisfaction::Nps(s)),
            ..Facts::default()
        };
        assert!(matches!(
            signal(AlertRule::LowSatisfaction, &said(7), &e, now(), &w),
            Signal::Fire(_)
        ));
        assert_eq!(
            signal(AlertRule::LowSatisfaction, &said(8), &e, now(), &w),
            Signal::Hold
        );
        assert_eq!(
            signal(AlertRule::LowSatisfaction, &said(9), &e, now(), &w),
            Signal::Clear
        );
    }
}
