//! The feedback loop's rules: which state may follow which, how severity is
//! decided when nobody says, and how long each severity may take.

use chrono::{DateTime, Duration, Utc};

use super::calendar::{BusinessCalendar, Clock};
use crate::contract::feedback::{FeedbackKind, FeedbackStatus, Severity};
use crate::contract::settings::TargetUnit;

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

/// How severity is decided when none is given (the settings document
/// `ClassificationSettings` is read into this at the service boundary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassificationRules {
    pub urgent_keywords: Vec<String>,
    pub important_keywords: Vec<String>,
    pub key_tier_severity: Severity,
    pub key_tier_kinds: Vec<FeedbackKind>,
    /// The lowest severity of each listed kind.
    pub kind_floors: Vec<(FeedbackKind, Severity)>,
}

impl Default for ClassificationRules {
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
                (FeedbackKind::Complaint, Severity::Important),
                (FeedbackKind::Incident, Severity::Important),
            ],
        }
    }
}

/// Decides the severity of new feedback: an explicit one stands; otherwise
/// the strongest of keywords, the key-tier rule and the kind's floor, the
/// earlier rule winning a tie.
pub fn classify(
    rules: &ClassificationRules,
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
                .find(|(k, _)| *k == kind)
                .map_or(Severity::General, |(_, severity)| *severity),
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

/// A configured SLA target: an amount of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    pub amount: u32,
    pub unit: TargetUnit,
}

/// The targets for one severity, optionally only for one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    pub severity: Severity,
    pub kind: Option<FeedbackKind>,
    pub first_response: TargetSpec,
    pub resolution: TargetSpec,
}

/// Every SLA policy in force (the settings document `SlaPolicies` is read
/// into this at the service boundary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaTable(pub Vec<SlaPolicy>);

impl Default for SlaTable {
    /// Urgent: first response 1 hour, resolution 24 hours; important: 2
    /// hours, 24 hours; general: 3 business days, 5 business days.
    fn default() -> Self {
        let target = |amount, unit| TargetSpec { amount, unit };
        let policy = |severity, first_response, resolution| SlaPolicy {
            severity,
            kind: None,
            first_response,
            resolution,
        };
        Self(vec![
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
        ])
    }
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
    pub fn of(t: &TargetSpec, calendar: &BusinessCalendar) -> Self {
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
    policies: &SlaTable,
    severity: Severity,
    kind: FeedbackKind,
    calendar: &BusinessCalendar,
) -> (Target, Target) {
    let policy = policies
        .0
        .iter()
        .find(|p| p.severity == severity && p.kind == Some(kind))
        .or_else(|| policies.0.iter().find(|p| p.severity == severity && p.kind.is_none()));
    match policy {
        Some(p) => (
            Target::of(&p.first_response, calendar),
            Target::of(&p.resolution, calendar),
        ),
        // Validation keeps a general policy per severity; this is the
        // built-in default should stored settings ever lack one.
        None => {
            let defaults = SlaTable::default();
            let p = defaults.0.iter().find(|p| p.severity == severity);
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

/// One SLA clock of an item: its target, the time used in earlier runs,
/// and, while it runs, since when and when it warns and breaches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockState {
    pub target: Target,
    pub used_micros: i64,
    /// Start of the current run; `None` while paused or met.
    pub since: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    pub warned_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
}

impl ClockState {
    /// A clock that starts running at `at`.
    pub fn start(target: Target, at: DateTime<Utc>, calendar: &BusinessCalendar) -> Self {
        let mut clock = Self {
            target,
            used_micros: 0,
            since: Some(at),
            due_at: at,
            warn_at: at,
            met_at: None,
            warned_at: None,
            breached_at: None,
        };
        clock.plan(calendar);
        clock
    }

    /// Recomputes the due and warning instants of the current run.
    fn plan(&mut self, calendar: &BusinessCalendar) {
        if let Some(since) = self.since {
            let clock = self.target.clock(calendar);
            let used = Duration::microseconds(self.used_micros);
            self.due_at = clock.add(since, self.target.duration() - used);
            self.warn_at = clock.add(since, self.target.warning() - used);
        }
    }

    /// Stops the clock, banking the time this run used. Stopped at or after
    /// its due instant, the clock is breached as of that instant (unless a
    /// breach is already recorded), whether or not a sweep saw it first.
    pub fn pause(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) {
        if let Some(since) = self.since.take() {
            if self.breached_at.is_none() && self.due_at <= at {
                self.breached_at = Some(self.due_at);
            }
            self.used_micros += self
                .target
                .clock(calendar)
                .between(since, at)
                .num_microseconds()
                .unwrap_or(i64::MAX);
        }
    }

    /// Starts a new run (a paused clock that was not met).
    pub fn resume(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) {
        if self.since.is_none() && self.met_at.is_none() {
            self.since = Some(at);
            self.plan(calendar);
        }
    }

    /// Stops the clock for good: the target is met (late, if it breached).
    pub fn meet(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) {
        self.pause(at, calendar);
        self.met_at = Some(at);
    }

    /// Runs a met clock again (a reopened item), with the time it had left.
    pub fn reopen(&mut self, at: DateTime<Utc>, calendar: &BusinessCalendar) {
        self.met_at = None;
        self.resume(at, calendar);
    }

    /// Moves the clock to another target (a severity change).
    pub fn retarget(&mut self, target: Target, calendar: &BusinessCalendar) {
        self.target = target;
        self.plan(calendar);
    }

    /// Whether, at `now`, a warning and a breach are due and not yet recorded.
    pub fn marks_due(&self, now: DateTime<Utc>) -> (bool, bool) {
        if self.since.is_none() || self.breached_at.is_some() {
            return (false, false);
        }
        let breach = self.due_at <= now;
        let warn = self.warned_at.is_none() && (self.warn_at <= now || breach);
        (warn, breach)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::feedback::FeedbackStatus::*;

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
