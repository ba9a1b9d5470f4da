//! Health scores: the facts of a batch of customers gathered in set-based
//! SQL (one grouped query per source: orders, feedback, contacts, loyalty,
//! overrides), scored by `domain::health` (the one place the rules live),
//! and stored as history by the recompute; a customer's health is computed
//! on read, with the stored history beside it.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    contact, customer, customer_tier_change, feedback_item, health_alert, health_override, health_score,
    loyalty_account, loyalty_entry, need, order, payment_failure,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query, QueryStatementBuilder, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Store, begin, mask, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::cadence::CadenceSettings;
use crate::contract::customers::ValueTier;
use crate::contract::feedback::{FeedbackKind, FeedbackStatus};
use crate::contract::health::{
    AlertView, FactorHistory, FactorPoint, FactorView, HealthFactor, HealthLevel, HealthPoint, HealthRecomputeResult,
    HealthView, IndicatorView, OverrideInput, OverrideView,
};
use crate::contract::loyalty::EntryKind;
use crate::contract::orders::OrderStatus;
use crate::domain::health::indicators::indicators;
use crate::domain::health::{Explained, Facts, Satisfaction, explain};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

pub mod backtest;
pub mod report;
pub mod settings;
mod upsell;
mod warning;

pub use warning::to_view as alert_view;

/// Customers scored per batch.
const BATCH: u64 = 1_000;

/// Stored recomputes a customer's health shows.
const HISTORY: u64 = 12;

/// What every customer's facts are read with: whether the loyalty program
/// runs, and the contact cadence per tier.
pub(super) struct Sources {
    loyalty_on: bool,
    cadence: CadenceSettings,
}

impl Sources {
    async fn load(conn: &impl ConnectionTrait) -> AppResult<Self> {
        Ok(Self {
            loyalty_on: super::loyalty::program(conn).await?.enabled,
            cadence: super::cadence::settings(conn).await?,
        })
    }
}

/// `1` where `cond` holds, else `0`, summed: a count within a group.
fn count_where(cond: SimpleExpr) -> SimpleExpr {
    Func::sum(Expr::case(cond, 1).finally(0)).into()
}

/// The customer columns a score needs.
type Row = (
    Uuid,
    String,
    Option<DateTime<Utc>>,
    Option<i32>,
    Option<DateTime<Utc>>,
    Option<i32>,
    Option<DateTime<Utc>>,
    Option<i32>,
    Option<NaiveDate>,
    DateTime<Utc>,
);

fn customer_columns(q: sea_orm::Select<customer::Entity>) -> sea_orm::Selector<sea_orm::SelectGetableTuple<Row>> {
    q.select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ValueTier)
        .column(customer::Column::LastContactedAt)
        .column(customer::Column::NpsScore)
        .column(customer::Column::NpsAt)
        .column(customer::Column::LatestCsat)
        .column(customer::Column::CsatAt)
        .column(customer::Column::CadenceDays)
        .column(customer::Column::RelationshipStart)
        .column(customer::Column::CreatedAt)
        .into_tuple::<Row>()
}

