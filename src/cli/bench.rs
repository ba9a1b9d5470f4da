//! `rapport bench segments`: times the RFM recompute against a hand-written
//! single statement run through `psql` (the floor), a 3-condition segment
//! preview and refresh, on the configured (seeded) PostgreSQL database, and
//! prints the process's peak memory.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use crate::auth::{Actor, Role};
use crate::contract::segments::{NewSegment, SegmentKind};
use crate::service::{rfm, segments, settings};

/// The floor statement, with psql variables for its parameters.
const FLOOR_SQL: &str = include_str!("../../benches/rfm_floor.sql");

/// The benchmark's rule: key customers, no order for 90 days, tagged vip.
pub fn bench_rule() -> serde_json::Value {
    json!({"all": [
        {"field": "tier", "op": "eq", "value": "key"},
        {"field": "days_since_last_order", "op": "gt", "value": 90},
        {"field": "tags", "op": "has_any", "value": ["vip"]}
    ]})
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Peak and current resident memory of this process, in MiB (Linux).
pub fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let read = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (read("VmHWM:"), read("VmRSS:"))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Runs the floor statement once through psql and returns the time psql reports.
fn floor_once(url: &str, vars: &[(&str, String)]) -> anyhow::Result<Duration> {
    let mut cmd = Command::new("psql");
    cmd.arg(url).args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]);
    for (k, v) in vars {
        cmd.arg("-v").arg(format!("{k}={v}"));
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running psql (install the PostgreSQL client)")?;
    child
        .stdin
        .take()
        .context("psql stdin")?
        .write_all(FLOOR_SQL.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("Time: "))
        .context("psql printed no timing")?;
    let millis: f64 = line
        .trim_start_matches("Time: ")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .parse()?;
    Ok(Duration::from_secs_f64(millis / 1000.0))
}

/// Runs the segment benchmark and prints its figures.
///
/// # Errors
/// A database that is not PostgreSQL, psql missing, or any failure.
pub async fn segments(db: &DatabaseConnection, url: &str, runs: usize) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        bail!("the segment benchmark runs on PostgreSQL: set DATABASE_URL to a seeded database");
    }
    let runs = runs.max(1);
    let customers = scalar(db, "SELECT COUNT(*) FROM customer").await?;
    let orders = scalar(db, "SELECT COUNT(*) FROM customer_order").await?;
    println!("database: {customers} customers, {orders} orders; {runs} runs each, median shown");
    let (peak_before, _) = memory_mib();

    // One instant for every run of both, so they score the same data alike.
    let now = Utc::now();
    let mut ours = Vec::new();
    for _ in 0..runs {
        let r = rfm::run(db, None, now).await?;
        ours.push(Duration::from_millis(r.elapsed_ms));
    }
    let ours = median(ours);

    let s = settings::analytics(db).await?;
    let vars = [
        ("now", now.to_rfc3339()),
        (
            "window_start",
            (now - chrono::Duration::days(i64::from(s.rfm_window_days))).to_rfc3339(),
        ),
        ("key_pct", s.key_tier_percent.to_string()),
        ("important_pct", s.important_tier_percent.to_string()),
        ("ltv_factor_num", (365 * s.expected_lifetime_months).to_string()),
        ("ltv_factor_den", (12 * s.rfm_window_days).to_string()),
        ("work_mem", rfm::WORK_MEM.to_owned()),
    ];
    let mut floor = Vec::new();
    for _ in 0..runs {
        floor.push(floor_once(url, &vars)?);
    }
    let floor = median(floor);
    let differing = scalar(
        db,
        "SELECT COUNT(*) FROM customer_rfm r FULL JOIN bench_rfm_floor f ON f.customer_id = r.customer_id \
         WHERE f.customer_id IS NULL OR r.customer_id IS NULL OR r.label <> f.label \
            OR r.computed_tier <> f.tier OR r.lifetime_value <> f.lifetime_value",
    )
    .await?;
    db.execute_unprepared("DROP TABLE IF EXISTS bench_rfm_floor").await?;

    let admin = Actor {
        sub: "bench".into(),
        role: Role::Admin,
        customer_id: None,
        partner_id: None,
    };
    let rule = bench_rule();
    let mut previews = Vec::new();
    let mut matched = 0;
    for _ in 0..runs {
        let started = Instant::now();
        matched = segments::preview(db, &admin, &rule).await?.count;
        previews.push(started.elapsed());
    }
    let preview = median(previews);

    let seg = segments::create(
        db,
        &admin,
        NewSegment {
            name: format!("bench {}", Utc::now().to_rfc3339()),
            description: None,
            kind: SegmentKind::Dynamic,
            rule: Some(async_graphql::Json(rule)),
        },
    )
    .await?;
    let started = Instant::now();
    let first = segments::refresh(db, &admin, seg.id).await?;
    let first_refresh = started.elapsed();
    let started = Instant::now();
    segments::refresh(db, &admin, seg.id).await?;
    let second_refresh = started.elapsed();
    segments::delete(db, &admin, seg.id).await?;
    let (peak, rss) = memory_mib();

    println!("rfm recompute (server)        {:>10.0} ms", ms(ours));
    println!("rfm hand-written SQL (psql)   {:>10.0} ms", ms(floor));
    println!(
        "ratio server / hand-written   {:>10.2}   (target <= 1.5; {differing} customers differ)",
        ours.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "preview, 3 conditions         {:>10.0} ms   ({matched} customers; target < 1000 ms)",
        ms(preview)
    );
    println!(
        "refresh, first                {:>10.0} ms   ({} members entered)",
        ms(first_refresh),
        first.entered
    );
    println!("refresh, unchanged            {:>10.0} ms", ms(second_refresh));
    println!("peak RSS                      {peak:>10.1} MiB (before the runs {peak_before:.1} MiB, now {rss:.1} MiB)");
    Ok(())
}

