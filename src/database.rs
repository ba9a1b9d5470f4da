//! The database as the service meets it: connecting (with the timeouts that
//! keep an outage short), migrating under a lock, telling an outage from a
//! fault, and the readiness probe's look at it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use migration::MigratorTrait;
use sea_orm::sqlx;
use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, RuntimeErr,
    Statement, TransactionTrait,
};

use crate::config::Settings;

/// Connects to the database with logging of every statement turned off, and
/// counts statements into `counter`. A database that refuses connections is
/// tried again until the connect timeout has passed (instances may start
/// before it is up); a request later waits at most the acquire timeout for a
/// connection, opening one included.
///
/// # Errors
/// Fails when the database cannot be reached within the connect timeout.
pub async fn connect(settings: &Settings, counter: Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    let s = &settings.database;
    let mut opts = ConnectOptions::new(s.url.clone());
    let busy = Duration::from_millis(s.busy_timeout_ms);
    opts.max_connections(s.max_connections)
        .acquire_timeout(Duration::from_millis(s.acquire_timeout_ms.max(1)))
        .test_before_acquire_if_idle_for(Duration::from_secs(s.ping_idle_secs))
        .map_sqlx_sqlite_opts(move |o| o.busy_timeout(busy))
        .sqlx_logging(false);
    let deadline = Instant::now() + Duration::from_millis(s.connect_timeout_ms);
    let mut db = loop {
        match Database::connect(opts.clone()).await {
            Ok(db) => break db,
            Err(e) if is_unavailable(&e) && Instant::now() < deadline => {
                tracing::warn!(error = %e, "the database is not reachable yet; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("connecting to the database ({})", redact_url(&s.url)));
            }
        }
    };
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        // WAL lets readers proceed while one writer commits.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The PostgreSQL advisory lock key migrations run under (any constant
/// the application uses for nothing else).
const MIGRATION_LOCK: i64 = 0x7261_7070_6f72_7401;

/// Runs pending migrations. On PostgreSQL they run in one transaction under
/// an advisory lock, so instances starting together take turns: the first
/// migrates, the others wait, then find nothing pending (SQLite serialises
/// writers by itself). A database holding a migration this build does not
/// know (a newer release migrated it) is refused. With nothing pending,
/// nothing is written, so an instance pointed at a read-only database (a
/// replica) starts, and says through `/readyz` that it takes no writes.
///
/// # Errors
/// Fails when a migration fails, or the database is newer than this build.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    match migration::Migrator::get_pending_migrations_read_only(db).await {
        Ok(pending) if pending.is_empty() => return Ok(()),
        Ok(_) => {}
        Err(e) => return Err(refusal(e)),
    }
    let result = if db.get_database_backend() == DatabaseBackend::Postgres {
        let txn = db.begin().await.context("starting the migrations' transaction")?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .context("waiting for the migration lock")?;
        match migration::Migrator::up(&txn, None).await {
            Ok(()) => txn.commit().await,
            Err(e) => Err(e),
        }
    } else {
        migration::Migrator::up(db, None).await
    };
    result.map_err(refusal)
}

fn refusal(e: DbErr) -> anyhow::Error {
    let message = e.to_string();
    if message.contains("has been applied but its file is missing") {
        anyhow::anyhow!(
            "the database was migrated by a newer release than this one ({message}); \
             run that release or newer — this one refuses to start rather than work on a schema it does not know"
        )
    } else {
        anyhow::Error::new(e).context("running migrations")
    }
}

/// How the database failed a statement, when the failure is an outage —
/// it could not be reached, dropped the connection, or would not take the
/// statement now — rather than a fault in the statement. Such a request is
/// answered 503 and may be retried; anything else is a fault of ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// No connection could be had within the acquire timeout (the database
    /// is down, starting, or out of connections).
    Unreachable,
    /// The connection broke under the statement (a restart, a network cut):
    /// a read may be tried again on another connection.
    Dropped,
    /// The database is up but takes no writes now: read-only (a replica, a
    /// primary set read-only), or (SQLite) locked past the busy timeout.
    Refused,
}

/// The outage a database error reports, if it is one.
pub fn outage(err: &DbErr) -> Option<Outage> {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            Some(Outage::Unreachable)
        }
        DbErr::Conn(RuntimeErr::SqlxError(e)) => sqlx_outage(e).map(|_| Outage::Unreachable),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_outage(e),
        _ => None,
    }
}

/// Whether a database error is an outage (see [`outage`]).
pub fn is_unavailable(err: &DbErr) -> bool {
    outage(err).is_some()
}

fn sqlx_outage(err: &sqlx::Error) -> Option<Outage> {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => {
            Some(Outage::Dropped)
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Some(Outage::Unreachable),
        sqlx::Error::Database(e) => {
            let code = e.code().unwrap_or_default();
            if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse().ok().and_then(sqlite_outage)
            } else {
                postgres_outage(&code)
            }
        }
        _ => None,
    }
}

