//! Contact cadence and care moments: the settings, the overdue list, and
//! the daily jobs that turn them into tasks — one follow-up per overdue
//! episode, one review per quarter for key customers, one care task per
//! moment and year — each keyed (`task.dedup_key`), so runs repeated the
//! same day or on several instances at once create nothing twice.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::customer;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::settings::{business_calendar, load, store};
use super::tasks::{OwnerCap, TaskDraft, insert_once};
use super::{Store, begin, mask, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::cadence::{CadenceRunResult, CadenceSettings, CareRunResult, OverdueCustomer, OverdueFilter};
use crate::contract::customers::{LifecycleStage, ValueTier};
use crate::contract::tasks::TaskKind;
use crate::domain::cadence::{Moment, due_moments, end_of_day, local_date, quarter};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

const KEY: &str = "cadence";

/// Who creates the tasks the jobs raise.
const ACTOR: &str = "system:cadence";

/// Customers a job reads at a time.
const BATCH: u64 = 1_000;

/// Days a quarterly review is due after it is created (on a working day).
const REVIEW_DUE_DAYS: i64 = 14;

/// The cadence settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub async fn settings(conn: &impl ConnectionTrait) -> AppResult<CadenceSettings> {
    load(conn, KEY).await
}

/// Reads the cadence settings.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_settings(db: &impl Store, actor: &Actor) -> AppResult<CadenceSettings> {
    policy::read_customers(actor)?;
    settings(db).await
}

/// Replaces the cadence settings; the overdue list and the next runs use
/// them at once.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_settings(db: &impl Store, actor: &Actor, input: CadenceSettings) -> AppResult<CadenceSettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    for (name, days) in [
        ("key_days", input.key_days),
        ("important_days", input.important_days),
        ("general_days", input.general_days),
    ] {
        c.check(name, parse::cadence_days(i32::try_from(days).unwrap_or(0)));
    }
    if input.max_tasks_per_owner > 10_000 {
        c.fail("max_tasks_per_owner", "must be between 0 and 10000");
    }
    if input.care_lead_days > 60 {
        c.fail("care_lead_days", "must be between 0 and 60");
    }
    c.finish()?;
    store(db, KEY, &input).await?;
    Ok(input)
}

/// The days between contacts that apply to each customer, in SQL: its own,
/// else its tier's.
fn cadence_sql(s: &CadenceSettings) -> String {
    format!(
        "COALESCE(customer.cadence_days, CASE customer.value_tier WHEN '{}' THEN {} WHEN '{}' THEN {} ELSE {} END)",
        ValueTier::Key.as_str(),
        s.key_days,
        ValueTier::Important.as_str(),
        s.important_days,
        s.general_days,
    )
}

/// Whole days since the last contact (or since the customer was created).
fn since(conn: &impl ConnectionTrait, at: DateTime<Utc>) -> Expr {
    super::days_since(
        conn.get_database_backend(),
        at,
        "COALESCE(customer.last_contacted_at, customer.created_at)",
    )
}

/// Whole days past the cadence (positive: overdue).
fn overdue_sql(conn: &impl ConnectionTrait, s: &CadenceSettings, at: DateTime<Utc>) -> SimpleExpr {
    let placeholder = if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    Expr::cust_with_exprs(
        format!("CAST(({placeholder}) - {} AS BIGINT)", cadence_sql(s)),
        [since(conn, at)],
    )
}

/// One overdue customer as the list and the job read it.
type Row = (
    Uuid,
    String,
    String,
    Option<String>,
    i32,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    i64,
);

/// A page of overdue customers, most overdue first.
async fn overdue_rows(
    conn: &impl ConnectionTrait,
    s: &CadenceSettings,
    at: DateTime<Utc>,
    cond: Condition,
    after: Option<&Cursor>,
    limit: u64,
) -> AppResult<Vec<Row>> {
    let over = || overdue_sql(conn, s, at);
    let mut q = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .column(customer::Column::ValueTier)
        .column(customer::Column::OwnerId)
        .expr_as(Expr::cust(format!("CAST({} AS INTEGER)", cadence_sql(s))), "cadence")
        .column(customer::Column::LastContactedAt)
        .column(customer::Column::CreatedAt)
        .expr_as(over(), "over")
        .filter(customer::Column::DeletedAt.is_null())
        .filter(customer::Column::LifecycleStage.ne(LifecycleStage::Churned.as_str()))
        .filter(cond)
        .filter(Expr::expr(over()).gt(0));
    if let Some(c) = after {
        let days: i64 = c
            .key
            .parse()
            .map_err(|_| AppError::field("cursor", "is not a valid cursor"))?;
        q = q.filter(
            Condition::any().add(Expr::expr(over()).lt(days)).add(
                Condition::all()
                    .add(Expr::expr(over()).eq(days))
                    .add(customer::Column::Id.gt(c.id)),
            ),
        );
    }
    Ok(q.order_by_desc(over())
        .order_by_asc(customer::Column::Id)
        .limit(limit)
        .into_tuple::<Row>()
        .all(conn)
        .await?)
}

