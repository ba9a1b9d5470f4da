//! How long each severity may take: the SLA table, targets and the clocks that run against them.

use chrono::{DateTime, Duration, Utc};

use crate::contract::feedback::{FeedbackKind, Severity};
use crate::contract::settings::TargetUnit;
use crate::domain::calendar::{BusinessCalendar, Clock};

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
