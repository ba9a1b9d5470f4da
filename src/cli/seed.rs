//! `rapport seed`: fills a database with realistic, reproducible customers,
//! tags and orders for demos and benchmarks.
//!
//! The same `--seed` gives the same data on the same day (dates are relative
//! to midnight UTC of the day of seeding, so recency stays meaningful). The
//! shape: 15% of customers never buy; buyers' order counts are skewed (a few
//! buy very often, most rarely); amounts follow a heavy-tailed distribution;
//! a quarter of buyers are dormant (nothing in the last 180 days); 3% of
//! orders are refunded. Rows stream in batches (PostgreSQL `COPY`, SQLite
//! multi-row `INSERT`s), so memory stays flat apart from one id per customer.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entity::{customer, customer_tag, order};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::sqlx::{self, AssertSqlSafe, Executor as _, PgConnection, PgPool, Postgres};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct SeedPlan {
    pub customers: u64,
    pub orders: u64,
    pub seed: u64,
}

/// Rows written per table and how fast.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub tables: Vec<(&'static str, u64, f64)>,
    /// Rebuilding indexes and constraints, committing, analysing.
    pub finishing_secs: f64,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, rows, secs) in &self.tables {
            let rate = if *secs > 0.0 { *rows as f64 / secs } else { 0.0 };
            writeln!(f, "{table:<15} {rows:>11} rows in {secs:>7.1} s  ({rate:>9.0} rows/s)")?;
        }
        let (rows, secs) = self
            .tables
            .iter()
            .fold((0, 0.0), |(r, s), (_, rows, secs)| (r + rows, s + secs));
        // customer and customer_tag share one clock.
        let secs = secs - self.tables.get(1).map_or(0.0, |t| t.2) + self.finishing_secs;
        writeln!(f, "indexes, constraints, commit, analyze: {:.1} s", self.finishing_secs)?;
        let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
        writeln!(
            f,
            "total           {rows:>11} rows in {secs:>7.1} s  ({rate:>9.0} rows/s)"
        )
    }
}

const FIRST: &[&str] = &[
    "Anna", "Ben", "Chen", "Dana", "Emil", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Mateo",
    "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wei", "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Müller",
    "Smith",
    "Wang",
    "García",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Kowalski",
    "Silva",
    "Johansson",
    "Kim",
    "Novak",
    "Okafor",
    "Patel",
    "Schmidt",
    "Li",
    "Brown",
    "Ivanova",
    "Nakamura",
    "Costa",
];
/// Countries with weights.
const COUNTRIES: &[(&str, u32)] = &[
    ("US", 25),
    ("DE", 20),
    ("CN", 15),
    ("GB", 10),
    ("FR", 10),
    ("JP", 5),
    ("BR", 5),
    ("IN", 5),
    ("ES", 5),
];
const SOURCES: &[&str] = &["web", "store", "referral", "partner", "event", "ads"];
const INDUSTRIES: &[&str] = &["retail", "software", "manufacturing", "health", "finance", "education"];
/// Tags with the share (per mille) of customers carrying them.
const TAGS: &[(&str, u32)] = &[("vip", 50), ("newsletter", 400), ("beta", 80), ("wholesale", 30)];
const PLANS: &[&str] = &["free", "plus", "pro"];

fn pick_weighted<'a>(rng: &mut StdRng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    items[0].0
}

fn v7_at(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &bytes).into_uuid()
}

/// What order generation needs to know of each customer.
struct Buyer {
    id: Uuid,
    created_at: DateTime<Utc>,
    dormant: bool,
}

struct Generator {
    rng: StdRng,
    anchor: DateTime<Utc>,
}

