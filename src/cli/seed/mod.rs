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

use std::time::Instant;

mod sink;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entity::{customer, customer_tag, order};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use sink::Sink;

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
            time_zone: None,
            cadence_days: None,
            marketing_consent: consent,
            marketing_consent_at: consent.then_some(created_at),
            custom_attributes: custom,
            notes: None,
            last_contacted_at: contacted,
            // Counted from the orders once they are loaded.
            order_count: 0,
            total_spend: 0,
            last_order_at: None,
            nps_score: None,
            nps_category: None,
            nps_at: None,
            latest_csat: None,
            csat_at: None,
            referral_candidate_at: None,
            health_score: None,
            health_level: None,
            churn_reason: None,
            churned_at: None,
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
        let amount = amount.max(100);
        order::Model {
            id: v7_at(rng, ordered_at),
            customer_id: buyer.id,
            external_id: Some(format!("seed-o-{j}")),
            amount_minor: amount,
            currency: "EUR".into(),
            status: if refunded { "refunded" } else { "completed" }.into(),
            ordered_at,
            refunded_at: refunded.then(|| (ordered_at + Duration::days(5)).min(self.anchor)),
            refunded_minor: if refunded { amount } else { 0 },
            points_paid_minor: 0,
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
