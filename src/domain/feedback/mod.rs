//! The feedback loop's rules: which state may follow which, how severity is
//! decided when nobody says, and how long each severity may take.

use crate::contract::feedback::{FeedbackStatus, Severity};

mod classification;
mod sla;

pub use classification::{Classification, ClassificationRules, classify};
pub use sla::{ClockState, SlaPolicy, SlaTable, Target, TargetSpec, targets};

/// The states an item may move to from `from`.
pub fn allowed_moves(from: FeedbackStatus) -> &'static [FeedbackStatus] {
    use FeedbackStatus::*;
    match from {
        New => &[Acknowledged],
        Acknowledged => &[InProgress],
        InProgress => &[WaitingCustomer, Resolved],
        WaitingCustomer => &[InProgress, Resolved],
        Resolved => &[Closed, InProgress],
        Closed => &[InProgress],
    }
}

/// How strong a severity is (urgent highest).
pub fn rank(s: Severity) -> u8 {
    match s {
        Severity::Urgent => 3,
        Severity::Important => 2,
        Severity::General => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::feedback::FeedbackKind;
    use crate::contract::feedback::FeedbackStatus::*;
    use crate::contract::settings::TargetUnit;
    use crate::domain::calendar::BusinessCalendar;
    use chrono::{DateTime, Duration};

    #[test]
    fn a_clock_stopped_after_its_due_instant_is_breached_at_that_instant() {
        let cal = BusinessCalendar::default();
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .expect("time")
            .to_utc();
        let mut late = ClockState::start(
            Target {
                minutes: 60,
                business: false,
            },
            t0,
            &cal,
        );
        late.meet(t0 + Duration::minutes(61), &cal);
        assert_eq!(late.breached_at, Some(t0 + Duration::hours(1)));
        let mut on_time = ClockState::start(
            Target {
                minutes: 60,
                business: false,
            },
            t0,
            &cal,
        );
        on_time.meet(t0 + Duration::minutes(59), &cal);
        assert_eq!(on_time.breached_at, None);
        let mut swept = ClockState::start(
            Target {
                minutes: 60,
                business: false,
            },
            t0,
            &cal,
        );
        swept.breached_at = Some(t0 + Duration::hours(1));
        swept.meet(t0 + Duration::hours(5), &cal);
        assert_eq!(swept.breached_at, Some(t0 + Duration::hours(1)), "recorded once");
    }

    #[test]
    fn every_state_pair_is_either_allowed_or_refused_as_specified() {
        let legal = [
            (New, Acknowledged),
            (Acknowledged, InProgress),
            (InProgress, WaitingCustomer),
            (WaitingCustomer, InProgress),
            (InProgress, Resolved),
            (WaitingCustomer, Resolved),
            (Resolved, Closed),
            (Resolved, InProgress),
            (Closed, InProgress),
        ];
        for &from in FeedbackStatus::ALL {
            for &to in FeedbackStatus::ALL {
                assert_eq!(
                    allowed_moves(from).contains(&to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    fn classify_default(kind: FeedbackKind, key: bool, text: &str) -> (Severity, String) {
        let c = classify(&ClassificationRules::default(), None, kind, key, text);
        (c.severity, c.rule)
    }

    #[test]
    fn severity_follows_keywords_tier_and_kind_in_english_and_chinese() {
        use FeedbackKind::*;
        use Severity::*;
        let cases: [(FeedbackKind, bool, &str, Severity, &str); 11] = [
            (
                Suggestion,
                false,
                "The charger got hot and my son was INJURED",
                Urgent,
                "keyword:injured",
            ),
            (
                Question,
                false,
                "Is this a fraud? Someone used my card",
                Urgent,
                "keyword:fraud",
            ),
            (Complaint, false, "我的个人信息被泄露了", Urgent, "keyword:泄露"),
            (Praise, false, "产品有安全隐患", Urgent, "keyword:安全"),
            (
                Complaint,
                false,
                "Delivery was three days late",
                Important,
                "kind:complaint",
            ),
            (Complaint, false, "快递晚了三天", Important, "kind:complaint"),
            (Question, true, "When does my contract renew?", Important, "tier:key"),
            (
                Question,
                false,
                "When does my contract renew?",
                General,
                "kind:question",
            ),
            (Suggestion, false, "Please add a dark mode", General, "kind:suggestion"),
            (
                Suggestion,
                false,
                "I want a refund for the app",
                Important,
                "keyword:refund",
            ),
            // Whole words only in English: "firewall" is not "fire".
            (Praise, false, "Your firewall docs are great", General, "kind:praise"),
        ];
        for (kind, key, text, severity, rule) in cases {
            assert_eq!(classify_default(kind, key, text), (severity, rule.to_owned()), "{text}");
        }
        let explicit = classify(&ClassificationRules::default(), Some(General), Complaint, true, "fraud");
        assert_eq!((explicit.severity, explicit.rule.as_str()), (General, "explicit"));
    }

    #[test]
    fn targets_prefer_a_kind_policy_and_read_business_days_from_the_calendar() {
        let cal = BusinessCalendar::default();
        let mut policies = SlaTable::default();
        let (first, resolution) = targets(&policies, Severity::General, FeedbackKind::Question, &cal);
        assert_eq!(
            (first, resolution),
            (
                Target {
                    minutes: 3 * 480,
                    business: true
                },
                Target {
                    minutes: 5 * 480,
                    business: true
                }
            )
        );
        policies.0.push(SlaPolicy {
            severity: Severity::General,
            kind: Some(FeedbackKind::Question),
            first_response: TargetSpec {
                amount: 4,
                unit: TargetUnit::Hours,
            },
            resolution: TargetSpec {
                amount: 2,
                unit: TargetUnit::Days,
            },
        });
        let (first, resolution) = targets(&policies, Severity::General, FeedbackKind::Question, &cal);
        assert_eq!((first.minutes, first.business), (240, false));
        assert_eq!(resolution.minutes, 2 * 24 * 60);
        assert_eq!(first.warning(), Duration::minutes(192));
    }

    #[test]
    fn a_clock_banks_time_across_pauses_and_follows_a_new_target() {
        let cal = BusinessCalendar::default();
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        let hours = |h: i64| Duration::hours(h);
        let target = Target {
            minutes: 600,
            business: false,
        };
        let mut c = ClockState::start(target, t0, &cal);
        assert_eq!((c.due_at, c.warn_at), (t0 + hours(10), t0 + hours(8)));
        assert_eq!(c.marks_due(t0 + hours(7)), (false, false));
        assert_eq!(c.marks_due(t0 + hours(8)), (true, false));
        c.pause(t0 + hours(4), &cal);
        assert_eq!(
            c.marks_due(t0 + hours(20)),
            (false, false),
            "a paused clock never fires"
        );
        c.resume(t0 + hours(20), &cal);
        assert_eq!(c.due_at, t0 + hours(26));
        c.retarget(
            Target {
                minutes: 300,
                business: false,
            },
            &cal,
        );
        assert_eq!(c.due_at, t0 + hours(21), "1 h left of 5 h after 4 h used");
        assert_eq!(c.marks_due(t0 + hours(22)), (true, true), "a late sweep records both");
        c.meet(t0 + hours(22), &cal);
        assert_eq!(c.marks_due(t0 + hours(30)), (false, false));
        c.reopen(t0 + hours(30), &cal);
        assert_eq!(c.due_at, t0 + hours(30), "no time was left");
    }
}
