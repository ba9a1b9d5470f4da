//! Set-wide reads — reports, analytics, previews, exports — on a streaming
//! replica, with read-your-writes. Every write answer carries a consistency
//! token: the primary's WAL position after the commit. A read sent with it
//! goes to the replica only once the replica has replayed that position,
//! otherwise to the primary. A replica that lags beyond the bound, or is
//! down, is skipped: the read goes to the primary, never fails for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};

use crate::config::Settings;

/// The header that carries the token: on write answers, and back on reads.
pub const TOKEN_HEADER: &str = "consistency-token";

/// How often the replica's lag is measured.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// A measurement older than this is not trusted: the replica is skipped.
const STALE_AFTER: Duration = Duration::from_secs(3);
/// The longest a read waits to learn whether the replica has its write.
const LIVE_CHECK: Duration = Duration::from_millis(250);

/// A position in PostgreSQL's write-ahead log, as `pg_lsn` prints it
/// (`16/B374D848`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses `hi/lo` (hexadecimal halves).
    pub fn parse(raw: &str) -> Option<Self> {
        let (hi, lo) = raw.trim().split_once('/')?;
        if hi.is_empty() || lo.is_empty() || hi.len() > 8 || lo.len() > 8 {
            return None;
        }
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        Some(Self((hi << 32) | lo))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The replica and what the last measurement said of it.
pub struct Replica {
    db: DatabaseConnection,
    max_lag_ms: u64,
    started: Instant,
    up: AtomicBool,
    /// Milliseconds since `started` of the last good measurement.
    checked_at_ms: AtomicU64,
    lag_ms: AtomicU64,
    replayed: AtomicU64,
}

impl Replica {
    /// The replica named by the settings, if any. Its pool connects lazily,
    /// so an instance starts whether or not the replica is up.
    ///
    /// # Errors
    /// A URL that is not PostgreSQL's.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Option<Arc<Self>>> {
        let Some(url) = settings.database.read_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !url.starts_with("postgres") || !settings.database.url.starts_with("postgres") {
            anyhow::bail!(
                "database.read_url must be a PostgreSQL URL, a streaming replica of a PostgreSQL primary \
                 (an SQLite database has no replicas)"
            );
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(settings.database.max_connections)
            .acquire_timeout(Duration::from_millis(
                settings.database.acquire_timeout_ms.clamp(1, 1_000),
            ))
            .test_before_acquire_if_idle_for(Duration::from_secs(settings.database.ping_idle_secs))
            .connect_lazy(true)
            .sqlx_logging(false);
        let db = Database::connect(opts).await?;
        Ok(Some(Arc::new(Self {
            db,
            max_lag_ms: settings.database.read_max_lag_ms,
            started: Instant::now(),
            up: AtomicBool::new(false),
            checked_at_ms: AtomicU64::new(0),
            lag_ms: AtomicU64::new(u64::MAX),
            replayed: AtomicU64::new(0),
        })))
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the last measurement is recent and within the lag bound.
    fn usable(&self) -> bool {
        self.up.load(Ordering::SeqCst)
            && self
                .elapsed_ms()
                .saturating_sub(self.checked_at_ms.load(Ordering::SeqCst))
                < u64::try_from(STALE_AFTER.as_millis()).unwrap_or(u64::MAX)
            && self.lag_ms.load(Ordering::SeqCst) <= self.max_lag_ms
    }

    /// The lag last measured, in milliseconds (`None` while down).
    pub fn lag_ms(&self) -> Option<u64> {
        self.up
            .load(Ordering::SeqCst)
            .then(|| self.lag_ms.load(Ordering::SeqCst))
    }

    /// Takes the replica out until the next good measurement (a read on it failed).
    pub fn mark_down(&self) {
        self.up.store(false, Ordering::SeqCst);
    }

    /// The connection a set-wide read should use: the replica's when it is
    /// usable and (given a token) has replayed the token's position.
    pub async fn choose(&self, token: Option<Lsn>) -> Option<&DatabaseConnection> {
        if !self.usable() {
            return None;
        }
        if let Some(token) = token
            && Lsn(self.replayed.load(Ordering::SeqCst)) < token
        {
            let live = tokio::time::timeout(LIVE_CHECK, replayed(&self.db)).await.ok()?.ok()?;
            self.replayed.fetch_max(live.0, Ordering::SeqCst);
            if live < token {
                return None;
            }
        }
        Some(&self.db)
    }

    /// Measures once: the replica's replayed position against the primary's.
    async fn check(&self, primary: &DatabaseConnection) -> anyhow::Result<()> {
        let head = current(primary).await?;
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed,
                        COALESCE((EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0) AS since",
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no row"))?;
        let standby: bool = row.try_get("", "standby")?;
        let replayed = row
            .try_get::<Option<String>>("", "replayed")?
            .as_deref()
            .and_then(Lsn::parse)
            .filter(|_| standby)
            .ok_or_else(|| anyhow::anyhow!("the read database is not a standby"))?;
        let since: i64 = row.try_get("", "since")?;
        let lag = if replayed >= head {
            0
        } else {
            u64::try_from(since).unwrap_or(0)
        };
        self.replayed.fetch_max(replayed.0, Ordering::SeqCst);
        self.lag_ms.store(lag, Ordering::SeqCst);
        self.checked_at_ms.store(self.elapsed_ms(), Ordering::SeqCst);
        self.up.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Measures every half second until `stop` turns true.
    pub fn watch(
        self: &Arc<Self>,
        primary: DatabaseConnection,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(CHECK_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                let result = tokio::time::timeout(CHECK_EVERY * 2, me.check(&primary)).await;
                if !matches!(result, Ok(Ok(()))) && me.up.swap(false, Ordering::SeqCst) {
                    tracing::warn!(
                        ?result,
                        "the read replica is out of reach; set-wide reads go to the primary"
                    );
                }
            }
        })
    }
}

/// The primary's WAL position now: a commit that has returned is at or
/// before it.
///
/// # Errors
/// Database failures.
pub async fn current(primary: &impl ConnectionTrait) -> anyhow::Result<Lsn> {
    lsn(primary, "SELECT pg_current_wal_lsn()::text AS lsn").await
}

async fn replayed(replica: &DatabaseConnection) -> anyhow::Result<Lsn> {
    lsn(replica, "SELECT pg_last_wal_replay_lsn()::text AS lsn").await
}

async fn lsn(db: &impl ConnectionTrait, sql: &str) -> anyhow::Result<Lsn> {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    row.try_get::<Option<String>>("", "lsn")?
        .as_deref()
        .and_then(Lsn::parse)
        .ok_or_else(|| anyhow::anyhow!("no WAL position"))
}

#[cfg(test)]
mod tests {
    use super::Lsn;

    #[test]
    fn wal_positions_parse_compare_and_print_back() {
        let a = Lsn::parse("16/B374D848").expect("lsn");
        assert_eq!(a.0, (0x16 << 32) | 0xB374_D848);
        assert_eq!(a.to_string(), "16/B374D848");
        assert!(Lsn::parse("0/3000148").expect("lsn") < Lsn::parse("1/0").expect("lsn"));
        for bad in ["", "/", "1/", "/1", "x/1", "123456789/0", "1-2", "0/3000148/1"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }
}