/// Customers past their contact cadence, most overdue first. Analysts see
/// names masked.
///
/// # Errors
/// `Forbidden` for partners and customers; `Validation` on bad paging.
pub async fn overdue(
    db: &impl Store,
    actor: &Actor,
    f: &OverdueFilter,
    page: &PageRequest,
) -> AppResult<Page<OverdueCustomer>> {
    policy::read_customers(actor)?;
    let s = settings(db).await?;
    let mut cond = Condition::all();
    if f.mine == Some(true) {
        cond = cond.add(customer::Column::OwnerId.eq(actor.sub.as_str()));
    } else if let Some(o) = &f.owner_id {
        cond = cond.add(customer::Column::OwnerId.eq(o.as_str()));
    }
    if let Some(t) = f.value_tier {
        cond = cond.add(customer::Column::ValueTier.eq(t.as_str()));
    }
    let rows = overdue_rows(db, &s, now(), cond, page.after.as_ref(), page.limit + 1).await?;
    let masked = actor.masks_personal_data();
    let items = rows
        .into_iter()
        .map(|(id, name, tier, owner, cadence, contacted, _, over)| OverdueCustomer {
            customer_id: id,
            name: if masked { mask::name(&name) } else { name },
            value_tier: ValueTier::from_db(&tier),
            owner_id: owner,
            cadence_days: cadence,
            last_contacted_at: contacted,
            days_since_contact: over + i64::from(cadence),
            days_overdue: over,
        })
        .collect();
    Ok(super::paging::page(items, page.limit, |c: &OverdueCustomer| Cursor {
        key: c.days_overdue.to_string(),
        id: c.customer_id,
    }))
}

/// Creates one follow-up task per overdue customer and episode (an episode
/// ends with the next contact), and a review per quarter for each key
/// customer, on the business calendar's working days only, due by the end
/// of a working day; at most `max_tasks_per_owner` per owner and run, the
/// most overdue first.
///
/// # Errors
/// Database failures (batches already done stay done).
pub async fn run_follow_ups(db: &impl Store, at: DateTime<Utc>) -> AppResult<CadenceRunResult> {
    let s = settings(db).await?;
    let calendar = business_calendar(db).await?;
    let today = calendar.local_date(at);
    let mut result = CadenceRunResult {
        working_day: calendar.is_working_day(today),
        ..CadenceRunResult::default()
    };
    if !result.working_day {
        return Ok(result);
    }
    let due = calendar.working_day_end(at);
    let mut caps = OwnerCap::new(s.max_tasks_per_owner);
    let mut after: Option<Cursor> = None;
    loop {
        let rows = overdue_rows(db, &s, at, Condition::all(), after.as_ref(), BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = Some(Cursor {
            key: last.7.to_string(),
            id: last.0,
        });
        let txn = begin(db).await?;
        for (id, _, tier, owner, cadence, contacted, created, over) in &rows {
            result.overdue += 1;
            if !caps.take(owner.as_ref()) {
                result.capped += 1;
                continue;
            }
            let since = contacted.unwrap_or(*created);
            let draft = TaskDraft {
                kind: TaskKind::FollowUp,
                customer_id: *id,
                feedback_id: None,
                title: format!(
                    "Get in touch: {over} days past the {cadence}-day {} cadence",
                    ValueTier::from_db(tier).as_str()
                ),
                assignee_id: owner.clone(),
                due_at: Some(due),
                created_by: ACTOR.into(),
            };
            let key = format!("cadence:{id}:{}", since.timestamp());
            if insert_once(&txn, draft, key, at).await?.is_some() {
                result.follow_ups += 1;
            } else {
                caps.give_back(owner.as_ref());
            }
        }
        txn.commit().await?;
    }
    if s.quarterly_review {
        reviews(
            db,
            at,
            &quarter(today),
            calendar.working_day_end(at + Duration::days(REVIEW_DUE_DAYS)),
            &mut caps,
            &mut result,
        )
        .await?;
    }
    Ok(result)
}

/// The next batch of live customers who have not churned, in id order
/// after `after`.
async fn batch<T: sea_orm::TryGetableMany>(
    db: &impl Store,
    q: sea_orm::Select<customer::Entity>,
    after: Option<Uuid>,
) -> AppResult<Vec<T>> {
    let mut q = q
        .filter(customer::Column::DeletedAt.is_null())
        .filter(customer::Column::LifecycleStage.ne(LifecycleStage::Churned.as_str()));
    if let Some(a) = after {
        q = q.filter(customer::Column::Id.gt(a));
    }
    Ok(q.order_by_asc(customer::Column::Id)
        .limit(BATCH)
        .into_tuple()
        .all(db)
        .await?)
}

/// One review task per key customer and quarter.
async fn reviews(
    db: &impl Store,
    at: DateTime<Utc>,
    quarter: &str,
    due: DateTime<Utc>,
    caps: &mut OwnerCap,
    result: &mut CadenceRunResult,
) -> AppResult<()> {
    let mut after: Option<Uuid> = None;
    loop {
        let q = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::OwnerId)
            .filter(customer::Column::ValueTier.eq(ValueTier::Key.as_str()));
        let rows: Vec<(Uuid, Option<String>)> = batch(db, q, after).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let txn = begin(db).await?;
        for (id, owner) in rows {
            let key = format!("review:{id}:{quarter}");
            if !caps.take(owner.as_ref()) {
                result.capped += 1;
                continue;
            }
            let draft = TaskDraft {
                kind: TaskKind::Review,
                customer_id: id,
                feedback_id: None,
                title: format!("Quarterly review {quarter}"),
                assignee_id: owner.clone(),
                due_at: Some(due),
                created_by: ACTOR.into(),
            };
            if insert_once(&txn, draft, key, at).await?.is_some() {
                result.reviews += 1;
            } else {
                caps.give_back(owner.as_ref());
            }
        }
        txn.commit().await?;
    }
    Ok(())
}

