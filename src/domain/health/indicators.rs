//! Indicators apart from the score: risks and opportunities a person should
//! know about, each with its evidence and, where known, when it happened.
//!
//! Risks: `payment_failed` (a failed payment of the last 90 days not
//! recovered), `primary_contact_left` (contacts, none primary and active),
//! `order_volume_drop` (orders in the last 90 days at most half of the 90
//! before, from at least 2), `sla_breach` (a response or resolution target
//! missed in the last 90 days), `detractor` (latest NPS 0–6 or CSAT 1–2).
//! Opportunities: `promoter` (latest NPS 9–10 or CSAT 5), `tier_upgrade` (a
//! move to a higher value tier in the last 90 days), `spend_growth` (net
//! spend in the last 90 days at least 1.2 × the 90 before, which had some).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Facts, Satisfaction};
use crate::contract::health::IndicatorKind;

/// One indicator with its evidence and time.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    pub kind: IndicatorKind,
    pub evidence: Value,
    pub at: Option<DateTime<Utc>>,
}

/// The indicators the facts show.
pub fn indicators(f: &Facts) -> Vec<Indicator> {
    let mut out = Vec::new();
    let mut push = |kind, evidence, at| out.push(Indicator { kind, evidence, at });
    if f.payment_failures_90 > 0 {
        push(
            IndicatorKind::PaymentFailed,
            json!({"outstanding_failures_90": f.payment_failures_90}),
            f.payment_failed_at,
        );
    }
    if f.contacts == Some(false) {
        push(
            IndicatorKind::PrimaryContactLeft,
            json!({"active_primary_contact": false}),
            None,
        );
    }
    if f.orders_prior_90 >= 2 && f.orders_last_90 * 2 <= f.orders_prior_90 {
        push(
            IndicatorKind::OrderVolumeDrop,
            json!({"orders_last_90": f.orders_last_90, "orders_prior_90": f.orders_prior_90}),
            f.last_order_at,
        );
    }
    if f.sla_breaches_90 > 0 {
        push(
            IndicatorKind::SlaBreach,
            json!({"breaches_90": f.sla_breaches_90}),
            None,
        );
    }
    match f.satisfaction {
        Some(s @ (Satisfaction::Nps(0..=6) | Satisfaction::Csat(..=2))) => {
            push(IndicatorKind::Detractor, answer(s), f.satisfaction_at);
        }
        Some(s @ (Satisfaction::Nps(9..) | Satisfaction::Csat(5..))) => {
            push(IndicatorKind::Promoter, answer(s), f.satisfaction_at);
        }
        _ => {}
    }
    if let Some((at, from, to)) = &f.tier_upgrade {
        push(IndicatorKind::TierUpgrade, json!({"from": from, "to": to}), Some(*at));
    }
    if f.spend_prior_90 > 0 && f.spend_last_90 * 5 >= f.spend_prior_90 * 6 {
        push(
            IndicatorKind::SpendGrowth,
            json!({"spend_last_90_minor": f.spend_last_90, "spend_prior_90_minor": f.spend_prior_90}),
            f.last_order_at,
        );
    }
    out
}

/// When a customer is ready for an upsell conversation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpsellRule {
    /// Days the relationship must have lasted.
    pub min_relationship_days: u32,
    /// The latest satisfaction (0–100 scale) that qualifies on its own.
    pub min_satisfaction: f64,
}

/// Why a customer is ready for an upsell: a relationship of at least
/// `min_relationship_days`, and the latest satisfaction at least
/// `min_satisfaction` or an opportunity indicator. `None`: not ready.
pub fn upsell(f: &Facts, at: DateTime<Utc>, rule: &UpsellRule) -> Option<Value> {
    let since = f.customer_since?;
    let days = (at.date_naive() - since).num_days();
    if days < i64::from(rule.min_relationship_days) {
        return None;
    }
    let satisfaction = f.satisfaction.map(Satisfaction::on_100);
    let opportunities: Vec<&str> = indicators(f)
        .into_iter()
        .filter(|i| !i.kind.is_risk())
        .map(|i| i.kind.as_str())
        .collect();
    let satisfied = satisfaction.is_some_and(|s| s >= rule.min_satisfaction);
    (satisfied || !opportunities.is_empty())
        .then(|| json!({"relationship_days": days, "satisfaction": satisfaction, "opportunities": opportunities}))
}

fn answer(s: Satisfaction) -> Value {
    match s {
        Satisfaction::Nps(n) => json!({"nps": n}),
        Satisfaction::Csat(c) => json!({"csat": c}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(f: &Facts) -> Vec<IndicatorKind> {
        indicators(f).into_iter().map(|i| i.kind).collect()
    }

    #[test]
    fn each_indicator_follows_its_rule() {
        assert!(kinds(&Facts::default()).is_empty());
        let worrying = Facts {
            payment_failures_90: 1,
            contacts: Some(false),
            orders_last_90: 1,
            orders_prior_90: 4,
            sla_breaches_90: 2,
            satisfaction: Some(Satisfaction::Nps(5)),
            ..Facts::default()
        };
        assert_eq!(
            kinds(&worrying),
            [
                IndicatorKind::PaymentFailed,
                IndicatorKind::PrimaryContactLeft,
                IndicatorKind::OrderVolumeDrop,
                IndicatorKind::SlaBreach,
                IndicatorKind::Detractor
            ]
        );
        let promising = Facts {
            satisfaction: Some(Satisfaction::Csat(5)),
            spend_last_90: 12_000,
            spend_prior_90: 10_000,
            tier_upgrade: Some((DateTime::<Utc>::MIN_UTC, "general".into(), "important".into())),
            ..Facts::default()
        };
        assert_eq!(
            kinds(&promising),
            [
                IndicatorKind::Promoter,
                IndicatorKind::TierUpgrade,
                IndicatorKind::SpendGrowth
            ]
        );
        let flat = Facts {
            spend_last_90: 11_999,
            spend_prior_90: 10_000,
            orders_last_90: 2,
            orders_prior_90: 3,
            satisfaction: Some(Satisfaction::Nps(8)),
            ..Facts::default()
        };
        assert!(kinds(&flat).is_empty());
    }

    #[test]
    fn an_upsell_needs_a_year_and_satisfaction_or_an_opportunity() {
        let at = DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        let rule = UpsellRule {
            min_relationship_days: 365,
            min_satisfaction: 90.0,
        };
        let since = |days: i64| Some(at.date_naive() - chrono::Duration::days(days));
        let happy = Facts {
            customer_since: since(365),
            satisfaction: Some(Satisfaction::Nps(9)),
            ..Facts::default()
        };
        let evidence = upsell(&happy, at, &rule);
        assert_eq!(
            evidence,
            Some(json!({"relationship_days": 365, "satisfaction": 90.0, "opportunities": ["promoter"]}))
        );
        // Too new, however happy.
        assert_eq!(
            upsell(
                &Facts {
                    customer_since: since(364),
                    ..happy.clone()
                },
                at,
                &rule
            ),
            None
        );
        // 8 of 10 is not enough on its own; spending more is.
        let content = Facts {
            satisfaction: Some(Satisfaction::Nps(8)),
            ..happy.clone()
        };
        assert_eq!(upsell(&content, at, &rule), None);
        let growing = Facts {
            spend_last_90: 13_000,
            spend_prior_90: 10_000,
            ..content
        };
        assert!(upsell(&growing, at, &rule).is_some());
        assert_eq!(upsell(&Facts::default(), at, &rule), None);
    }
}
