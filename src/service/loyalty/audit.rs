//! Proof the ledger holds: the audit (set-based over every account), a
//! customer's statement for a period, and the program's liability.

use chrono::{DateTime, Duration, Utc};
use entity::loyalty_entry;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use uuid::Uuid;

use super::{Holder, entry_views, resolve};
use crate::auth::{Actor, policy};
use crate::contract::loyalty::{
    AuditProblem, AuditReport, LiabilityQuery, LiabilityReport, MonthPoints, Statement as LoyaltyStatement,
    StatementQuery,
};
use crate::error::{AppError, AppResult};
use crate::service::{Store, now};

/// Most entries one statement lists; a longer period is asked for in parts.
const MAX_STATEMENT_ENTRIES: usize = 5_000;

/// Each check is one statement returning (check, customer, lot, expected,
/// actual) for the rows that break it.
const CHECKS: [&str; 5] = [
    // Balance = the ledger's sum.
    "SELECT 'balance' AS \"check\", a.customer_id, NULL AS lot_id, \
       COALESCE((SELECT SUM(e.points) FROM loyalty_entry e WHERE e.customer_id = a.customer_id), 0) AS expected, \
       a.points - a.debt AS actual \
     FROM loyalty_account a \
     WHERE a.points - a.debt <> COALESCE((SELECT SUM(e.points) FROM loyalty_entry e WHERE e.customer_id = a.customer_id), 0)",
    // Points held = what the lots hold.
    "SELECT 'lots' AS \"check\", a.customer_id, NULL AS lot_id, \
       COALESCE((SELECT SUM(l.remaining) FROM loyalty_lot l WHERE l.customer_id = a.customer_id), 0) AS expected, \
       a.points AS actual \
     FROM loyalty_account a \
     WHERE a.points <> COALESCE((SELECT SUM(l.remaining) FROM loyalty_lot l WHERE l.customer_id = a.customer_id), 0)",
    // Each lot = its moves' sum (its first move is its whole points).
    "SELECT 'lot' AS \"check\", l.customer_id, l.id AS lot_id, \
       COALESCE((SELECT SUM(m.points) FROM loyalty_lot_move m WHERE m.lot_id = l.id), 0) AS expected, \
       l.remaining AS actual \
     FROM loyalty_lot l \
     WHERE l.remaining <> COALESCE((SELECT SUM(m.points) FROM loyalty_lot_move m WHERE m.lot_id = l.id), 0)",
    // The last entry's balance is the account's.
    "SELECT 'balance_after' AS \"check\", a.customer_id, NULL AS lot_id, \
       a.points - a.debt AS expected, e.balance_after AS actual \
     FROM loyalty_account a \
     JOIN loyalty_entry e ON e.customer_id = a.customer_id AND e.seq = a.last_seq \
     WHERE e.balance_after <> a.points - a.debt",
    // Entries are numbered 1, 2, … per account without a gap.
    "SELECT 'seq' AS \"check\", a.customer_id, NULL AS lot_id, a.last_seq AS expected, \
       (SELECT COUNT(*) FROM loyalty_entry e WHERE e.customer_id = a.customer_id) AS actual \
     FROM loyalty_account a \
     WHERE a.last_seq <> (SELECT COUNT(*) FROM loyalty_entry e WHERE e.customer_id = a.customer_id)",
];

#[derive(FromQueryResult)]
struct Row {
    check: String,
    customer_id: Uuid,
    lot_id: Option<Uuid>,
    expected: i64,
    actual: i64,
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(conn: &impl ConnectionTrait, table: &str) -> AppResult<i64> {
    let backend = conn.get_database_backend();
    Ok(Count::find_by_statement(Statement::from_string(
        backend,
        format!("SELECT COUNT(*) AS n FROM {table}"),
    ))
    .one(conn)
    .await?
    .map_or(0, |c| c.n))
}

/// Checks every account: balance = ledger sum, points = what the lots hold,
/// each lot = its moves, the last entry's balance = the account's, entries
/// numbered without a gap.
///
/// # Errors
/// `Forbidden` unless admin.
pub async fn audit(db: &impl Store, actor: &Actor) -> AppResult<AuditReport> {
    policy::administer(actor)?;
    let backend = db.get_database_backend();
    let mut problems = Vec::new();
    for sql in CHECKS {
        // PostgreSQL sums bigints as numeric; the cast keeps one shape.
        let sql = format!(
            "SELECT \"check\", customer_id, lot_id, CAST(expected AS BIGINT) AS expected, \
             CAST(actual AS BIGINT) AS actual FROM ({sql}) t LIMIT 100"
        );
        for row in Row::find_by_statement(Statement::from_string(backend, sql))
            .all(db)
            .await?
        {
            problems.push(AuditProblem {
                check: row.check,
                customer_id: row.customer_id,
                lot_id: row.lot_id,
                expected: row.expected,
                actual: row.actual,
            });
        }
    }
    problems.truncate(100);
    Ok(AuditReport {
        accounts: count(db, "loyalty_account").await?,
        entries: count(db, "loyalty_entry").await?,
        lots: count(db, "loyalty_lot").await?,
        clean: problems.is_empty(),
        problems,
    })
}

/// A customer's statement: the balance before `from`, every entry in
/// `[from, to)` with the lots it moved, and the balance at `to`.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Validation` for a period that is empty, longer
/// than 366 days, or holds more than 5,000 entries.
pub async fn statement(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    q: &StatementQuery,
) -> AppResult<LoyaltyStatement> {
    let customer_id = resolve(db, actor, holder).await?;
    if q.to <= q.from {
        return Err(AppError::field("to", "must be after from"));
    }
    if q.to - q.from > Duration::days(366) {
        return Err(AppError::field("to", "must be at most 366 days after from"));
    }
    let balance_before = async |at| -> AppResult<i64> {
        Ok(loyalty_entry::Entity::find()
            .filter(loyalty_entry::Column::CustomerId.eq(customer_id))
            .filter(loyalty_entry::Column::CreatedAt.lt(at))
            .order_by_desc(loyalty_entry::Column::Seq)
            .one(db)
            .await?
            .map_or(0, |e| e.balance_after))
    };
    let opening_balance = balance_before(q.from).await?;
    let closing_balance = balance_before(q.to).await?;
    let entries = loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::CustomerId.eq(customer_id))
        .filter(loyalty_entry::Column::CreatedAt.gte(q.from))
        .filter(loyalty_entry::Column::CreatedAt.lt(q.to))
        .order_by_asc(loyalty_entry::Column::Seq)
        .limit(u64::try_from(MAX_STATEMENT_ENTRIES + 1).unwrap_or(u64::MAX))
        .all(db)
        .await?;
    if entries.len() > MAX_STATEMENT_ENTRIES {
        return Err(AppError::field(
            "to",
            "the period holds more than 5000 entries; ask for a shorter one",
        ));
    }
    Ok(LoyaltyStatement {
        customer_id,
        from: q.from,
        to: q.to,
        opening_balance,
        entries: entry_views(db, actor, entries).await?,
        closing_balance,
    })
}

