//! RFM scoring, value tiers and lifetime value, recomputed with one set-based
//! statement per step inside one transaction. Nothing is loaded into the
//! server: the database ranks, scores, labels and tiers every customer.

use crate::service::Store;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entity::customer_rfm;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::{events, now, settings};
use crate::auth::{Actor, policy};
use crate::contract::MinorUnits;
use crate::contract::events::EventType;
use crate::contract::segments::{
    AnalyticsSettings, RfmCell, RfmDistribution, RfmLabelCount, RfmRecompute, RfmRecomputeResult, RfmView,
};
use crate::domain::rfm::label_case_sql;
use crate::error::{AppError, AppResult};

/// Arbitrary constant naming the recompute's PostgreSQL advisory lock, so two
/// instances never recompute at once.
const RECOMPUTE_LOCK: i64 = 7_242_001;

/// The parameters of one run, bound as `$1..$7` in every statement.
struct Params {
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
    window_days: u32,
    settings: AnalyticsSettings,
}

impl Params {
    fn values(&self) -> Vec<Value> {
        vec![
            self.now.into(),
            self.window_start.into(),
            self.settings.currency.clone().into(),
            i64::from(self.settings.key_tier_percent).into(),
            i64::from(self.settings.important_tier_percent).into(),
            i64::from(self.settings.expected_lifetime_months).into(),
            i64::from(self.window_days).into(),
        ]
    }
}

/// Writes `$n` placeholders the way each database wants them (`?n` on SQLite).
fn dialect(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    }
}

/// Memory PostgreSQL may use per sort and hash while recomputing: the scoring
/// step aggregates every completed order, then sorts the customers four times.
/// The benchmark gives the hand-written statement the same.
pub const WORK_MEM: &str = "256MB";

/// The temporary table the scoring step fills: one row per customer with
/// completed orders, with the customer's current tier beside the computed one.
fn scored_table(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "pg_temp.rfm_scored",
        _ => "temp.rfm_scored",
    }
}

/// The scoring step: aggregates completed orders per customer, ranks,
/// scores, labels and tiers them with window functions, into a temporary
/// table (on PostgreSQL a `CREATE TABLE AS`, which may run in parallel).
/// `$1` now, `$2` window start, `$3` currency or NULL, `$4` key %, `$5`
/// important %, `$6` expected lifetime months, `$7` window days.
fn score_sql(backend: DbBackend) -> String {
    let recency = match backend {
        DbBackend::Postgres => {
            "CAST(FLOOR(EXTRACT(EPOCH FROM (CAST($1 AS timestamptz) - t.last_order_at)) / 86400) AS BIGINT)"
        }
        _ => "CAST(julianday($1) - julianday(t.last_order_at) AS INTEGER)",
    };
    let (table, on_commit) = match backend {
        DbBackend::Postgres => ("rfm_scored", " ON COMMIT DROP"),
        _ => ("temp.rfm_scored", ""),
    };
    let label = label_case_sql("r", "((f + m + 1) / 2)");
    let sum = |expr: &str| super::sum_minor(backend, expr);
    let (monetary, historical) = (
        sum("CASE WHEN o.ordered_at >= $2 THEN o.amount_minor ELSE 0 END"),
        sum("o.amount_minor"),
    );
    // Lifetime value in integers while that cannot overflow (amounts are at
    // most 10^12 and months at most 1200), else in a wider type, capped.
    let wide_ltv = match backend {
        DbBackend::Postgres => {
            "CAST(TRUNC(LEAST(CAST(historical AS NUMERIC) + CAST(monetary AS NUMERIC) * 365 * $6 / (12 * $7), \
             9223372036854775807)) AS BIGINT)"
        }
        _ => "CAST(CAST(historical AS REAL) + CAST(monetary AS REAL) * 365 * $6 / (12 * $7) AS INTEGER)",
    };
    let lifetime_value = format!(
        "CASE WHEN historical < 4000000000000000000 AND monetary < 10000000000000 \
         THEN historical + monetary * 365 * $6 / (12 * $7) ELSE {wide_ltv} END"
    );
    dialect(
        backend,
        &format!(
            "CREATE TEMPORARY TABLE {table}{on_commit} AS
            WITH totals AS (
                SELECT o.customer_id,
                       MAX(o.ordered_at) AS last_order_at,
                       CAST(SUM(CASE WHEN o.ordered_at >= $2 THEN 1 ELSE 0 END) AS BIGINT) AS frequency,
                       {monetary} AS monetary,
                       {historical} AS historical
                FROM customer_order o
                WHERE o.status = 'completed' AND o.ordered_at <= $1
                  AND ($3 IS NULL OR o.currency = $3)
                GROUP BY o.customer_id
            ), ranked AS (
                SELECT t.*, c.value_tier AS current_tier, c.tier_locked,
                       {recency} AS recency_days,
                       COUNT(*) OVER () AS n,
                       COUNT(*) OVER (ORDER BY {recency} DESC) AS r_rank,
                       COUNT(*) OVER (ORDER BY frequency) AS f_rank,
                       COUNT(*) OVER (ORDER BY monetary) AS m_rank,
                       RANK() OVER (ORDER BY monetary DESC) - 1 AS richer
                FROM totals t JOIN customer c ON c.id = t.customer_id AND c.deleted_at IS NULL
            ), scored AS (
                SELECT ranked.*,
                       (5 * r_rank + n - 1) / n AS r,
                       (5 * f_rank + n - 1) / n AS f,
                       (5 * m_rank + n - 1) / n AS m
                FROM ranked
            )
            SELECT customer_id, recency_days, frequency, monetary, historical, r, f, m, {label} AS label,
                   CASE WHEN 100 * richer < $4 * n THEN 'key'
                        WHEN 100 * richer < ($4 + $5) * n THEN 'important'
                        ELSE 'general' END AS computed_tier,
                   {lifetime_value} AS lifetime_value,
                   last_order_at, current_tier, tier_locked
            FROM scored"
        ),
    )
}