/// The facts of a batch of customers, each source read once for the batch.
async fn facts(
    conn: &impl ConnectionTrait,
    rows: &[Row],
    sources: &Sources,
    at: DateTime<Utc>,
) -> AppResult<Vec<(Uuid, Facts)>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let d90 = at - Duration::days(90);
    let d180 = at - Duration::days(180);
    type Orders = (
        Uuid,
        i64,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        i64,
        i64,
        i64,
        i64,
    );
    let backend = conn.get_database_backend();
    let net = "amount_minor - refunded_minor";
    // Placeholders are numbered for PostgreSQL, plain for SQLite.
    let (p1, p2) = if backend == sea_orm::DbBackend::Postgres {
        ("$1", "$2")
    } else {
        ("?", "?")
    };
    let spend = |from: DateTime<Utc>, to: DateTime<Utc>| {
        Expr::cust_with_values(
            super::sum_minor(
                backend,
                &format!("CASE WHEN ordered_at >= {p1} AND ordered_at < {p2} THEN {net} ELSE 0 END"),
            ),
            [from, to],
        )
    };
    let orders: HashMap<Uuid, Orders> = order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .column_as(order::Column::Id.count(), "n")
        .column_as(order::Column::OrderedAt.min(), "first")
        .column_as(order::Column::OrderedAt.max(), "last")
        .column_as(count_where(order::Column::OrderedAt.gte(d90)), "last_90")
        .column_as(
            count_where(order::Column::OrderedAt.gte(d180).and(order::Column::OrderedAt.lt(d90))),
            "prior_90",
        )
        .column_as(spend(d90, at + Duration::seconds(1)), "spend_last_90")
        .column_as(spend(d180, d90), "spend_prior_90")
        .filter(order::Column::CustomerId.is_in(ids.clone()))
        .filter(order::Column::Status.eq(OrderStatus::Completed.as_str()))
        .filter(order::Column::OrderedAt.lte(at))
        .group_by(order::Column::CustomerId)
        .into_tuple::<Orders>()
        .all(conn)
        .await?
        .into_iter()
        .map(|o| (o.0, o))
        .collect();
    let open = [FeedbackStatus::Resolved.as_str(), FeedbackStatus::Closed.as_str()];
    let feedback: HashMap<Uuid, (i64, i64)> = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::CustomerId)
        .column_as(
            count_where(
                feedback_item::Column::Kind
                    .eq(FeedbackKind::Complaint.as_str())
                    .and(feedback_item::Column::Status.is_not_in(open)),
            ),
            "open",
        )
        .column_as(
            count_where(
                feedback_item::Column::ResponseBreachedAt
                    .gte(d90)
                    .or(feedback_item::Column::ResolutionBreachedAt.gte(d90)),
            ),
            "breached",
        )
        .filter(feedback_item::Column::CustomerId.is_in(ids.clone()))
        .group_by(feedback_item::Column::CustomerId)
        .into_tuple::<(Uuid, i64, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, open, breached)| (id, (open, breached)))
        .collect();
    let primary = contact::Column::IsPrimary.eq(true);
    let contacts: HashMap<Uuid, (i64, i64)> = contact::Entity::find()
        .select_only()
        .column(contact::Column::CustomerId)
        .column_as(
            count_where(primary.clone().and(contact::Column::Active.eq(true))),
            "here",
        )
        .column_as(count_where(primary.and(contact::Column::Active.eq(false))), "left")
        .filter(contact::Column::CustomerId.is_in(ids.clone()))
        .group_by(contact::Column::CustomerId)
        .into_tuple::<(Uuid, i64, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, here, left)| (id, (here, left)))
        .collect();
    let mut loyalty: HashMap<Uuid, Option<DateTime<Utc>>> = HashMap::new();
    if sources.loyalty_on {
        let accounts: Vec<Uuid> = loyalty_account::Entity::find()
            .select_only()
            .column(loyalty_account::Column::CustomerId)
            .filter(loyalty_account::Column::CustomerId.is_in(ids.clone()))
            .into_tuple()
            .all(conn)
            .await?;
        loyalty.extend(accounts.into_iter().map(|id| (id, None)));
        let active: Vec<(Uuid, Option<DateTime<Utc>>)> = loyalty_entry::Entity::find()
            .select_only()
            .column(loyalty_entry::Column::CustomerId)
            .column_as(loyalty_entry::Column::CreatedAt.max(), "last")
            .filter(loyalty_entry::Column::CustomerId.is_in(ids.clone()))
            .filter(loyalty_entry::Column::Kind.is_in([EntryKind::Earn.as_str(), EntryKind::Redeem.as_str()]))
            .filter(loyalty_entry::Column::CreatedAt.lte(at))
            .group_by(loyalty_entry::Column::CustomerId)
            .into_tuple()
            .all(conn)
            .await?;
        loyalty.extend(active);
    }
    let overrides: HashMap<Uuid, i32> = health_override::Entity::find()
        .select_only()
        .column(health_override::Column::CustomerId)
        .column(health_override::Column::Value)
        .filter(health_override::Column::CustomerId.is_in(ids.clone()))
        .filter(health_override::Column::ExpiresAt.gt(at))
        .into_tuple::<(Uuid, i32)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let needs: HashMap<Uuid, (i64, i64)> = need::Entity::find()
        .select_only()
        .column(need::Column::CustomerId)
        .column_as(need::Column::Id.count(), "open")
        .column_as(count_where(need::Column::UnmetSince.is_not_null()), "unmet")
        .filter(need::Column::CustomerId.is_in(ids.clone()))
        .filter(need::Column::Status.is_in(crate::domain::needs::OPEN.iter().map(|s| s.as_str())))
        .group_by(need::Column::CustomerId)
        .into_tuple::<(Uuid, i64, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, open, unmet)| (id, (open, unmet)))
        .collect();
    let payments: HashMap<Uuid, (i64, Option<DateTime<Utc>>)> = payment_failure::Entity::find()
        .select_only()
        .column(payment_failure::Column::CustomerId)
        .column_as(payment_failure::Column::Id.count(), "outstanding")
        .column_as(payment_failure::Column::FailedAt.max(), "latest")
        .filter(payment_failure::Column::CustomerId.is_in(ids.clone()))
        .filter(payment_failure::Column::RecoveredAt.is_null())
        .filter(payment_failure::Column::FailedAt.gte(d90))
        .filter(payment_failure::Column::FailedAt.lte(at))
        .group_by(payment_failure::Column::CustomerId)
        .into_tuple::<(Uuid, i64, Option<DateTime<Utc>>)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, n, latest)| (id, (n, latest)))
        .collect();
    let mut upgrades = tier_upgrades(conn, ids, at).await?;
    Ok(rows
        .iter()
        .map(
            |(id, tier, contacted, nps, nps_at, csat, csat_at, own_cadence, start, created)| {
                let o = orders.get(id);
                let answer = match (nps.zip(*nps_at), csat.zip(*csat_at)) {
                    (Some((n, n_at)), Some((c, c_at))) => Some(if c_at > n_at {
                        (Satisfaction::Csat(c), c_at)
                    } else {
                        (Satisfaction::Nps(n), n_at)
                    }),
                    (Some((n, n_at)), None) => Some((Satisfaction::Nps(n), n_at)),
                    (None, Some((c, c_at))) => Some((Satisfaction::Csat(c), c_at)),
                    (None, None) => None,
                };
                let (open_complaints, sla_breaches_90) = feedback.get(id).copied().unwrap_or((0, 0));
                let contacts = contacts.get(id).and_then(|&(here, left)| match (here, left) {
                    (h, _) if h > 0 => Some(true),
                    (_, l) if l > 0 => Some(false),
                    _ => None,
                });
                let facts = Facts {
                    order_count: o.map_or(0, |o| o.1),
                    first_order_at: o.and_then(|o| o.2),
                    last_order_at: o.and_then(|o| o.3),
                    orders_last_90: o.map_or(0, |o| o.4),
                    orders_prior_90: o.map_or(0, |o| o.5),
                    satisfaction: answer.map(|a| a.0),
                    satisfaction_at: answer.map(|a| a.1),
                    spend_last_90: o.map_or(0, |o| o.6),
                    spend_prior_90: o.map_or(0, |o| o.7),
                    tier_upgrade: upgrades.remove(id),
                    open_complaints,
                    sla_breaches_90,
                    payment_failures_90: payments.get(id).map_or(0, |p| p.0),
                    payment_failed_at: payments.get(id).and_then(|p| p.1),
                    last_contacted_at: *contacted,
                    cadence_days: own_cadence
                        .map_or_else(|| i64::from(sources.cadence.days(ValueTier::from_db(tier))), i64::from),
                    loyalty_last_activity: loyalty.get(id).copied(),
                    contacts,
                    manual: overrides.get(id).copied(),
                    needs: needs.get(id).copied(),
                    customer_since: Some(start.unwrap_or_else(|| created.date_naive())),
                };
                (*id, facts)
            },
        )
        .collect())
}

