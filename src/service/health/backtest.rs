//! The back-test: replays the stored factor history month by month — each
//! live customer's last stored score in the month, its factor values
//! levelled again with the settings in force and with proposed ones — and
//! counts who churned within 90 days after it, so that weights are tuned on
//! evidence. One statement per month and batch reads the snapshot with its
//! outcome; the levelling is the scoring rules' own (`domain::health::combine`).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::DbBackend;
use uuid::Uuid;

use super::settings::proposal;
use crate::auth::Actor;
use crate::contract::customers::LifecycleStage;
use crate::contract::health::{
    BacktestLevel, BacktestMonth, BacktestSummary, HealthBacktest, HealthBacktestInput, HealthFactor, HealthLevel,
};
use crate::domain::Checker;
use crate::domain::health::{Cutoffs, Weights, combine};
use crate::error::AppResult;
use crate::service::window::Sql;
use crate::service::{Store, now};

/// Days after a score within which a churn counts.
const WINDOW_DAYS: i64 = 90;
/// Snapshot rows read at a time.
const BATCH: u32 = 5_000;

/// Per level: customers and churned, for one month and one set of settings.
#[derive(Default)]
struct Tally([(i64, i64); 5]);

impl Tally {
    fn add(&mut self, level: HealthLevel, churned: bool) {
        let i = HealthLevel::ALL.iter().position(|l| *l == level).unwrap_or(0);
        self.0[i].0 += 1;
        self.0[i].1 += i64::from(churned);
    }

    fn levels(&self) -> Vec<BacktestLevel> {
        HealthLevel::ALL
            .iter()
            .zip(self.0)
            .map(|(&level, (customers, churned))| BacktestLevel {
                level,
                customers,
                churned,
            })
            .collect()
    }
}

fn summary(months: &[Tally]) -> BacktestSummary {
    let (mut customers, mut churned, mut flagged, mut flagged_churned) = (0, 0, 0, 0);
    for t in months {
        for (&level, (n, c)) in HealthLevel::ALL.iter().zip(t.0) {
            customers += n;
            churned += c;
            if matches!(level, HealthLevel::AtRisk | HealthLevel::Critical) {
                flagged += n;
                flagged_churned += c;
            }
        }
    }
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let precision = ratio(flagged_churned, flagged);
    let base = ratio(churned, customers).filter(|b| *b > 0.0);
    BacktestSummary {
        customers,
        churned,
        flagged,
        flagged_churned,
        precision: precision.map(round),
        recall: ratio(flagged_churned, churned).map(round),
        lift: precision.zip(base).map(|(p, b)| round(p / b)),
    }
}

/// The factor values stored with a score.
fn stored_values(factors: &serde_json::Value) -> Vec<(HealthFactor, Option<f64>)> {
    factors
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["factor"].as_str()?;
            let factor = HealthFactor::ALL.iter().copied().find(|f| f.as_str() == name)?;
            Some((factor, p["value"].as_f64()))
        })
        .collect()
}

/// The statement reading one month's snapshot with its outcome, a batch
/// after `$3` at a time.
fn snapshot_sql(backend: DbBackend) -> String {
    let churned = LifecycleStage::Churned.as_str();
    let within = match backend {
        DbBackend::Postgres => {
            format!("s.changed_at > h.computed_at AND s.changed_at <= h.computed_at + INTERVAL '{WINDOW_DAYS} days'")
        }
        _ => format!(
            "julianday(s.changed_at) > julianday(h.computed_at) \
             AND julianday(s.changed_at) <= julianday(h.computed_at) + {WINDOW_DAYS}"
        ),
    };
    format!(
        "WITH cur AS (SELECT sc.customer_id, MAX(sc.computed_at) AS at FROM health_score sc
             JOIN customer live ON live.id = sc.customer_id AND live.deleted_at IS NULL
             WHERE sc.computed_at >= $1 AND sc.computed_at < $2 AND sc.customer_id > $3
             GROUP BY sc.customer_id)
         SELECT h.customer_id, h.factors,
             CASE WHEN EXISTS (SELECT 1 FROM customer_stage_change s
                 WHERE s.customer_id = h.customer_id AND s.to_stage = '{churned}' AND {within})
             THEN 1 ELSE 0 END
         FROM cur JOIN health_score h ON h.customer_id = cur.customer_id AND h.computed_at = cur.at
         ORDER BY h.customer_id LIMIT {BATCH}"
    )
}

/// Replays the stored history with the settings in force and the proposed
/// ones (either left out stays as it is); saves nothing.
///
/// # Errors
/// `Forbidden` for agents, partners and customers; `Validation` naming each
/// bad field.
pub async fn run(db: &impl Store, actor: &Actor, input: HealthBacktestInput) -> AppResult<HealthBacktest> {
    let mut c = Checker::default();
    let months = input.months.unwrap_or(12);
    if !(1..=24).contains(&months) {
        c.fail("months", "must be between 1 and 24");
    }
    let (before, after) = proposal(db, actor, &mut c, input.weights, input.cutoffs).await?;
    let at = now();
    let this_month = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).unwrap_or_default();
    let start = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
    let sql_text = snapshot_sql(db.get_database_backend());
    let (mut out, mut all_before, mut all_after) = (Vec::new(), Vec::new(), Vec::new());
    for back in (0..months).rev() {
        let first = this_month - Months::new(back);
        let (from, to): (DateTime<Utc>, DateTime<Utc>) = (start(first), start(first + Months::new(1)));
        let sql = Sql::new(db, from, to);
        let (mut t_before, mut t_after) = (Tally::default(), Tally::default());
        let mut after_id = Uuid::nil();
        loop {
            let rows = sql.rows_with(&sql_text, [after_id.into()]).await?;
            let Some(last) = rows.last() else { break };
            after_id = last.try_get_by_index(0)?;
            for r in &rows {
                let factors: serde_json::Value = r.try_get_by_index(1)?;
                let churned = r.try_get_by_index::<i32>(2)? == 1;
                let values = stored_values(&factors);
                let level = |w: &Weights, k: &Cutoffs| combine(values.iter().copied(), w, k).level;
                t_before.add(level(&before.weights, &before.cutoffs), churned);
                t_after.add(level(&after.weights, &after.cutoffs), churned);
            }
            if rows.len() < BATCH as usize {
                break;
            }
        }
        out.push(BacktestMonth {
            month: first.format("%Y-%m").to_string(),
            outcome_complete: to + Duration::days(WINDOW_DAYS) <= at,
            current: t_before.levels(),
            proposed: t_after.levels(),
        });
        all_before.push(t_before);
        all_after.push(t_after);
    }
    Ok(HealthBacktest {
        months: out,
        current: summary(&all_before),
        proposed: summary(&all_after),
        churn_window_days: WINDOW_DAYS,
    })
}
