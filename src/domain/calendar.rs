//! Business time: working-hour blocks per weekday in a time zone, minus
//! holidays. SLA clocks either run on the wall clock ([`Clock::Calendar`]) or
//! only inside these blocks ([`Clock::Business`]).
//!
//! Block boundaries are local times, turned into instants per date with the
//! zone's rules, so a DST change shortens or lengthens nothing but the hour
//! that really moved: a block boundary that falls into a spring-forward gap
//! starts when the clocks land, one that is ambiguous (autumn) takes the
//! earlier instant.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How far ahead a due time is searched before giving up (ten years).
const HORIZON_DAYS: i64 = 3_660;

/// One working-hour block of a day, local time, `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Working hours and holidays.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessCalendar {
    pub time_zone: Tz,
    /// Blocks per weekday, Monday first; an empty day is not a working day.
    pub week: [Vec<Block>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for BusinessCalendar {
    /// Monday to Friday, 09:00–17:00 UTC, no holidays.
    fn default() -> Self {
        let day = vec![Block {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
        }];
        Self {
            time_zone: Tz::UTC,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays: BTreeSet::new(),
        }
    }
}

impl BusinessCalendar {
    /// Checks the blocks of each day: each non-empty, ordered, not
    /// overlapping; at least one working day.
    ///
    /// # Errors
    /// A message naming the first problem, with the weekday index.
    pub fn validate(&self) -> Result<(), (usize, String)> {
        for (i, blocks) in self.week.iter().enumerate() {
            for (j, b) in blocks.iter().enumerate() {
                if b.start >= b.end {
                    return Err((i, format!("block {j} must end after it starts")));
                }
                if j > 0 && blocks[j - 1].end > b.start {
                    return Err((i, format!("block {j} overlaps or precedes the block before it")));
                }
            }
        }
        if self.week.iter().all(Vec::is_empty) {
            return Err((0, "at least one day must have working hours".into()));
        }
        Ok(())
    }

    /// The working minutes of a standard working day: the first weekday
    /// with hours. "N business days" means N times this much business time.
    pub fn day_minutes(&self) -> i64 {
        self.week
            .iter()
            .find(|d| !d.is_empty())
            .map(|d| d.iter().map(|b| (b.end - b.start).num_minutes()).sum())
            .unwrap_or(0)
    }

    /// The working intervals of one local date, as UTC instants.
    fn intervals(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = &self.week[date.weekday().num_days_from_monday() as usize];
        day.iter()
            .map(|b| (self.instant(date.and_time(b.start)), self.instant(date.and_time(b.end))))
            .filter(|(s, e)| s < e)
            .collect()
    }

    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        instant(self.time_zone, local)
    }

    /// The calendar's date at an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.time_zone).date_naive()
    }

    /// Whether a local date has working hours (a weekday with blocks, not a
    /// holiday).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.intervals(date).is_empty()
    }

    /// The end of the first working day whose hours have not all passed at
    /// `at`: a task created then is due by the end of that working day.
    pub fn working_day_end(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = self.local_date(at);
        for _ in 0..HORIZON_DAYS {
            if let Some(&(_, end)) = self.intervals(date).last()
                && end > at
            {
                return end;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        at + Duration::days(1)
    }
}

/// A local wall-clock time in `zone` as an instant: the earlier one when
/// the time happens twice, the moment the clocks land when it never happens.
pub fn instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..=24 * 60 {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.to_utc(),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

impl BusinessCalendar {
    /// The instant `amount` of business time after `from`.
    pub fn add(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        if amount <= Duration::zero() {
            return from;
        }
        let mut left = amount;
        let mut date = self.local_date(from);
        for _ in 0..HORIZON_DAYS {
            for (start, end) in self.intervals(date) {
                if end <= from {
                    continue;
                }
                let begin = start.max(from);
                let available = end - begin;
                if left <= available {
                    return begin + left;
                }
                left -= available;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        // A calendar whose holidays swallow ten years: fall back to wall time.
        from + amount
    }

    /// Business time between two instants (zero when `to <= from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        let last = self.local_date(to);
        let mut date = self.local_date(from);
        while date <= last {
            for (start, end) in self.intervals(date) {
                let (s, e) = (start.max(from), end.min(to));
                if s < e {
                    total += e - s;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }
}

/// How an SLA target counts time.
#[derive(Clone, Copy, Debug)]
pub enum Clock<'a> {
    /// Every minute counts.
    Calendar,
    /// Only working hours count.
    Business(&'a BusinessCalendar),
}

impl Clock<'_> {
    /// The instant `amount` of this clock's time after `from` (`from`
    /// itself when nothing is left).
    pub fn add(self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        match self {
            Self::Calendar => from + amount.max(Duration::zero()),
            Self::Business(cal) => cal.add(from, amount),
        }
    }

    /// This clock's time between two instants.
    pub fn between(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        match self {
            Self::Calendar => (to - from).max(Duration::zero()),
            Self::Business(cal) => cal.between(from, to),
        }
    }

    /// Moves a due time after a pause from `paused` to `resumed`: the time
    /// that was left at the pause is counted again from the resume. A due
    /// time already passed at the pause stays where it was.
    pub fn resume(self, due: DateTime<Utc>, paused: DateTime<Utc>, resumed: DateTime<Utc>) -> DateTime<Utc> {
        if due <= paused {
            return due;
        }
        self.add(resumed, self.between(paused, due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    /// Mon–Fri 09:00–12:00 and 13:30–18:00 in the given zone.
    fn office(zone: Tz) -> BusinessCalendar {
        let day = vec![
            Block {
                start: hm(9, 0),
                end: hm(12, 0),
            },
            Block {
                start: hm(13, 30),
                end: hm(18, 0),
            },
        ];
        BusinessCalendar {
            time_zone: zone,
            week: std::array::from_fn(|i| if i < 5 { day.clone() } else { Vec::new() }),
            holidays: BTreeSet::new(),
        }
    }

    /// A local time in the calendar's zone as UTC.
    fn at(cal: &BusinessCalendar, s: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default();
        cal.instant(local)
    }

    fn local(cal: &BusinessCalendar, t: DateTime<Utc>) -> String {
        t.with_timezone(&cal.time_zone).format("%Y-%m-%d %H:%M %Z").to_string()
    }

    #[test]
    fn adding_business_time_lands_at_the_right_local_minute() {
        let shanghai = office(chrono_tz::Asia::Shanghai);
        let mut with_holiday = office(chrono_tz::Asia::Shanghai);
        with_holiday
            .holidays
            .insert(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default());
        let new_york = office(chrono_tz::America::New_York);
        // (calendar, start local, business minutes, expected local)
        let cases: [(&BusinessCalendar, &str, i64, &str); 10] = [
            // Friday 17:30 + 2 h: 30 min on Friday, 90 min on Monday morning.
            (&shanghai, "2026-11-20 17:30", 120, "2026-11-23 10:30 CST"),
            // The same with Monday a holiday: Tuesday.
            (&with_holiday, "2026-11-20 17:30", 120, "2026-11-24 10:30 CST"),
            // Lunch break: 11:00 + 2 h skips 12:00–13:30.
            (&shanghai, "2026-11-18 11:00", 120, "2026-11-18 14:30 CST"),
            // Exactly to the end of the morning block stays there.
            (&shanghai, "2026-11-18 11:00", 60, "2026-11-18 12:00 CST"),
            // Created on Sunday: the clock starts Monday 09:00.
            (&shanghai, "2026-11-22 15:00", 60, "2026-11-23 10:00 CST"),
            // Created at night: next morning.
            (&shanghai, "2026-11-18 22:00", 30, "2026-11-19 09:30 CST"),
            // Zero time from outside hours is the moment it is asked.
            (&shanghai, "2026-11-18 22:00", 0, "2026-11-18 22:00 CST"),
            // Three business days of 7.5 h from Friday 10:00: Wednesday 10:00.
            (&shanghai, "2026-11-20 10:00", 3 * 450, "2026-11-25 10:00 CST"),
            // New York spring forward (Sunday 2026-03-08): Friday 17:00 + 2 h
            // lands on Monday 10:00 local, in daylight time.
            (&new_york, "2026-03-06 17:00", 120, "2026-03-09 10:00 EDT"),
            // Autumn back (2026-11-01): Friday 17:30 + 1 h.
            (&new_york, "2026-10-30 17:30", 60, "2026-11-02 09:30 EST"),
        ];
        for (cal, start, minutes, expected) in cases {
            let due = cal.add(at(cal, start), Duration::minutes(minutes));
            assert_eq!(local(cal, due), expected, "{start} + {minutes} min");
            // And back: the business time between the two is what was added.
            assert_eq!(
                cal.between(at(cal, start), due),
                Duration::minutes(minutes),
                "{start} .. {expected}"
            );
        }
    }

    #[test]
    fn a_block_inside_the_spring_forward_gap_starts_when_the_clocks_land() {
        // A night shift 01:30–04:00 on the day New York skips 02:00–03:00
        // lasts 1.5 h, not 2.5 h.
        let mut cal = office(chrono_tz::America::New_York);
        cal.week[6] = vec![Block {
            start: hm(2, 30),
            end: hm(4, 0),
        }];
        let sunday = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default();
        let blocks = cal.intervals(sunday);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].1 - blocks[0].0, Duration::minutes(60));
        assert_eq!(local(&cal, blocks[0].0), "2026-03-08 03:00 EDT");
    }

    #[test]
    fn a_pause_over_the_weekend_adds_no_business_time() {
        let cal = office(chrono_tz::Asia::Shanghai);
        let clock = Clock::Business(&cal);
        let created = at(&cal, "2026-11-20 09:00");
        let due = clock.add(created, Duration::hours(9));
        assert_eq!(local(&cal, due), "2026-11-23 10:30 CST");
        // Paused Friday 16:00 with 5.5 h used, resumed Monday 09:00: the
        // 3.5 h left run from there, over the lunch break.
        let paused = at(&cal, "2026-11-20 16:00");
        let resumed = at(&cal, "2026-11-23 09:00");
        assert_eq!(local(&cal, clock.resume(due, paused, resumed)), "2026-11-23 14:00 CST");
        // Paused and resumed within the weekend: nothing moves.
        let sat = at(&cal, "2026-11-21 10:00");
        let sun = at(&cal, "2026-11-22 10:00");
        assert_eq!(clock.resume(due, sat, sun), due);
        // On the wall clock a weekend pause pushes the due time by the whole pause.
        let wall = Clock::Calendar;
        let due = wall.add(created, Duration::hours(24));
        assert_eq!(wall.resume(due, paused, resumed) - due, resumed - paused);
        // A due time that had passed before the pause stays passed.
        assert_eq!(wall.resume(created, paused, resumed), created);
    }

    #[test]
    fn bad_blocks_and_an_empty_week_are_refused() {
        let mut cal = office(Tz::UTC);
        cal.week[2] = vec![
            Block {
                start: hm(9, 0),
                end: hm(12, 0),
            },
            Block {
                start: hm(11, 0),
                end: hm(13, 0),
            },
        ];
        assert_eq!(cal.validate().map_err(|e| e.0), Err(2));
        cal.week[2] = vec![Block {
            start: hm(12, 0),
            end: hm(9, 0),
        }];
        assert!(cal.validate().is_err());
        let empty = BusinessCalendar {
            week: Default::default(),
            ..office(Tz::UTC)
        };
        assert!(empty.validate().is_err());
        assert_eq!(office(Tz::UTC).day_minutes(), 450);
        assert!(BusinessCalendar::default().validate().is_ok());
    }
}