/// Who changes tier: unlocked scored customers whose computed tier differs,
/// and unlocked customers without completed orders above `general`.
fn tier_candidates(scored: &str) -> String {
    format!(
        "SELECT customer_id AS id, current_tier AS from_tier, computed_tier AS to_tier FROM {scored}
         WHERE tier_locked = FALSE AND current_tier <> computed_tier
         UNION ALL
         SELECT id, value_tier, 'general' FROM customer
         WHERE deleted_at IS NULL AND tier_locked = FALSE AND value_tier <> 'general'
           AND id NOT IN (SELECT customer_id FROM {scored})"
    )
}

/// The tier step: changed tiers with their history (customers without
/// completed orders are `general`; locked tiers are kept, checked again on
/// the live row). The first statement's row count is the number of changes.
/// PostgreSQL does it in one statement; SQLite, without data-modifying
/// `WITH`, in three.
fn tier_sql(backend: DbBackend) -> Vec<String> {
    let scored = scored_table(backend);
    let candidates = tier_candidates(scored);
    let statements = match backend {
        DbBackend::Postgres => vec![format!(
            "WITH old AS ({candidates}),
             changed AS (
                UPDATE customer SET value_tier = old.to_tier, updated_at = $1 FROM old
                WHERE customer.id = old.id AND customer.tier_locked = FALSE AND customer.value_tier = old.from_tier
                RETURNING customer.id, old.from_tier, old.to_tier)
             INSERT INTO customer_tier_change (customer_id, from_tier, to_tier, reason, changed_at)
             SELECT id, from_tier, to_tier, 'recompute', $1 FROM changed"
        )],
        _ => vec![
            format!(
                "INSERT INTO customer_tier_change (customer_id, from_tier, to_tier, reason, changed_at)
                 SELECT id, from_tier, to_tier, 'recompute', $1 FROM ({candidates})"
            ),
            format!(
                "UPDATE customer SET value_tier = s.computed_tier, updated_at = $1
                 FROM {scored} s
                 WHERE s.customer_id = customer.id AND s.tier_locked = FALSE AND s.current_tier <> s.computed_tier
                   AND customer.tier_locked = FALSE AND customer.value_tier <> s.computed_tier"
            ),
            format!(
                "UPDATE customer SET value_tier = 'general', updated_at = $1
                 WHERE deleted_at IS NULL AND tier_locked = FALSE AND value_tier <> 'general'
                   AND id NOT IN (SELECT customer_id FROM {scored})"
            ),
        ],
    };
    statements.into_iter().map(|sql| dialect(backend, &sql)).collect()
}

/// The last step, the stored scores replaced by the new ones; last so the
/// table is locked as briefly as possible. On PostgreSQL a `TRUNCATE`
/// (readers of scores wait for the commit, a few seconds at a million
/// customers), because deleting every row each run leaves the table bloated
/// with dead rows and every later insert slower.
fn store_sql(backend: DbBackend) -> [String; 2] {
    let scored = scored_table(backend);
    [
        match backend {
            DbBackend::Postgres => "TRUNCATE customer_rfm",
            _ => "DELETE FROM customer_rfm",
        }
        .to_owned(),
        dialect(
            backend,
            &format!(
                "INSERT INTO customer_rfm (customer_id, recency_days, frequency, monetary, historical_spend,
                                           r_score, f_score, m_score, label, computed_tier, lifetime_value,
                                           last_order_at, computed_at)
                 SELECT customer_id, recency_days, frequency, monetary, historical, r, f, m, label, computed_tier,
                        lifetime_value, last_order_at, $1
                 FROM {scored} ORDER BY customer_id"
            ),
        ),
    ]
}

/// Recomputes RFM scores, labels, lifetime value and value tiers for every customer.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` on a bad window.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn recompute(db: &impl Store, actor: &Actor, input: RfmRecompute) -> AppResult<RfmRecomputeResult> {
    policy::manage_customers(actor)?;
    if let Some(days) = input.window_days
        && !(7..=3650).contains(&days)
    {
        return Err(AppError::field("window_days", "must be between 7 and 3650"));
    }
    run(db, input.window_days, now()).await
}