/// A customer as care moments read it.
type CareRow = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// Creates a care task for each birthday and relationship anniversary from
/// `care_lead_days` ahead, once per moment and year, on the customer's
/// local date (its own time zone, else the business calendar's), due by
/// the end of that day.
///
/// # Errors
/// Database failures (batches already done stay done).
pub async fn run_care(db: &impl Store, at: DateTime<Utc>) -> AppResult<CareRunResult> {
    let s = settings(db).await?;
    let mut result = CareRunResult::default();
    if !s.birthdays && !s.anniversaries {
        return Ok(result);
    }
    let calendar = business_calendar(db).await?;
    let mut after: Option<Uuid> = None;
    loop {
        let q = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::OwnerId)
            .column(customer::Column::TimeZone)
            .column(customer::Column::Birthday)
            .column(customer::Column::RelationshipStart)
            .filter(
                Condition::any()
                    .add(customer::Column::Birthday.is_not_null())
                    .add(customer::Column::RelationshipStart.is_not_null()),
            );
        let rows: Vec<CareRow> = batch(db, q, after).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let txn = begin(db).await?;
        for (id, owner, zone, birthday, start) in rows {
            let zone: Tz = zone.and_then(|z| z.parse().ok()).unwrap_or(calendar.time_zone);
            let birthday = birthday.filter(|_| s.birthdays);
            let start = start.filter(|_| s.anniversaries);
            for (moment, date) in due_moments(birthday, start, local_date(at, zone), s.care_lead_days) {
                let title = match moment {
                    Moment::Birthday => format!("Birthday on {date}"),
                    Moment::Anniversary(years) => {
                        format!("{years}-year relationship anniversary on {date}")
                    }
                };
                let draft = TaskDraft {
                    kind: TaskKind::Care,
                    customer_id: id,
                    feedback_id: None,
                    title,
                    assignee_id: owner.clone(),
                    due_at: Some(end_of_day(date, zone)),
                    created_by: ACTOR.into(),
                };
                let key = format!("care:{}:{id}:{}", moment.key(), chrono::Datelike::year(&date));
                if insert_once(&txn, draft, key, at).await?.is_some() {
                    match moment {
                        Moment::Birthday => result.birthdays += 1,
                        Moment::Anniversary(_) => result.anniversaries += 1,
                    }
                }
            }
        }
        txn.commit().await?;
    }
    Ok(result)
}
