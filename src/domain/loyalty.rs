//! Loyalty rules without I/O: how many points an amount earns, when a lot
//! expires, how much of an order's earn a refund takes back, and which lots
//! a debit draws on.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::contract::loyalty::{ExpiryAt, Rounding};

/// The JSON Schema pattern of a reason code.
pub const CODE_PATTERN: &str = "^[A-Za-z0-9_.:-]+$";

/// A reason code: 1–64 letters, digits and `_ . : -`.
pub fn reason_code(value: String) -> Result<String, String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(value)
    } else {
        Err("must be 1 to 64 letters, digits and _ . : -".into())
    }
}

/// The program's rules as the ledger applies them.
#[derive(Clone, Debug)]
pub struct Rules {
    pub enabled: bool,
    /// Points per whole currency unit, by ISO 4217 code.
    pub rates: Vec<(String, f64)>,
    pub rounding: Rounding,
    pub min_redemption: i64,
    pub expiry_months: u32,
    pub expiry_at: ExpiryAt,
    pub time_zone: Tz,
    pub pending_days: i64,
    pub debt_limit: i64,
    pub restore_grace_days: i64,
    /// Minutes a checkout's hold lasts unless it asks for its own.
    pub hold_minutes: u32,
}

/// Minor units per whole unit of a currency (ISO 4217 exponent): most have
/// two decimals, these none or three.
pub fn minor_per_unit(currency: &str) -> f64 {
    const ZERO: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        1.0
    } else if THREE.contains(&currency) {
        1000.0
    } else {
        100.0
    }
}

/// Rounds a fractional number of points by the program's rule. Products such
/// as 10.00 × 0.1 land a hair above or below the whole number they mean, so
/// the value is first snapped to six decimals.
pub fn round(value: f64, rounding: Rounding) -> i64 {
    let snapped = (value * 1e6).round() / 1e6;
    let whole = match rounding {
        Rounding::Down => snapped.floor(),
        Rounding::Nearest => snapped.round(),
        Rounding::Up => snapped.ceil(),
    };
    // Amounts are capped at 10^12 minor units and rates at 1,000, so this
    // stays far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let points = whole as i64;
    points
}

impl Rules {
    /// The points an eligible amount earns at a tier's multiplier; `None`
    /// when the currency has no rate.
    pub fn points_for(&self, eligible_minor: i64, currency: &str, multiplier: f64) -> Option<i64> {
        let rate = self.rates.iter().find(|(c, _)| c == currency)?.1;
        #[allow(clippy::cast_precision_loss)]
        let units = eligible_minor as f64 / minor_per_unit(currency);
        Some(round(units * rate * multiplier, self.rounding).max(0))
    }

    /// When points earned at `earned` expire: `expiry_months` later, at the
    /// end of that day (or month) in the program's time zone — that is, at
    /// the first instant of the next local day (or month). Points are
    /// spendable while `now < expires_at`.
    pub fn expires_at(&self, earned: DateTime<Utc>) -> DateTime<Utc> {
        let local = earned.with_timezone(&self.time_zone).date_naive();
        let due = local
            .checked_add_months(Months::new(self.expiry_months))
            .unwrap_or(NaiveDate::MAX);
        let next = match self.expiry_at {
            ExpiryAt::EndOfDay => due.succ_opt(),
            ExpiryAt::EndOfMonth => due
                .with_day(1)
                .and_then(|first| first.checked_add_months(Months::new(1))),
        }
        .unwrap_or(NaiveDate::MAX);
        start_of_day(self.time_zone, next)
    }

    /// When points credited at `at` become spendable.
    pub fn available_at(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + Duration::days(self.pending_days)
    }

    /// The expiry of a restored lot whose own expiry has passed.
    pub fn restored_expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = (now + Duration::days(self.restore_grace_days))
            .with_timezone(&self.time_zone)
            .date_naive();
        start_of_day(self.time_zone, local.succ_opt().unwrap_or(NaiveDate::MAX))
    }
}

/// The first instant of a local day. Where a DST change skips midnight
/// (Santiago, Beirut), the day starts at the first hour that exists.
fn start_of_day(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..=3)
        .find_map(|h| {
            zone.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How much a refund takes back of an order's earn: in proportion to the
/// refunded part of the eligible amount, rounded by the program rule, never
/// more than was earned. `refunded_minor` is the order's total refunded so
/// far; the caller subtracts what earlier refunds already took.
pub fn reversal_total(earned: i64, eligible_minor: i64, refunded_minor: i64, rounding: Rounding) -> i64 {
    if eligible_minor <= 0 || earned <= 0 {
        return 0;
    }
    if refunded_minor >= eligible_minor {
        return earned;
    }
    #[allow(clippy::cast_precision_loss)]
    let share = earned as f64 * refunded_minor.max(0) as f64 / eligible_minor as f64;
    round(share, rounding).clamp(0, earned)
}

/// A lot as a debit sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LotLeft {
    pub id: uuid::Uuid,
    pub remaining: i64,
}

/// Takes `points` from lots in the order given (oldest expiry first), as far
/// as they go. Returns what each lot gives and the part no lot covered.
pub fn draw(lots: &[LotLeft], points: i64) -> (Vec<(uuid::Uuid, i64)>, i64) {
    let mut left = points;
    let mut taken = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        if take > 0 {
            taken.push((lot.id, take));
            left -= take;
        }
    }
    (taken, left)
}