fn factors_json(e: &Explained) -> serde_json::Value {
    serde_json::Value::Array(
        e.parts
            .iter()
            .map(|p| {
                serde_json::json!({
                    "factor": p.factor.as_str(),
                    "value": p.value,
                    "weight": p.weight,
                    "contribution": p.contribution,
                })
            })
            .collect(),
    )
}

/// The live customers' facts, a batch at a time in id order.
pub(super) struct Batches {
    after: Option<Uuid>,
    sources: Sources,
    at: DateTime<Utc>,
}

impl Batches {
    /// # Errors
    /// Database failures.
    pub(super) async fn new(conn: &impl ConnectionTrait, at: DateTime<Utc>) -> AppResult<Self> {
        Ok(Self {
            after: None,
            sources: Sources::load(conn).await?,
            at,
        })
    }

    /// The next batch's facts; `None` after the last.
    ///
    /// # Errors
    /// Database failures.
    pub(super) async fn next(&mut self, conn: &impl ConnectionTrait) -> AppResult<Option<Vec<(Uuid, Facts)>>> {
        let mut q = customer::Entity::find().filter(customer::Column::DeletedAt.is_null());
        if let Some(a) = self.after {
            q = q.filter(customer::Column::Id.gt(a));
        }
        let rows = customer_columns(q.order_by_asc(customer::Column::Id).limit(BATCH))
            .all(conn)
            .await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        self.after = Some(last);
        facts(conn, &rows, &self.sources, self.at).await.map(Some)
    }
}

