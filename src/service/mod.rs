//! Use cases per area. The only layer that talks to the database; REST
//! handlers and GraphQL resolvers call these functions and nothing below them.

pub mod bulk;
pub mod cadence;
pub mod contacts;
pub mod customer_list;
pub mod customers;
pub mod events;
pub mod feedback;
pub mod feedback_report;
pub mod health;
pub mod idempotency;
pub mod interactions;
pub mod jobs;
pub mod loyalty;
pub mod mask;
pub mod needs;
pub mod orders;
pub mod overview;
pub mod paging;
pub mod parts;
pub mod payments;
pub mod privacy;
pub mod rfm;
pub mod segment_fields;
pub mod segments;
pub mod settings;
pub mod sla;
pub mod staff;
pub mod surveys;
pub mod tasks;
pub mod webhooks;
pub(crate) mod window;

use crate::contract::Patch;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::error::AppResult;

/// The current time, at the microsecond precision both databases keep.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A new time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Where a service reads and writes: the pool, or the transaction an
/// idempotent request runs in (its changes and its stored response commit
/// together). A service's own transaction inside the request's is a savepoint.
pub trait Store: ConnectionTrait + Send + Sync {
    /// Starts a transaction (a savepoint inside one).
    fn open(&self) -> impl std::future::Future<Output = Result<DatabaseTransaction, sea_orm::DbErr>> + Send;
}

impl Store for DatabaseConnection {
    fn open(&self) -> impl std::future::Future<Output = Result<DatabaseTransaction, sea_orm::DbErr>> + Send {
        self.begin()
    }
}

impl Store for DatabaseTransaction {
    fn open(&self) -> impl std::future::Future<Output = Result<DatabaseTransaction, sea_orm::DbErr>> + Send {
        self.begin()
    }
}

/// Opens a transaction; writes that touch several rows go through one.
///
/// # Errors
/// Fails when the database cannot start a transaction.
pub async fn begin(db: &impl Store) -> AppResult<DatabaseTransaction> {
    let txn = db.open().await?;
    write_lock(&txn).await?;
    Ok(txn)
}

/// [`begin`] for long work that must not fail on a busy SQLite file: a bulk
/// import writes batch after batch, and between two batches every job of the
/// instance queues for the same write lock (SQLite's busy wait is not fair),
/// so one wait past the busy timeout is tried again, for up to `patience`.
///
/// # Errors
/// As [`begin`], once patience runs out.
pub async fn begin_patiently(db: &impl Store, patience: std::time::Duration) -> AppResult<DatabaseTransaction> {
    let started = std::time::Instant::now();
    loop {
        match db.open().await {
            Ok(txn) => match write_lock(&txn).await {
                Ok(()) => return Ok(txn),
                Err(e) if is_busy(&e) && started.elapsed() < patience => {
                    drop(txn);
                    tracing::debug!("the database is busy; waiting for the write lock again");
                }
                Err(e) => return Err(e.into()),
            },
            Err(e) if is_busy(&e) && started.elapsed() < patience => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether SQLite gave up waiting for its lock (`SQLITE_BUSY`).
fn is_busy(e: &sea_orm::DbErr) -> bool {
    e.to_string().contains("database is locked")
}

/// On SQLite, takes the database's write lock at the start of a transaction
/// (a no-op `UPDATE` does; PostgreSQL locks rows instead). A transaction
/// that read first and wrote later would otherwise fail, not wait, when
/// another connection commits a write in between; holding the lock from the
/// start makes concurrent writers queue within the busy timeout.
///
/// # Errors
/// Database failures (the lock not had within the busy timeout).
pub(crate) async fn write_lock(txn: &DatabaseTransaction) -> Result<(), sea_orm::DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE seaql_migrations SET version = version WHERE 1 = 0")
            .await?;
    }
    Ok(())
}

/// A sum of minor units that cannot overflow: PostgreSQL sums `bigint` into
/// `numeric` and the result stops at the largest `bigint`; SQLite sums in
/// floating point (`TOTAL`, exact up to 2^53 ≈ 9.0 × 10^15) and its cast back
/// stops at the same ceiling. An empty sum is 0.
pub(crate) fn sum_minor(backend: sea_orm::DbBackend, expr: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => {
            format!("CAST(LEAST(COALESCE(SUM({expr}), 0), 9223372036854775807) AS BIGINT)")
        }
        _ => format!("CAST(TOTAL({expr}) AS INTEGER)"),
    }
}

/// Whole days from the instant in `timestamp_sql` to `now`, in SQL.
pub(crate) fn days_since(
    backend: sea_orm::DbBackend,
    now: chrono::DateTime<chrono::Utc>,
    timestamp_sql: &str,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::Expr;
    match backend {
        sea_orm::DbBackend::Postgres => Expr::cust_with_values(
            format!("FLOOR(EXTRACT(EPOCH FROM (CAST($1 AS timestamptz) - {timestamp_sql})) / 86400)"),
            [now],
        ),
        _ => Expr::cust_with_values(
            format!("CAST(julianday(?) - julianday({timestamp_sql}) AS INTEGER)"),
            [now],
        ),
    }
}

/// Parses a nullable field of a partial update: `None` leaves the field
/// alone, `Some(None)` clears it, `Some(Some(v))` sets it; a parse failure is
/// recorded under `path` and leaves the field alone.
pub(crate) fn patch_field<T, U>(
    c: &mut crate::domain::Checker,
    path: &str,
    value: Patch<T>,
    parse: impl FnOnce(T) -> Result<U, String>,
) -> Option<Option<U>> {
    match value {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(v) => c.check(path, parse(v)).map(Some),
    }
}