impl Generator {
    fn customer(&mut self, i: u64) -> (customer::Model, Vec<String>) {
        let rng = &mut self.rng;
        let created_at = self.anchor - Duration::seconds(rng.random_range(0..3 * 365 * 86_400));
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let company = rng.random_bool(0.15);
        let mut tags: Vec<String> = TAGS
            .iter()
            .filter(|(_, per_mille)| rng.random_range(0..1000) < *per_mille)
            .map(|(t, _)| (*t).to_owned())
            .collect();
        if company {
            tags.push("b2b".into());
        }
        tags.sort();
        let consent = rng.random_bool(0.6);
        let birthday = (!company && rng.random_bool(0.7)).then(|| {
            NaiveDate::from_ymd_opt(
                rng.random_range(1950..2006),
                rng.random_range(1..=12),
                rng.random_range(1..=28),
            )
            .unwrap_or_default()
        });
        let contacted = rng
            .random_bool(0.4)
            .then(|| created_at + (self.anchor - created_at) * rng.random_range(0..=100) / 100);
        let stage = match rng.random_range(0..100) {
            0..10 => "prospect",
            10..15 => "onboarding",
            15..90 => "active",
            90..95 => "at_risk",
            _ => "churned",
        };
        let custom = if rng.random_bool(0.5) {
            json!({"plan": PLANS[rng.random_range(0..PLANS.len())], "seats": rng.random_range(1..50)})
        } else {
            json!({})
        };
        let model = customer::Model {
            id: v7_at(rng, created_at),
            external_id: Some(format!("seed-c-{i}")),
            kind: if company { "company" } else { "person" }.into(),
            name: if company {
                format!("{last} {}", INDUSTRIES[rng.random_range(0..INDUSTRIES.len())])
            } else {
                format!("{first} {last}")
            },
            email: Some(format!("{}.{}.{i}@example.com", first.to_lowercase(), i % 97)),
            phone: rng
                .random_bool(0.5)
                .then(|| format!("+49{}", rng.random_range(100_000_000_u64..999_999_999))),
            company: company.then(|| format!("{last} GmbH")),
            industry: company.then(|| INDUSTRIES[rng.random_range(0..INDUSTRIES.len())].to_owned()),
            size_band: None,
            country: Some(pick_weighted(rng, COUNTRIES).to_owned()),
            city: None,
            source: Some(SOURCES[rng.random_range(0..SOURCES.len())].to_owned()),
            owner_id: rng
                .random_bool(0.7)
                .then(|| format!("agent-{}", rng.random_range(1..=20))),
            value_tier: "general".into(),
            tier_locked: false,
            lifecycle_stage: stage.into(),
            tags: json!(tags),
            preferred_channel: None,
            preferred_language: None,
            birthday,
            relationship_start: None,
            marketing_consent: consent,
            marketing_consent_at: consent.then_some(created_at),
            custom_attributes: custom,
            notes: None,
            last_contacted_at: contacted,
            // Counted from the orders once they are loaded.
            order_count: 0,
            total_spend: 0,
            last_order_at: None,
            created_at,
            updated_at: created_at,
            deleted_at: None,
        };
        (model, tags)
    }

    fn order(&mut self, j: u64, buyers: &[Buyer]) -> order::Model {
        let rng = &mut self.rng;
        // Skewed choice of buyer: low positions are picked far more often,
        // and a fixed stride scatters positions over the population.
        let n = buyers.len() as u64;
        let u: f64 = rng.random();
        let position = ((n as f64) * u.powf(2.5)) as u64 % n;
        let buyer = &buyers[usize::try_from(position.wrapping_mul(STRIDE) % n).unwrap_or(0)];
        let end = if buyer.dormant {
            (self.anchor - Duration::days(180)).max(buyer.created_at)
        } else {
            self.anchor
        };
        let span = (end - buyer.created_at).num_seconds().max(1);
        let ordered_at = buyer.created_at + Duration::seconds(rng.random_range(0..span));
        let amount = (1_500.0 * rng.random_range(0.02_f64..1.0).powf(-0.8)).min(2_000_000.0) as i64;
        let refunded = rng.random_bool(0.03);
        order::Model {
            id: v7_at(rng, ordered_at),
            customer_id: buyer.id,
            external_id: Some(format!("seed-o-{j}")),
            amount_minor: amount.max(100),
            currency: "EUR".into(),
            status: if refunded { "refunded" } else { "completed" }.into(),
            ordered_at,
            refunded_at: refunded.then(|| (ordered_at + Duration::days(5)).min(self.anchor)),
            created_at: ordered_at,
            updated_at: ordered_at,
        }
    }
}

/// A prime larger than any population, coprime with it, to scatter buyer positions.
const STRIDE: u64 = 2_654_435_761;

/// Rows per batch sent to the database.
const BATCH: usize = 5_000;

