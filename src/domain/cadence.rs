//! Contact cadence and care moments as dates.
//!
//! A customer is *overdue* when more whole days than its cadence have passed
//! since its last contact (or, never contacted, since it was created). A
//! care moment — a birthday, or a relationship anniversary from the first
//! year on — falls on the customer's **local date**: in its own time zone
//! when known, else in the business calendar's. A 29 February birthday
//! falls on 28 February in years without one. A moment is due for a task
//! from `lead_days` before it until the day itself, so a job that missed a
//! day still creates it; the task's key (kind, customer, year) makes it
//! once per year.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::calendar::instant;

/// A yearly moment worth a care task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Birthday,
    /// The relationship's anniversary, with its number of years.
    Anniversary(i32),
}

impl Moment {
    /// The moment's name in task keys.
    pub const fn key(self) -> &'static str {
        match self {
            Self::Birthday => "birthday",
            Self::Anniversary(_) => "anniversary",
        }
    }
}

/// The date a yearly date (`month`, `day`) falls on in `year`: 29 February
/// falls on 28 February in a year without one.
pub fn in_year(origin: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, origin.month(), origin.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, origin.month(), origin.day() - 1))
}

/// The first day on or after `today` the yearly date `origin` falls on,
/// `after` years from `origin` at least.
fn next_on_or_after(origin: NaiveDate, today: NaiveDate, after: i32) -> Option<NaiveDate> {
    let first = today.year().max(origin.year() + after);
    (first..=first + 1)
        .filter_map(|y| in_year(origin, y))
        .find(|d| *d >= today)
}

/// The moments falling from `today` to `today + lead_days`, each with its date.
pub fn due_moments(
    birthday: Option<NaiveDate>,
    relationship_start: Option<NaiveDate>,
    today: NaiveDate,
    lead_days: u32,
) -> Vec<(Moment, NaiveDate)> {
    let last = today + Duration::days(i64::from(lead_days));
    let mut out = Vec::new();
    if let Some(d) = birthday.and_then(|b| next_on_or_after(b, today, 0))
        && d <= last
    {
        out.push((Moment::Birthday, d));
    }
    if let Some(start) = relationship_start
        && let Some(d) = next_on_or_after(start, today, 1)
        && d <= last
    {
        out.push((Moment::Anniversary(d.year() - start.year()), d));
    }
    out
}

/// A local date in `zone` at an instant.
pub fn local_date(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The end of a local date in `zone` (the start of the next), as an
/// instant: a care task is due by then. A day whose midnight is skipped by
/// a clock change ends when the clocks land.
pub fn end_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    instant(zone, next.and_time(chrono::NaiveTime::MIN))
}

/// The calendar quarter of a date, as in task keys: `2027Q1`.
pub fn quarter(date: NaiveDate) -> String {
    format!("{}Q{}", date.year(), date.month0() / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn a_29_february_birthday_falls_on_28_february_in_other_years() {
        let b = d(2000, 2, 29);
        assert_eq!(in_year(b, 2027), Some(d(2027, 2, 28)));
        assert_eq!(in_year(b, 2028), Some(d(2028, 2, 29)));
        assert_eq!(
            due_moments(Some(b), None, d(2027, 2, 21), 7),
            vec![(Moment::Birthday, d(2027, 2, 28))]
        );
        assert_eq!(
            due_moments(Some(b), None, d(2028, 2, 22), 7),
            vec![(Moment::Birthday, d(2028, 2, 29))]
        );
        // 2028: not yet on the 21st (eight days ahead).
        assert!(due_moments(Some(b), None, d(2028, 2, 21), 7).is_empty());
    }

    #[test]
    fn moments_are_due_from_lead_days_ahead_until_the_day() {
        let b = d(1990, 3, 10);
        assert!(due_moments(Some(b), None, d(2027, 3, 2), 7).is_empty());
        for day in 3..=10 {
            assert_eq!(
                due_moments(Some(b), None, d(2027, 3, day), 7),
                vec![(Moment::Birthday, d(2027, 3, 10))]
            );
        }
        assert!(due_moments(Some(b), None, d(2027, 3, 11), 7).is_empty());
    }

    #[test]
    fn a_moment_at_the_turn_of_the_year_is_found_in_the_next_year() {
        assert_eq!(
            due_moments(Some(d(1980, 1, 2)), None, d(2026, 12, 28), 7),
            vec![(Moment::Birthday, d(2027, 1, 2))]
        );
    }

    #[test]
    fn anniversaries_count_years_and_start_after_the_first_year() {
        let start = d(2024, 5, 1);
        assert!(due_moments(None, Some(start), d(2024, 4, 28), 7).is_empty());
        assert_eq!(
            due_moments(None, Some(start), d(2026, 4, 28), 7),
            vec![(Moment::Anniversary(2), d(2026, 5, 1))]
        );
        assert_eq!(due_moments(None, Some(d(2025, 12, 1)), d(2025, 11, 28), 7), vec![]);
    }

    #[test]
    fn local_dates_differ_across_the_date_line() {
        let at = DateTime::parse_from_rfc3339("2027-03-02T12:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or_default();
        assert_eq!(local_date(at, chrono_tz::Pacific::Tongatapu), d(2027, 3, 3));
        assert_eq!(local_date(at, chrono_tz::Pacific::Honolulu), d(2027, 3, 2));
    }

    #[test]
    fn a_day_ends_at_the_next_local_midnight_across_clock_changes() {
        let ny = chrono_tz::America::New_York;
        // 14 March 2027 is 23 hours long in New York.
        let start = end_of_day(d(2027, 3, 13), ny);
        let end = end_of_day(d(2027, 3, 14), ny);
        assert_eq!((end - start).num_hours(), 23);
        // Santiago skips midnight when its clocks go forward (5 September 2027).
        let santiago = chrono_tz::America::Santiago;
        let landed = end_of_day(d(2027, 9, 4), santiago);
        assert_eq!(landed.with_timezone(&santiago).date_naive(), d(2027, 9, 5));
    }

    #[test]
    fn quarters_are_named_by_year_and_number() {
        assert_eq!(quarter(d(2027, 1, 1)), "2027Q1");
        assert_eq!(quarter(d(2027, 6, 30)), "2027Q2");
        assert_eq!(quarter(d(2027, 12, 31)), "2027Q4");
    }
}