/// Scores every live customer at `at` and stores the scores as history,
/// batch by batch. Safe on several instances: a score is stored once per
/// customer and instant.
///
/// # Errors
/// Database failures (batches already stored stay stored).
pub async fn run(db: &impl Store, at: DateTime<Utc>) -> AppResult<HealthRecomputeResult> {
    let started = Instant::now();
    let rules = settings::rules(db).await?;
    let mut scored: i64 = 0;
    let mut tally = warning::Tally::new(rules.task_cap);
    let mut upsells = upsell::Tally::new(rules.upsell.max_tasks_per_owner);
    let mut batches = Batches::new(db, at).await?;
    while let Some(batch) = batches.next(db).await? {
        let batch: Vec<(Uuid, Facts, Explained)> = batch
            .into_iter()
            .map(|(id, f)| {
                let e = explain(&f, at, &rules.weights, &rules.cutoffs);
                (id, f, e)
            })
            .collect();
        let models = batch.iter().map(|(id, _, e)| health_score::ActiveModel {
            id: Set(new_id()),
            customer_id: Set(*id),
            computed_at: Set(at),
            score: Set(e.score),
            level: Set(e.level.as_str().into()),
            coverage: Set(e.coverage),
            factors: Set(factors_json(e)),
        });
        let txn = begin(db).await?;
        health_score::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([health_score::Column::CustomerId, health_score::Column::ComputedAt])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        latest_on_customers(&txn, batch.iter().map(|b| b.0).collect(), at).await?;
        warning::evaluate(&txn, &batch, &rules, at, &mut tally).await?;
        upsell::raise(&txn, &batch, &rules.upsell, at, &mut upsells).await?;
        txn.commit().await?;
        scored += i64::try_from(batch.len()).unwrap_or(i64::MAX);
    }
    Ok(HealthRecomputeResult {
        customers_scored: scored,
        alerts_raised: tally.alerts,
        tasks_created: tally.tasks,
        tasks_capped: tally.capped,
        upsell_tasks_created: upsells.created,
        computed_at: at,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Copies the scores stored at `at` onto the customers (for segment rules,
/// lists and the 360), in one statement.
async fn latest_on_customers(conn: &impl ConnectionTrait, ids: Vec<Uuid>, at: DateTime<Utc>) -> AppResult<()> {
    let stored = |col: health_score::Column| {
        let q = Query::select()
            .column((health_score::Entity, col))
            .from(health_score::Entity)
            .and_where(
                Expr::col((health_score::Entity, health_score::Column::CustomerId))
                    .equals((customer::Entity, customer::Column::Id)),
            )
            .and_where(Expr::col((health_score::Entity, health_score::Column::ComputedAt)).eq(at))
            .to_owned();
        SimpleExpr::SubQuery(None, Box::new(q.into_sub_query_statement()))
    };
    customer::Entity::update_many()
        .col_expr(customer::Column::HealthScore, stored(health_score::Column::Score))
        .col_expr(customer::Column::HealthLevel, stored(health_score::Column::Level))
        .filter(customer::Column::Id.is_in(ids))
        .exec(conn)
        .await?;
    Ok(())
}

/// Recomputes every customer's health now.
///
/// # Errors
/// `Forbidden` unless admin or manager.
pub async fn recompute(db: &impl Store, actor: &Actor) -> AppResult<HealthRecomputeResult> {
    policy::manage_customers(actor)?;
    run(db, now()).await
}

fn override_view(o: health_override::Model, actor: &Actor) -> OverrideView {
    OverrideView {
        value: o.value,
        reason: mask::text_for(actor, o.reason),
        author: o.author,
        expires_at: o.expires_at,
        created_at: o.created_at,
    }
}

/// A customer's health now, why, and its stored history.
///
/// # Errors
/// `Forbidden` for partners and customers; `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, customer_id: Uuid) -> AppResult<HealthView> {
    policy::read_customers(actor)?;
    let at = now();
    let rows = customer_columns(
        customer::Entity::find()
            .filter(customer::Column::Id.eq(customer_id))
            .filter(customer::Column::DeletedAt.is_null()),
    )
    .all(db)
    .await?;
    if rows.is_empty() {
        return Err(AppError::NotFound("customer"));
    }
    let (_, f) = facts(db, &rows, &Sources::load(db).await?, at)
        .await?
        .pop()
        .ok_or(AppError::NotFound("customer"))?;
    let rules = settings::rules(db).await?;
    let e = explain(&f, at, &rules.weights, &rules.cutoffs);
    let manual = health_override::Entity::find_by_id(customer_id)
        .filter(health_override::Column::ExpiresAt.gt(at))
        .one(db)
        .await?
        .map(|o| override_view(o, actor));
    let mut stored = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(customer_id))
        .order_by_desc(health_score::Column::ComputedAt)
        .limit(HISTORY)
        .all(db)
        .await?;
    stored.reverse();
    let history = stored.iter().map(point).collect();
    let factor_history = HealthFactor::ALL
        .iter()
        .map(|&factor| FactorHistory {
            factor,
            points: stored
                .iter()
                .map(|s| FactorPoint {
                    computed_at: s.computed_at,
                    value: s
                        .factors
                        .as_array()
                        .and_then(|parts| parts.iter().find(|p| p["factor"] == factor.as_str()))
                        .and_then(|p| p["value"].as_f64()),
                })
                .collect(),
        })
        .collect();
    Ok(HealthView {
        customer_id,
        score: e.score,
        level: e.level,
        coverage: e.coverage,
        computed_at: at,
        factors: e
            .parts
            .iter()
            .map(|p| FactorView {
                factor: p.factor,
                value: p.value,
                weight: p.weight,
                contribution: p.contribution,
                reason: p.value.is_none().then(|| "no_data".to_owned()),
            })
            .collect(),
        manual,
        history,
        factor_history,
        alerts: alerts(db, customer_id, Some(ALERTS)).await?,
        indicators: indicators(&f)
            .into_iter()
            .map(|i| IndicatorView {
                side: if i.kind.is_risk() { "risk" } else { "opportunity" }.into(),
                kind: i.kind,
                evidence: i.evidence,
                at: i.at,
            })
            .collect(),
    })
}

/// Each customer's latest move to a higher value tier in the 90 days
/// before `at`: when, from, to.
async fn tier_upgrades(
    conn: &impl ConnectionTrait,
    ids: Vec<Uuid>,
    at: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, (DateTime<Utc>, String, String)>> {
    let rank = |t: &str| ValueTier::ALL.iter().position(|v| v.as_str() == t);
    let mut out = HashMap::new();
    for c in customer_tier_change::Entity::find()
        .filter(customer_tier_change::Column::CustomerId.is_in(ids))
        .filter(customer_tier_change::Column::ChangedAt.gte(at - Duration::days(90)))
        .filter(customer_tier_change::Column::ChangedAt.lte(at))
        .order_by_asc(customer_tier_change::Column::ChangedAt)
        .all(conn)
        .await?
    {
        // The tiers run from key (first) down to general; a later upgrade replaces an earlier one.
        if rank(&c.to_tier) < rank(&c.from_tier) {
            out.insert(c.customer_id, (c.changed_at, c.from_tier, c.to_tier));
        }
    }
    Ok(out)
}

/// Alerts a customer's health shows.
const ALERTS: u64 = 20;

/// A customer's alerts, open ones first, then newest first.
async fn alerts(conn: &impl ConnectionTrait, customer_id: Uuid, limit: Option<u64>) -> AppResult<Vec<AlertView>> {
    Ok(health_alert::Entity::find()
        .filter(health_alert::Column::CustomerId.eq(customer_id))
        .order_by_asc(health_alert::Column::ClearedAt.is_not_null())
        .order_by_desc(health_alert::Column::FiredAt)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(warning::to_view)
        .collect())
}

/// A customer's manual factor, every stored score and every alert, for the
/// privacy export.
///
/// # Errors
/// Database failures.
pub async fn export(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
) -> AppResult<(Option<OverrideView>, Vec<HealthPoint>, Vec<AlertView>)> {
    let manual = health_override::Entity::find_by_id(customer_id)
        .one(conn)
        .await?
        .map(|o| override_view(o, actor));
    let history = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(customer_id))
        .order_by_asc(health_score::Column::ComputedAt)
        .all(conn)
        .await?
        .iter()
        .map(point)
        .collect();
    Ok((manual, history, alerts(conn, customer_id, None).await?))
}

fn point(s: &health_score::Model) -> HealthPoint {
    HealthPoint {
        computed_at: s.computed_at,
        score: s.score,
        level: HealthLevel::from_db(&s.level),
    }
}

/// Sets (or replaces) a customer's manual factor.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation` naming each bad field.
pub async fn set_override(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    input: OverrideInput,
) -> AppResult<OverrideView> {
    policy::manage_customers(actor)?;
    super::customers::find_live(db, customer_id).await?;
    let at = now();
    let mut c = Checker::default();
    if !(0..=100).contains(&input.value) {
        c.fail("value", "must be between 0 and 100");
    }
    let reason = c.check("reason", parse::text(input.reason, parse::MAX_TEXT));
    if input.expires_at <= at || input.expires_at > at + Duration::days(366) {
        c.fail("expires_at", "must be in the future, within a year");
    }
    c.finish()?;
    let model = health_override::Model {
        customer_id,
        value: input.value,
        reason: reason.unwrap_or_default(),
        author: actor.sub.clone(),
        expires_at: input.expires_at,
        created_at: at,
    };
    health_override::Entity::insert(health_override::ActiveModel::from(model.clone()))
        .on_conflict(
            OnConflict::column(health_override::Column::CustomerId)
                .update_columns([
                    health_override::Column::Value,
                    health_override::Column::Reason,
                    health_override::Column::Author,
                    health_override::Column::ExpiresAt,
                    health_override::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(override_view(model, actor))
}

/// Removes a customer's manual factor.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound` without one.
pub async fn clear_override(db: &impl Store, actor: &Actor, customer_id: Uuid) -> AppResult<()> {
    policy::manage_customers(actor)?;
    let gone = health_override::Entity::delete_by_id(customer_id).exec(db).await?;
    if gone.rows_affected == 0 {
        return Err(AppError::NotFound("health override"));
    }
    Ok(())
}