/// Fills the database in one transaction; returns rows and rates per table.
///
/// # Errors
/// Database failures (nothing is kept then).
pub async fn seed(db: &DatabaseConnection, plan: SeedPlan) -> anyhow::Result<SeedReport> {
    let anchor = Utc
        .from_utc_datetime(&Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap_or_default())
        .to_utc();
    let mut g = Generator {
        rng: StdRng::seed_from_u64(plan.seed),
        anchor,
    };
    let mut sink = Sink::open(db).await?;
    let mut report = SeedReport::default();
    let mut buyers = Vec::with_capacity(usize::try_from(plan.customers).unwrap_or(0));

    let started = Instant::now();
    let mut tag_rows = 0_u64;
    let mut customers = Vec::with_capacity(BATCH);
    let mut tags = Vec::with_capacity(BATCH);
    for i in 0..plan.customers {
        let (c, t) = g.customer(i);
        // 15% never buy.
        if g.rng.random_range(0..100) >= 15 {
            buyers.push(Buyer {
                id: c.id,
                created_at: c.created_at,
                dormant: g.rng.random_range(0..100) < 25,
            });
        }
        tags.extend(t.into_iter().map(|tag| customer_tag::Model { customer_id: c.id, tag }));
        customers.push(c);
        if customers.len() == BATCH {
            tag_rows += tags.len() as u64;
            sink.customers(std::mem::take(&mut customers), std::mem::take(&mut tags))
                .await?;
        }
    }
    tag_rows += tags.len() as u64;
    sink.customers(customers, tags).await?;
    let secs = started.elapsed().as_secs_f64();
    report.tables.push(("customer", plan.customers, secs));
    report.tables.push(("customer_tag", tag_rows, secs));

    let started = Instant::now();
    let mut orders = Vec::with_capacity(BATCH);
    if !buyers.is_empty() {
        for j in 0..plan.orders {
            orders.push(g.order(j, &buyers));
            if orders.len() == BATCH {
                sink.orders(std::mem::take(&mut orders)).await?;
            }
        }
    }
    sink.orders(orders).await?;
    let written = if buyers.is_empty() { 0 } else { plan.orders };
    report
        .tables
        .push(("customer_order", written, started.elapsed().as_secs_f64()));

    let started = Instant::now();
    sink.finish().await?;
    report.finishing_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The tables the seed loads.
const LOADED: &str = "('customer'::regclass, 'customer_tag'::regclass, 'customer_order'::regclass)";

/// Where batches go: on PostgreSQL `COPY` on one connection inside one
/// transaction, with the loaded tables' secondary indexes and non-key
/// constraints dropped first and rebuilt at the end (the bulk-load recipe of
/// the PostgreSQL manual); elsewhere multi-row inserts in one transaction.
enum Sink {
    Postgres {
        /// Rolls back when dropped, so a failed load leaves nothing behind
        /// and the connection goes back to the pool clean.
        conn: sqlx::Transaction<'static, Postgres>,
        pool: PgPool,
        /// Statements that rebuild what was dropped, in order.
        rebuild: Vec<String>,
    },
    Other(DatabaseTransaction),
}

impl Sink {
    async fn open(db: &DatabaseConnection) -> anyhow::Result<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self::Other(db.begin().await?));
        }
        let pool = db.get_postgres_connection_pool().clone();
        let mut conn = pool.begin().await?;
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'").await?;
        let indexes: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
             WHERE indrelid IN {LOADED}
               AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
        )))
        .fetch_all(&mut *conn)
        .await?;
        let constraints: Vec<(String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid IN {LOADED} AND contype IN ('f', 'u') ORDER BY contype DESC"
        )))
        .fetch_all(&mut *conn)
        .await?;
        let mut rebuild = Vec::new();
        for (table, name, def) in constraints {
            conn.execute(AssertSqlSafe(format!("ALTER TABLE {table} DROP CONSTRAINT {name}")))
                .await?;
            rebuild.push(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"));
        }
        for (name, def) in indexes {
            conn.execute(AssertSqlSafe(format!("DROP INDEX {name}"))).await?;
            rebuild.insert(0, def);
        }
        Ok(Self::Postgres { conn, pool, rebuild })
    }

    /// Counts customers' order statistics, rebuilds indexes and constraints,
    /// commits, refreshes planner statistics.
    async fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Postgres {
                mut conn,
                pool,
                rebuild,
            } => {
                conn.execute(migration::RECOUNT_ORDER_STATS).await?;
                for statement in rebuild {
                    conn.execute(AssertSqlSafe(statement)).await?;
                }
                conn.commit().await?;
                pool.execute("ANALYZE customer, customer_tag, customer_order").await?;
            }
            Self::Other(txn) => {
                txn.execute_unprepared(migration::RECOUNT_ORDER_STATS).await?;
                txn.commit().await?;
            }
        }
        Ok(())
    }

    async fn copy(conn: &mut PgConnection, statement: &str, data: String) -> anyhow::Result<()> {
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        Ok(())
    }
}

fn field(out: &mut String, value: Option<&str>) {
    match value {
        // Generated values never hold tabs, newlines or backslashes.
        Some(v) => out.push_str(v),
        None => out.push_str("\\N"),
    }
    out.push('\t');
}

fn end_row(out: &mut String) {
    out.pop();
    out.push('\n');
}

fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