/// The recompute itself, for the scheduler and benchmarks (no role check).
///
/// # Errors
/// Database failures.
pub async fn run(db: &impl Store, window_days: Option<u32>, at: DateTime<Utc>) -> AppResult<RfmRecomputeResult> {
    let started = Instant::now();
    let settings = settings::analytics(db).await?;
    let window_days = window_days.unwrap_or(settings.rfm_window_days);
    let params = Params {
        now: at,
        window_start: at - Duration::days(i64::from(window_days)),
        window_days,
        settings,
    };
    let backend = db.get_database_backend();
    let values = params.values();
    let stmt = |sql: String| Statement::from_sql_and_values(backend, sql, values.clone());
    let txn = db.open().await?;
    super::write_lock(&txn).await?;
    if backend == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1)",
            [RECOMPUTE_LOCK.into()],
        ))
        .await?;
        txn.execute_unprepared(&format!("SET LOCAL work_mem = '{WORK_MEM}'"))
            .await?;
    }
    let scored_table = scored_table(backend);
    txn.execute_unprepared(&format!("DROP TABLE IF EXISTS {scored_table}"))
        .await?;
    txn.execute_raw(stmt(score_sql(backend))).await?;
    let mut changes = None;
    for sql in tier_sql(backend) {
        let affected = txn.execute_raw(stmt(sql)).await?.rows_affected();
        changes.get_or_insert(affected);
    }
    let changes = changes.unwrap_or_default();
    let data = events::json_object(
        backend,
        &[("from", "from_tier"), ("to", "to_tier"), ("reason", "reason")],
    );
    let changed = format!(
        "SELECT changed_at AS occurred_at, customer_id AS subject_id, customer_id, {data} AS data
         FROM customer_tier_change WHERE changed_at = $1 AND reason = 'recompute'"
    );
    events::emit_all(&txn, EventType::CustomerTierChanged, &changed, vec![at.into()]).await?;
    let [clear, store] = store_sql(backend);
    txn.execute_unprepared(&clear).await?;
    let scored = txn.execute_raw(stmt(store)).await?.rows_affected();
    if backend != DbBackend::Postgres {
        txn.execute_unprepared(&format!("DROP TABLE {scored_table}")).await?;
    }
    txn.commit().await?;
    let result = RfmRecomputeResult {
        customers_scored: i64::try_from(scored).unwrap_or(i64::MAX),
        tier_changes: i64::try_from(changes).unwrap_or(i64::MAX),
        window_days,
        computed_at: at,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    tracing::info!(
        scored = result.customers_scored,
        tier_changes = result.tier_changes,
        ms = result.elapsed_ms,
        "rfm recomputed"
    );
    Ok(result)
}

/// Shapes a stored RFM row.
pub fn to_view(m: customer_rfm::Model) -> RfmView {
    RfmView {
        recency_days: m.recency_days,
        frequency: m.frequency,
        monetary: MinorUnits(m.monetary),
        r_score: m.r_score,
        f_score: m.f_score,
        m_score: m.m_score,
        label: m.label,
        historical_spend: MinorUnits(m.historical_spend),
        lifetime_value: MinorUnits(m.lifetime_value),
        computed_tier: m.computed_tier,
        computed_at: m.computed_at,
    }
}

/// Customers and spend per label and per (R, F, M) cell.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn distribution(db: &impl Store, actor: &Actor) -> AppResult<RfmDistribution> {
    policy::read_customers(actor)?;
    let backend = db.get_database_backend();
    let labels = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT label, COUNT(*) AS n, {} AS spend, MAX(computed_at) AS at
                 FROM customer_rfm GROUP BY label ORDER BY label",
                super::sum_minor(backend, "monetary")
            ),
        ))
        .await?;
    let mut out = RfmDistribution {
        computed_at: None,
        customers: 0,
        labels: Vec::new(),
        cells: Vec::new(),
    };
    for row in labels {
        let customers: i64 = row.try_get("", "n")?;
        let at: Option<DateTime<Utc>> = row.try_get("", "at")?;
        out.customers += customers;
        out.computed_at = out.computed_at.max(at);
        out.labels.push(RfmLabelCount {
            label: row.try_get("", "label")?,
            customers,
            monetary: MinorUnits(row.try_get("", "spend")?),
        });
    }
    let cells = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT r_score, f_score, m_score, COUNT(*) AS n, {} AS spend
                 FROM customer_rfm GROUP BY r_score, f_score, m_score ORDER BY r_score, f_score, m_score",
                super::sum_minor(backend, "monetary")
            ),
        ))
        .await?;
    for row in cells {
        out.cells.push(RfmCell {
            r: row.try_get("", "r_score")?,
            f: row.try_get("", "f_score")?,
            m: row.try_get("", "m_score")?,
            customers: row.try_get("", "n")?,
            monetary: MinorUnits(row.try_get("", "spend")?),
        });
    }
    Ok(out)
}
