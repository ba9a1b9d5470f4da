//! The feedback loop's rules: which state may follow which, how severity is
//! decided when nobody says, and how long each severity may take.

use chrono::Duration;

use super::calendar::{BusinessCalendar, Clock};
use crate::api::feedback::{
    ClassificationSettings, FeedbackKind, FeedbackStatus, Severity, SlaPolicies, SlaTarget, TargetUnit,
};

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

/// A severity and the rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub severity: Severity,
    /// `explicit`, `keyword:<word>`, `tier:key`, `kind:<kind>`.
    pub rule: String,
}

/// Whether `keyword` occurs in `text` (both lower case): ASCII keywords as
/// whole words, others (Chinese) anywhere.
fn mentions(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !keyword.is_ascii() {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + keyword.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Decides the severity of new feedback: an explicit one stands; otherwise
/// the strongest of keywords, the key-tier rule and the kind's floor, the
/// earlier rule winning a tie.
pub fn classify(
    rules: &ClassificationSettings,
    explicit: Option<Severity>,
    kind: FeedbackKind,
    key_customer: bool,
    text: &str,
) -> Classification {
    if let Some(severity) = explicit {
        return Classification {
            severity,
            rule: "explicit".into(),
        };
    }
    let text = text.to_lowercase();
    let keyword = |list: &[String], severity| {
        list.iter()
            .find(|k| mentions(&text, &k.to_lowercase()))
            .map(|k| Classification {
                severity,
                rule: format!("keyword:{k}"),
            })
    };
    let candidates = [
        keyword(&rules.urgent_keywords, Severity::Urgent),
        keyword(&rules.important_keywords, Severity::Important),
        (key_customer && rules.key_tier_kinds.contains(&kind)).then(|| Classification {
            severity: rules.key_tier_severity,
            rule: "tier:key".into(),
        }),
        Some(Classification {
            severity: rules
                .kind_floors
                .iter()
                .find(|f| f.kind == kind)
                .map_or(Severity::General, |f| f.severity),
            rule: format!("kind:{}", kind.as_str()),
        }),
    ];
    let mut best: Option<Classification> = None;
    for c in candidates.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| rank(c.severity) > rank(b.severity)) {
            best = Some(c);
        }
    }
    best.unwrap_or(Classification {
        severity: Severity::General,
        rule: format!("kind:{}", kind.as_str()),
    })
}

/// An SLA target in minutes of its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub minutes: i64,
    pub business: bool,
}

impl Target {
    /// Reads a configured target against the calendar (business days are
    /// days of the calendar's standard working day).
    pub fn of(t: &SlaTarget, calendar: &BusinessCalendar) -> Self {
        let amount = i64::from(t.amount);
        let (minutes, business) = match t.unit {
            TargetUnit::Minutes => (amount, false),
            TargetUnit::Hours => (amount * 60, false),
            TargetUnit::Days => (amount * 24 * 60, false),
            TargetUnit::BusinessHours => (amount * 60, true),
            TargetUnit::BusinessDays => (amount * calendar.day_minutes(), true),
        };
        Self { minutes, business }
    }

    pub fn clock(self, calendar: &BusinessCalendar) -> Clock<'_> {
        if self.business {
            Clock::Business(calendar)
        } else {
            Clock::Calendar
        }
    }

    pub fn duration(self) -> Duration {
        Duration::minutes(self.minutes)
    }

    /// 80% of the target: when the warning fires.
    pub fn warning(self) -> Duration {
        Duration::seconds(self.minutes * 60 * 4 / 5)
    }
}

/// The (first response, resolution) targets for an item: a policy for its
/// severity and kind wins over the severity's general one.
pub fn targets(
    policies: &SlaPolicies,
    severity: Severity,
    kind: FeedbackKind,
    calendar: &BusinessCalendar,
) -> (Target, Target) {
    let policy = policies
        .policies
        .iter()
        .find(|p| p.severity == severity && p.kind == Some(kind))
        .or_else(|| {
            policies
                .policies
                .iter()
                .find(|p| p.severity == severity && p.kind.is_none())
        });
    match policy {
        Some(p) => (
            Target::of(&p.first_response, calendar),
            Target::of(&p.resolution, calendar),
        ),
        // Validation keeps a general policy per severity; this is the
        // built-in default should stored settings ever lack one.
        None => {
            let defaults = SlaPolicies::default();
            let p = defaults.policies.iter().find(|p| p.severity == severity);
            p.map_or(
                (
                    Target {
                        minutes: 60,
                        business: false,
                    },
                    Target {
                        minutes: 24 * 60,
                        business: false,
                    },
                ),
                |p| {
                    (
                        Target::of(&p.first_response, calendar),
                        Target::of(&p.resolution, calendar),
                    )
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::feedback::FeedbackStatus::*;

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
        let c = classify(&ClassificationSettings::default(), None, kind, key, text);
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
        let explicit = classify(
            &ClassificationSettings::default(),
            Some(General),
            Complaint,
            true,
            "fraud",
        );
        assert_eq!((explicit.severity, explicit.rule.as_str()), (General, "explicit"));
    }

    #[test]
    fn targets_prefer_a_kind_policy_and_read_business_days_from_the_calendar() {
        let cal = BusinessCalendar::default();
        let mut policies = SlaPolicies::default();
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
        policies.policies.push(crate::api::feedback::SlaPolicy {
            severity: Severity::General,
            kind: Some(FeedbackKind::Question),
            first_response: SlaTarget {
                amount: 4,
                unit: TargetUnit::Hours,
            },
            resolution: SlaTarget {
                amount: 2,
                unit: TargetUnit::Days,
            },
        });
        let (first, resolution) = targets(&policies, Severity::General, FeedbackKind::Question, &cal);
        assert_eq!((first.minutes, first.business), (240, false));
        assert_eq!(resolution.minutes, 2 * 24 * 60);
        assert_eq!(first.warning(), Duration::minutes(192));
    }
}