impl Sink {
    async fn customers(&mut self, rows: Vec<customer::Model>, tags: Vec<customer_tag::Model>) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let txn = match self {
            Self::Postgres { conn, .. } => return Self::copy_customers(conn, &rows, &tags).await,
            Self::Other(txn) => txn,
        };
        for chunk in rows.chunks(1_000) {
            customer::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        for chunk in tags.chunks(10_000) {
            customer_tag::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    async fn copy_customers(
        conn: &mut PgConnection,
        rows: &[customer::Model],
        tags: &[customer_tag::Model],
    ) -> anyhow::Result<()> {
        {
            let mut out = String::with_capacity(rows.len() * 400);
            for c in rows {
                for v in [
                    Some(c.id.to_string()),
                    c.external_id.clone(),
                    Some(c.kind.clone()),
                    Some(c.name.clone()),
                    c.email.clone(),
                    c.phone.clone(),
                    c.company.clone(),
                    c.industry.clone(),
                    c.country.clone(),
                    c.source.clone(),
                    c.owner_id.clone(),
                    Some(c.value_tier.clone()),
                    Some(c.tier_locked.to_string()),
                    Some(c.lifecycle_stage.clone()),
                    Some(c.tags.to_string()),
                    c.birthday.map(|b| b.to_string()),
                    Some(c.marketing_consent.to_string()),
                    ts(c.marketing_consent_at),
                    Some(c.custom_attributes.to_string()),
                    ts(c.last_contacted_at),
                    ts(Some(c.created_at)),
                    ts(Some(c.updated_at)),
                ] {
                    field(&mut out, v.as_deref());
                }
                end_row(&mut out);
            }
            Self::copy(
                conn,
                "COPY customer (id, external_id, kind, name, email, phone, company, industry, country, source, \
                 owner_id, value_tier, tier_locked, lifecycle_stage, tags, birthday, marketing_consent, \
                 marketing_consent_at, custom_attributes, last_contacted_at, created_at, updated_at) FROM STDIN",
                out,
            )
            .await?;
            let mut out = String::with_capacity(tags.len() * 50);
            for t in tags {
                let _ = writeln!(out, "{}\t{}", t.customer_id, t.tag);
            }
            if !out.is_empty() {
                Self::copy(conn, "COPY customer_tag (customer_id, tag) FROM STDIN", out).await?;
            }
        }
        Ok(())
    }

    async fn orders(&mut self, rows: Vec<order::Model>) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let txn = match self {
            Self::Postgres { conn, .. } => return Self::copy_orders(conn, &rows).await,
            Self::Other(txn) => txn,
        };
        for chunk in rows.chunks(2_500) {
            order::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    async fn copy_orders(conn: &mut PgConnection, rows: &[order::Model]) -> anyhow::Result<()> {
        {
            let mut out = String::with_capacity(rows.len() * 200);
            for o in rows {
                for v in [
                    Some(o.id.to_string()),
                    Some(o.customer_id.to_string()),
                    o.external_id.clone(),
                    Some(o.amount_minor.to_string()),
                    Some(o.currency.clone()),
                    Some(o.status.clone()),
                    ts(Some(o.ordered_at)),
                    ts(o.refunded_at),
                    ts(Some(o.created_at)),
                    ts(Some(o.updated_at)),
                ] {
                    field(&mut out, v.as_deref());
                }
                end_row(&mut out);
            }
            Self::copy(
                conn,
                "COPY customer_order (id, customer_id, external_id, amount_minor, currency, status, ordered_at, \
                     refunded_at, created_at, updated_at) FROM STDIN",
                out,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u64) -> (Vec<customer::Model>, Vec<order::Model>) {
        let anchor = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut g = Generator {
            rng: StdRng::seed_from_u64(seed),
            anchor,
        };
        let customers: Vec<_> = (0..50).map(|i| g.customer(i).0).collect();
        let buyers: Vec<_> = customers
            .iter()
            .map(|c| Buyer {
                id: c.id,
                created_at: c.created_at,
                dormant: false,
            })
            .collect();
        let orders = (0..200).map(|j| g.order(j, &buyers)).collect();
        (customers, orders)
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        assert_eq!(sample(1), sample(1));
        assert_ne!(sample(1).0, sample(2).0);
    }

    #[test]
    fn orders_fall_between_the_customer_joining_and_the_anchor_with_skewed_amounts() {
        let (customers, orders) = sample(3);
        let anchor = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for o in &orders {
            let c = customers.iter().find(|c| c.id == o.customer_id).expect("buyer");
            assert!(c.created_at <= o.ordered_at && o.ordered_at <= anchor);
            assert!(o.amount_minor >= 100);
        }
        let mut amounts: Vec<i64> = orders.iter().map(|o| o.amount_minor).collect();
        amounts.sort_unstable();
        let median = amounts[amounts.len() / 2];
        let mean = amounts.iter().sum::<i64>() / amounts.len() as i64;
        assert!(mean > median, "a heavy right tail: mean {mean} > median {median}");
    }
}