/// The customers `benches/http.sh` sends requests for: the first `n` buyers
/// by id, so every run picks the same ones.
///
/// # Errors
/// Database failures.
pub async fn hot_ids(db: &DatabaseConnection, n: u64) -> anyhow::Result<Vec<uuid::Uuid>> {
    use entity::customer;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::OrderCount.gt(0))
        .filter(customer::Column::DeletedAt.is_null())
        .order_by_asc(customer::Column::Id)
        .limit(n)
        .into_tuple()
        .all(db)
        .await?)
}

/// Gives each hot customer what the seed leaves out — two contacts, twelve
/// interactions and two open feedback items — through the services, then
/// computes RFM, so the 360 has every part to read.
///
/// # Errors
/// Database failures.
pub async fn fill_hot_set(db: &DatabaseConnection, n: u64) -> anyhow::Result<()> {
    use crate::service::{contacts, feedback, interactions};
    let admin = Actor {
        sub: "bench".into(),
        role: Role::Admin,
        customer_id: None,
        partner_id: None,
    };
    for id in hot_ids(db, n).await? {
        for (name, primary) in [("Robin Hale", true), ("Kim Ortega", false)] {
            contacts::create(
                db,
                &admin,
                id,
                serde_json::from_value(json!({"name": name, "is_primary": primary, "email": "contact@example.com"}))?,
            )
            .await?;
        }
        for day in 1..=12 {
            let body = json!({"channel": "email", "direction": "outbound", "summary": "Quarterly check-in; asked about the renewal.",
                              "occurred_at": (Utc::now() - chrono::Duration::days(day * 7)).to_rfc3339()});
            interactions::create(db, &admin, id, serde_json::from_value(body)?).await?;
        }
        for subject in ["Delivery was late", "Invoice shows the wrong address"] {
            let body = json!({"customer_id": id, "channel": "email", "kind": "complaint", "subject": subject, "body": "Please look into it."});
            feedback::create(db, &admin, serde_json::from_value(body)?).await?;
        }
    }
    rfm::recompute(
        db,
        &admin,
        crate::contract::segments::RfmRecompute { window_days: None },
    )
    .await?;
    Ok(())
}