/// PostgreSQL SQLSTATEs that mean "not now" rather than "not so":
/// connection exceptions (class 08) and a server shutting down (57P01,
/// 57P02) drop the connection; one starting up (57P03) or out of
/// connections cannot be reached; a read-only transaction (a replica, or a
/// primary set read-only) refuses, and so does a replica cancelling a read
/// that conflicts with replay (40001; the service runs nothing serializable,
/// so on the primary it does not occur).
fn postgres_outage(code: &str) -> Option<Outage> {
    match code {
        c if c.starts_with("08") => Some(Outage::Dropped),
        "57P01" | "57P02" => Some(Outage::Dropped),
        "57P03" | "53300" => Some(Outage::Unreachable),
        "25006" | "40001" => Some(Outage::Refused),
        _ => None,
    }
}

/// SQLite result codes (extended; the primary code is the low byte) that
/// mean "not now": busy or locked past the busy timeout, read-only, an I/O
/// error, a full disk, a file that cannot be opened.
fn sqlite_outage(code: u32) -> Option<Outage> {
    matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14).then_some(Outage::Refused)
}

/// After a dropped connection, tests the pooled connections that sit idle,
/// so that a retry gets a live one: a connection that fails its ping is
/// closed when handed back (the pool pings on release), and the pool opens a
/// fresh one in its place.
pub async fn weed_out_dead_connections(db: &DatabaseConnection) {
    use sqlx::Connection;
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            for _ in 0..pool.num_idle() {
                let Some(mut conn) = pool.try_acquire() else { break };
                let _ = conn.ping().await;
            }
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            for _ in 0..pool.num_idle() {
                let Some(mut conn) = pool.try_acquire() else { break };
                let _ = conn.ping().await;
            }
        }
        _ => {}
    }
}

/// Why an instance is not ready to take traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// The database did not answer within the probe's timeout, or failed.
    Unreachable,
    /// This build knows migrations the database has not had yet.
    MigrationsPending,
    /// The database takes no writes (a replica, or a primary set read-only).
    ReadOnly,
}

impl NotReady {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "database unavailable",
            Self::MigrationsPending => "migrations pending",
            Self::ReadOnly => "database read-only",
        }
    }
}

/// Remembers that no migration was pending: a migration, once applied, is
/// never pending again for this build, so the probe stops asking.
#[derive(Default)]
pub struct MigrationsChecked(AtomicBool);

/// The readiness probe's look at the database, bounded by `timeout`
/// whatever the pool is doing.
pub async fn check_ready(
    db: &DatabaseConnection,
    migrations: &MigrationsChecked,
    timeout: Duration,
) -> Result<(), NotReady> {
    match tokio::time::timeout(timeout, probe(db, migrations)).await {
        Ok(result) => result,
        Err(_) => Err(NotReady::Unreachable),
    }
}

async fn probe(db: &DatabaseConnection, migrations: &MigrationsChecked) -> Result<(), NotReady> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only"
        }
        _ => "SELECT CAST(0 AS BOOLEAN) AS read_only",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            NotReady::Unreachable
        })?
        .ok_or(NotReady::Unreachable)?;
    if row.try_get::<bool>("", "read_only").unwrap_or(false) {
        return Err(NotReady::ReadOnly);
    }
    if !migrations.0.load(Ordering::Relaxed) {
        let pending = migration::Migrator::get_pending_migrations_read_only(db)
            .await
            .map_err(|_| NotReady::Unreachable)?;
        if !pending.is_empty() {
            return Err(NotReady::MigrationsPending);
        }
        migrations.0.store(true, Ordering::Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Outage, postgres_outage, sqlite_outage};

    #[test]
    fn outage_codes_are_told_from_faults() {
        for code in ["08006", "08001", "57P01", "57P02"] {
            assert_eq!(postgres_outage(code), Some(Outage::Dropped), "{code}");
        }
        assert_eq!(postgres_outage("57P03"), Some(Outage::Unreachable));
        assert_eq!(postgres_outage("53300"), Some(Outage::Unreachable));
        assert_eq!(postgres_outage("25006"), Some(Outage::Refused));
        assert_eq!(postgres_outage("40001"), Some(Outage::Refused));
        // A unique violation, a syntax error, more than one row from a subquery, a deadlock.
        for code in ["23505", "42601", "21000", "40P01"] {
            assert_eq!(postgres_outage(code), None, "{code}");
        }
        // BUSY, BUSY_SNAPSHOT, BUSY_RECOVERY, LOCKED, READONLY, READONLY_DBMOVED.
        for code in [5, 517, 261, 6, 8, 1032] {
            assert_eq!(sqlite_outage(code), Some(Outage::Refused), "{code}");
        }
        // CONSTRAINT_UNIQUE, CONSTRAINT, ERROR.
        for code in [2067, 19, 1] {
            assert_eq!(sqlite_outage(code), None, "{code}");
        }
    }
}