#[derive(FromQueryResult)]
struct Bucket {
    at: DateTime<Utc>,
    pending: i32,
    points: i64,
}

#[derive(FromQueryResult)]
struct Totals {
    debt: i64,
    unrecovered: i64,
}

/// The local month a lot falls due in: the month of the last instant
/// before its expiry (expiry is the first instant of the next day or month).
fn due_month(zone: chrono_tz::Tz, expires_at: DateTime<Utc>) -> String {
    crate::domain::loyalty::month_of(zone, expires_at - chrono::Duration::microseconds(1))
}

fn by_month(zone: chrono_tz::Tz, buckets: impl Iterator<Item = (DateTime<Utc>, i64)>) -> Vec<MonthPoints> {
    let mut months: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (at, points) in buckets {
        *months.entry(due_month(zone, at)).or_default() += points;
    }
    months
        .into_iter()
        .filter(|(_, p)| *p != 0)
        .map(|(month, points)| MonthPoints { month, points })
        .collect()
}

/// What the program owes at an instant, rebuilt from the lots' moves up to
/// it (so a past date reports as it stood then). Counted in SQL, grouped by
/// expiry instant; months are the program's time zone's.
///
/// # Errors
/// `Forbidden` for agents and customers.
pub async fn liability(db: &impl Store, actor: &Actor, q: &LiabilityQuery) -> AppResult<LiabilityReport> {
    policy::read_reports(actor)?;
    let as_of = q.as_of.unwrap_or_else(now);
    let program = super::program(db).await?;
    let zone: chrono_tz::Tz = program.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let backend = db.get_database_backend();
    let p = |sql: &str| match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace("$1", "?"),
    };
    let sum = |expr: &str| crate::service::sum_minor(backend, expr);
    let held = Bucket::find_by_statement(Statement::from_sql_and_values(
        backend,
        p(&format!(
            "SELECT l.expires_at AS at, CASE WHEN l.available_at > $1 THEN 1 ELSE 0 END AS pending, \
             {} AS points \
             FROM loyalty_lot_move m JOIN loyalty_entry e ON e.id = m.entry_id JOIN loyalty_lot l ON l.id = m.lot_id \
             WHERE e.created_at <= $1 AND l.expires_at > $1 \
             GROUP BY l.expires_at, CASE WHEN l.available_at > $1 THEN 1 ELSE 0 END",
            sum("m.points")
        )),
        [as_of.into()],
    ))
    .all(db)
    .await?;
    let expired = Bucket::find_by_statement(Statement::from_sql_and_values(
        backend,
        p(&format!(
            "SELECT l.expires_at AS at, 0 AS pending, {} AS points \
             FROM loyalty_lot_move m JOIN loyalty_entry e ON e.id = m.entry_id JOIN loyalty_lot l ON l.id = m.lot_id \
             WHERE e.kind = 'expire' AND e.created_at <= $1 \
             GROUP BY l.expires_at",
            sum("-m.points")
        )),
        [as_of.into()],
    ))
    .all(db)
    .await?;
    let totals = Totals::find_by_statement(Statement::from_sql_and_values(
        backend,
        p(&format!(
            "SELECT {} AS debt, {} AS unrecovered FROM loyalty_entry WHERE created_at <= $1",
            sum("debt_change"),
            sum("unrecovered")
        )),
        [as_of.into()],
    ))
    .one(db)
    .await?;
    let spendable: i64 = held.iter().filter(|b| b.pending == 0).map(|b| b.points).sum();
    let pending: i64 = held.iter().filter(|b| b.pending != 0).map(|b| b.points).sum();
    Ok(LiabilityReport {
        as_of,
        time_zone: zone.name().to_owned(),
        outstanding: spendable + pending,
        spendable,
        pending,
        outstanding_by_expiry_month: by_month(zone, held.iter().map(|b| (b.at, b.points))),
        debt: totals.as_ref().map_or(0, |t| t.debt),
        unrecovered: totals.as_ref().map_or(0, |t| t.unrecovered),
        expired_by_month: by_month(zone, expired.iter().map(|b| (b.at, b.points))),
    })
}