/// The first instant of the month of `at`, in a time zone (liability and
/// breakage are reported by local month).
pub fn month_of(zone: Tz, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&zone);
    format!("{:04}-{:02}", local.year(), local.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(zone: Tz) -> Rules {
        Rules {
            enabled: true,
            rates: vec![("EUR".into(), 1.0), ("JPY".into(), 0.01)],
            rounding: Rounding::Down,
            min_redemption: 1,
            expiry_months: 12,
            expiry_at: ExpiryAt::EndOfDay,
            time_zone: zone,
            pending_days: 0,
            debt_limit: 1000,
            restore_grace_days: 30,
            hold_minutes: 15,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn points_follow_the_currency_exponent_and_rounding() {
        let r = rules(Tz::UTC);
        assert_eq!(r.points_for(1999, "EUR", 1.0), Some(19));
        assert_eq!(r.points_for(1999, "EUR", 1.5), Some(29));
        assert_eq!(r.points_for(10_000, "JPY", 1.0), Some(100));
        assert_eq!(r.points_for(100, "USD", 1.0), None);
        let up = Rules {
            rounding: Rounding::Up,
            rates: vec![("EUR".into(), 0.1)],
            ..r.clone()
        };
        // 10.00 × 0.1 is 1.0000000000000002 in floating point: still 1.
        assert_eq!(up.points_for(1000, "EUR", 1.0), Some(1));
        assert_eq!(up.points_for(1001, "EUR", 1.0), Some(2));
        let nearest = Rules {
            rounding: Rounding::Nearest,
            ..r
        };
        assert_eq!(nearest.points_for(1950, "EUR", 1.0), Some(20));
        assert_eq!(nearest.points_for(1949, "EUR", 1.0), Some(19));
    }

    #[test]
    fn expiry_is_the_end_of_the_local_day_a_year_on() {
        let paris = rules(chrono_tz::Europe::Paris);
        // Earned 2026-03-10 10:00 UTC: expires when 2027-03-11 starts in Paris
        // (UTC+1 in winter), 23:00 UTC on the 10th.
        let expires = paris.expires_at(utc("2026-03-10T10:00:00Z"));
        assert_eq!(expires, utc("2027-03-10T23:00:00Z"));
        // 23:59:59 local on the day is still before it; 00:00 the next day is not.
        assert!(utc("2027-03-10T22:59:59Z") < expires);
        assert!(utc("2027-03-10T23:00:00Z") >= expires);
        // Earned late in the evening UTC, already the next day in Shanghai.
        let shanghai = rules(chrono_tz::Asia::Shanghai);
        assert_eq!(
            shanghai.expires_at(utc("2026-05-31T20:00:00Z")),
            utc("2027-06-01T16:00:00Z")
        );
    }

    #[test]
    fn expiry_across_a_dst_change_keeps_local_midnight() {
        let ny = rules(chrono_tz::America::New_York);
        // Earned in summer time (UTC−4, from 8 March 2026); the expiry day
        // falls before summer time starts in 2027 (14 March), at UTC−5.
        assert_eq!(ny.expires_at(utc("2026-03-10T12:00:00Z")), utc("2027-03-11T05:00:00Z"));
        assert_eq!(ny.expires_at(utc("2026-03-20T12:00:00Z")), utc("2027-03-21T04:00:00Z"));
        // Santiago skips midnight when summer time starts (first Sunday of
        // September): the day begins at 01:00.
        let santiago = rules(chrono_tz::America::Santiago);
        let start = super::start_of_day(
            chrono_tz::America::Santiago,
            NaiveDate::from_ymd_opt(2026, 9, 6).unwrap_or_default(),
        );
        assert_eq!(start, utc("2026-09-06T04:00:00Z"));
        assert!(santiago.expires_at(utc("2025-09-05T12:00:00Z")) > utc("2026-09-05T12:00:00Z"));
    }

    #[test]
    fn end_of_month_expiry_starts_the_next_month() {
        let r = Rules {
            expiry_at: ExpiryAt::EndOfMonth,
            ..rules(Tz::UTC)
        };
        assert_eq!(r.expires_at(utc("2026-01-31T10:00:00Z")), utc("2027-02-01T00:00:00Z"));
        assert_eq!(r.expires_at(utc("2026-02-01T00:00:00Z")), utc("2027-03-01T00:00:00Z"));
    }

    #[test]
    fn reversals_are_proportional_and_never_exceed_the_earn() {
        assert_eq!(reversal_total(100, 10_000, 2_500, Rounding::Down), 25);
        assert_eq!(reversal_total(33, 10_000, 5_000, Rounding::Down), 16);
        assert_eq!(reversal_total(33, 10_000, 5_000, Rounding::Up), 17);
        assert_eq!(reversal_total(100, 10_000, 10_000, Rounding::Down), 100);
        assert_eq!(reversal_total(100, 10_000, 12_000, Rounding::Down), 100);
        assert_eq!(reversal_total(0, 10_000, 5_000, Rounding::Down), 0);
    }

    #[test]
    fn a_draw_takes_lots_in_order_as_far_as_they_go() {
        let a = uuid::Uuid::from_u128(1);
        let b = uuid::Uuid::from_u128(2);
        let lots = [LotLeft { id: a, remaining: 30 }, LotLeft { id: b, remaining: 50 }];
        assert_eq!(draw(&lots, 40), (vec![(a, 30), (b, 10)], 0));
        assert_eq!(draw(&lots, 100), (vec![(a, 30), (b, 50)], 20));
        assert_eq!(draw(&lots, 0), (vec![], 0));
    }
}
