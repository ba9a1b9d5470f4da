//! The needs register's rules: the quadrant urgency × importance make, the
//! status moves, and when an open need is unmet.
//!
//! Quadrant (urgency across, importance down):
//!
//! | importance \ urgency | high     | medium   | low   |
//! |----------------------|----------|----------|-------|
//! | high                 | do_now   | do_now   | plan  |
//! | medium               | do_now   | plan     | plan  |
//! | low                  | delegate | delegate | later |
//!
//! That is: an important need (importance high or medium) is *do now* when
//! urgency and importance together are at least high + medium, else *plan*;
//! an unimportant one is *delegate* when it is at all urgent, else *later*.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::contract::needs::{NeedLevel, NeedSettings, NeedStatus, Quadrant};

fn weight(level: NeedLevel) -> u8 {
    match level {
        NeedLevel::High => 3,
        NeedLevel::Medium => 2,
        NeedLevel::Low => 1,
    }
}

/// The quadrant of a need (the table above).
pub fn quadrant(urgency: NeedLevel, importance: NeedLevel) -> Quadrant {
    match (importance, weight(urgency) + weight(importance)) {
        (NeedLevel::High | NeedLevel::Medium, 5..) => Quadrant::DoNow,
        (NeedLevel::High | NeedLevel::Medium, _) => Quadrant::Plan,
        (NeedLevel::Low, _) if urgency != NeedLevel::Low => Quadrant::Delegate,
        (NeedLevel::Low, _) => Quadrant::Later,
    }
}

/// The statuses a need may move to from `from`. `proposed` may go back to
/// `in_progress` (the customer wants another solution); `delivered`,
/// `declined` and `withdrawn` are final.
pub fn allowed_moves(from: NeedStatus) -> &'static [NeedStatus] {
    use NeedStatus::*;
    match from {
        Open => &[InProgress, Proposed, Declined, Withdrawn],
        InProgress => &[Proposed, Declined, Withdrawn],
        Proposed => &[Confirmed, InProgress, Declined, Withdrawn],
        Confirmed => &[Delivered, Withdrawn],
        Delivered | Declined | Withdrawn => &[],
    }
}

/// The statuses of a need still to be met (everything but the final ones).
pub const OPEN: &[NeedStatus] = &[
    NeedStatus::Open,
    NeedStatus::InProgress,
    NeedStatus::Proposed,
    NeedStatus::Confirmed,
];

/// The open statuses as an SQL list of literals (`'open', …`).
pub fn open_sql_list() -> String {
    OPEN.iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a need in this status is still to be met.
pub fn is_open(status: NeedStatus) -> bool {
    OPEN.contains(&status)
}

/// How long a need of `q` may stay open, in days (`None`: no limit).
pub fn limit_days(s: &NeedSettings, q: Quadrant) -> Option<u32> {
    match q {
        Quadrant::DoNow => s.do_now_days,
        Quadrant::Plan => s.plan_days,
        Quadrant::Delegate => s.delegate_days,
        Quadrant::Later => s.later_days,
    }
}

/// When an open need becomes unmet: the start (UTC) of the day after its
/// due date, or its creation plus its quadrant's limit, whichever is first.
/// `None`: never, as things stand.
pub fn unmet_from(
    s: &NeedSettings,
    q: Quadrant,
    created_at: DateTime<Utc>,
    due_on: Option<NaiveDate>,
) -> Option<DateTime<Utc>> {
    let by_due = due_on
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    let by_age = limit_days(s, q).map(|days| created_at + Duration::days(i64::from(days)));
    match (by_due, by_age) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NeedLevel::*;

    #[test]
    fn all_nine_pairs_fall_in_the_documented_quadrant() {
        let table = [
            (High, High, Quadrant::DoNow),
            (Medium, High, Quadrant::DoNow),
            (Low, High, Quadrant::Plan),
            (High, Medium, Quadrant::DoNow),
            (Medium, Medium, Quadrant::Plan),
            (Low, Medium, Quadrant::Plan),
            (High, Low, Quadrant::Delegate),
            (Medium, Low, Quadrant::Delegate),
            (Low, Low, Quadrant::Later),
        ];
        for (urgency, importance, expected) in table {
            assert_eq!(quadrant(urgency, importance), expected, "{urgency:?} × {importance:?}");
        }
    }

    #[test]
    fn final_statuses_go_nowhere_and_open_ones_may_close() {
        for s in NeedStatus::ALL {
            let moves = allowed_moves(*s);
            assert_eq!(moves.is_empty(), !is_open(*s), "{s:?}");
            if is_open(*s) {
                assert!(moves.contains(&NeedStatus::Withdrawn));
            }
            assert!(!moves.contains(s));
        }
    }

    #[test]
    fn unmet_comes_with_the_due_date_or_the_quadrants_limit() {
        let s = NeedSettings::default();
        let created = DateTime::parse_from_rfc3339("2027-03-01T10:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        assert_eq!(
            unmet_from(&s, Quadrant::DoNow, created, None),
            Some(created + Duration::days(14))
        );
        assert_eq!(unmet_from(&s, Quadrant::Later, created, None), None);
        let due = NaiveDate::from_ymd_opt(2027, 3, 5);
        assert_eq!(
            unmet_from(&s, Quadrant::Later, created, due).map(|t| t.to_rfc3339()),
            Some("2027-03-06T00:00:00+00:00".into())
        );
        let late_due = NaiveDate::from_ymd_opt(2027, 12, 31);
        assert_eq!(
            unmet_from(&s, Quadrant::Plan, created, late_due),
            Some(created + Duration::days(60))
        );
    }
}
