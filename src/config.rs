//! Layered configuration: built-in defaults < optional `rapport.toml` <
//! `RAPPORT__SECTION__KEY` environment variables (and `DATABASE_URL`).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The default database: an SQLite file beside the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://rapport.db?mode=rwc";

/// Waits before each webhook retry, in seconds (Standard Webhooks' schedule).
pub const DEFAULT_RETRY_SCHEDULE: &str = "5,300,1800,7200,18000,36000,36000";

impl WebhookSettings {
    /// The waits before each retry.
    ///
    /// # Errors
    /// An entry that is not a number of seconds.
    pub fn retry_schedule(&self) -> anyhow::Result<Vec<u64>> {
        self.retry_schedule_secs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| anyhow::anyhow!("webhooks.retry_schedule_secs: {s:?} is not a number of seconds"))
            })
            .collect()
    }
}

/// The default cap on a request body, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the application reads at start-up.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub jobs: JobSettings,
    pub graphql: GraphqlSettings,
    pub events: EventSettings,
    pub webhooks: WebhookSettings,
    pub idempotency: IdempotencySettings,
    pub rate_limit: RateLimitSettings,
    pub imports: ImportSettings,
}

/// Bulk imports.
#[derive(Clone, Debug, Deserialize)]
pub struct ImportSettings {
    /// Largest upload, in bytes (default 536870912, 512 MiB); spooled to disk.
    pub max_bytes: usize,
}
/// Request quotas, per instance; 0 turns one off.
#[derive(Clone, Debug, Deserialize)]
pub struct RateLimitSettings {
    /// Requests per minute per token subject (default 1200).
    pub token_per_minute: u32,
    /// Requests per minute per client IP without a valid token (default 120).
    pub ip_per_minute: u32,
}
/// Stored answers of idempotent requests.
#[derive(Clone, Debug, Deserialize)]
pub struct IdempotencySettings {
    /// Hours an answer is kept for replay (default 24, at least 24).
    pub retention_hours: u32,
}
/// Webhook delivery.
#[derive(Clone, Debug, Deserialize)]
pub struct WebhookSettings {
    /// Seconds an attempt may take, connection to last byte (default 15).
    pub timeout_secs: u64,
    /// Seconds to wait before each retry, comma-separated; one more attempt
    /// than entries (default `5,300,1800,7200,18000,36000,36000`: 8 attempts
    /// over about 27 hours). Each wait is jittered by up to ±10%.
    pub retry_schedule_secs: String,
    /// The longest `Retry-After` honoured, in seconds (default 86400).
    pub max_retry_after_secs: u64,
    /// A subscription failing without a break for this long is turned off
    /// (default 432000, five days).
    pub disable_after_secs: u64,
    /// Seconds the secret before a rotation keeps signing (default 86400).
    pub secret_overlap_secs: u64,
    /// Comma-separated addresses or CIDR blocks webhooks may reach although
    /// they are private (default none), e.g. `127.0.0.1,10.8.0.0/16`.
    pub allow_private_networks: String,
    /// Deliveries one instance sends at once (default 64).
    pub max_in_flight: usize,
    /// Of those, at most this many to one subscription (default 4), so a slow
    /// endpoint cannot hold up the others.
    pub max_in_flight_per_webhook: usize,
}
/// The event log.
#[derive(Clone, Debug, Deserialize)]
pub struct EventSettings {
    /// Days an event stays readable in the feed (default 30).
    pub retention_days: u32,
}

/// Who may introspect the GraphQL schema.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Introspection {
    /// Staff tokens (admin, manager, agent, analyst, partner) only.
    Staff,
    /// Nobody.
    Off,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GraphqlSettings {
    pub introspection: Introspection,
}

/// Background jobs; an interval of 0 turns a job off.
#[derive(Clone, Debug, Deserialize)]
pub struct JobSettings {
    /// Seconds between RFM, tier and lifetime-value recomputes (default 86400).
    pub rfm_interval_secs: u64,
    /// Seconds between refreshes of every dynamic segment (default 3600).
    pub segment_refresh_interval_secs: u64,
    /// Seconds between SLA sweeps of feedback clocks (default 60).
    pub sla_sweep_interval_secs: u64,
    /// Seconds between deletions of events past retention (default 3600).
    pub event_retention_interval_secs: u64,
    /// Seconds between fan-outs of new events into webhook deliveries (default 1).
    pub webhook_fanout_interval_secs: u64,
    /// Seconds between runs of the webhook sender on each instance (default 1).
    pub webhook_delivery_interval_secs: u64,
    /// Seconds between runs of queued webhook replays (default 10).
    pub webhook_replay_interval_secs: u64,
    /// Seconds between deletions of stored idempotent answers past their time (default 3600).
    pub idempotency_purge_interval_secs: u64,
    /// Seconds between runs of the survey triggers (after an order, periodic; default 300).
    pub survey_triggers_interval_secs: u64,
    /// Seconds between runs of loyalty points expiry (default 3600).
    pub loyalty_expiry_interval_secs: u64,
    /// Seconds between releases of checkout holds past their expiry (default 60).
    pub loyalty_hold_expiry_interval_secs: u64,
    /// Seconds between health score recomputes for every customer (default 86400).
    pub health_recompute_interval_secs: u64,
    /// Seconds between runs of the loyalty tier review (default 86400).
    pub loyalty_tier_review_interval_secs: u64,
    /// Seconds between runs of the contact-cadence follow-ups and
    /// quarterly reviews (default 86400).
    pub cadence_follow_up_interval_secs: u64,
    /// Seconds between runs of the care moments (default 86400).
    pub care_moments_interval_secs: u64,
    /// Seconds between runs of the unmet-needs job (default 3600).
    pub needs_unmet_interval_secs: u64,
    /// Seconds an exclusive job's lease lasts without renewal (renewed every
    /// third of it while the job runs; default 60): how long a job killed
    /// mid-run keeps other instances from running it.
    pub lease_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    /// Address to bind, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub addr: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest request body on any route, GraphQL included; larger is a 413.
    pub max_body_bytes: usize,
    /// Seconds an instance keeps serving after SIGTERM, answering with
    /// `Connection: close` while `/readyz` says 503, so that load balancers
    /// take it out before it stops accepting (default 5).
    pub drain_secs: u64,
    /// Seconds requests in flight and running jobs get to finish once the
    /// instance stops accepting (default 30).
    pub shutdown_timeout_secs: u64,
    /// Milliseconds `/readyz` waits for the database before saying 503 (default 1000).
    pub ready_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    /// Run pending migrations when the server starts.
    pub migrate_on_start: bool,
    pub max_connections: u32,
    /// A pooled connection idle at least this long is pinged before use; busy
    /// connections are not (a ping on every checkout is a round trip each).
    pub ping_idle_secs: u64,
    /// Milliseconds a request waits for a pooled connection, opening a new
    /// one included, before it is answered 503 `database_unavailable`
    /// (default 2000).
    pub acquire_timeout_ms: u64,
    /// Milliseconds start-up keeps trying a database that refuses
    /// connections before giving up (default 5000).
    pub connect_timeout_ms: u64,
    /// SQLite only: milliseconds a statement waits for another writer's lock
    /// before it is answered 503 (default 5000).
    pub busy_timeout_ms: u64,
    /// A streaming replica of the primary (PostgreSQL) for set-wide reads:
    /// reports, analytics, previews, exports (default none: all on the primary).
    pub read_url: Option<String>,
    /// A replica lagging more than this many milliseconds is skipped (default 5000).
    pub read_max_lag_ms: u64,
}

/// The JWT algorithm family a deployment accepts; exactly one is pinned.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
}

#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    pub algorithm: JwtAlgorithm,
    /// HMAC secret for HS256.
    pub jwt_secret: Option<Secret>,
    /// PEM public key (or a path to one) for RS256/ES256.
    pub public_key: Option<String>,
    pub issuer: String,
    pub audience: String,
    /// Clock leeway in seconds for `exp`; capped at 30.
    pub leeway_secs: u64,
}

impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("algorithm", &self.algorithm)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "[redacted]"))
            .field("public_key", &self.public_key.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

/// A secret string that never shows itself in `Debug` output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` filter directives; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Settings {
    /// Reads defaults, then `rapport.toml` (or the file named by
    /// `RAPPORT_CONFIG`) when present, then the environment.
    ///
    /// # Errors
    /// Fails when the file or a variable cannot be parsed, or a value is invalid.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var("RAPPORT_CONFIG").unwrap_or_else(|_| "rapport.toml".into());
        let mut builder = config::Config::builder()
            .set_default("server.addr", "127.0.0.1:8080")?
            .set_default("server.workers", 0)?
            .set_default("server.max_body_bytes", DEFAULT_MAX_BODY_BYTES as u64)?
            .set_default("graphql.introspection", "staff")?
            .set_default("database.url", DEFAULT_DATABASE_URL)?
            .set_default("database.migrate_on_start", true)?
            .set_default("database.max_connections", 10)?
            .set_default("database.ping_idle_secs", 30)?
            .set_default("database.acquire_timeout_ms", 2_000)?
            .set_default("database.connect_timeout_ms", 5_000)?
            .set_default("database.busy_timeout_ms", 5_000)?
            .set_default("database.read_max_lag_ms", 5_000)?
            .set_default("server.drain_secs", 5)?
            .set_default("server.shutdown_timeout_secs", 30)?
            .set_default("server.ready_timeout_ms", 1_000)?
            .set_default("auth.algorithm", "HS256")?
            .set_default("auth.issuer", "rapport")?
            .set_default("auth.audience", "rapport-api")?
            .set_default("auth.leeway_secs", 30)?
            .set_default("log.format", "json")?
            .set_default("log.filter", "info,sqlx=warn,sea_orm=warn")?
            .set_default("jobs.rfm_interval_secs", 86_400)?
            .set_default("jobs.segment_refresh_interval_secs", 3_600)?
            .set_default("jobs.sla_sweep_interval_secs", 60)?
            .set_default("jobs.event_retention_interval_secs", 3_600)?
            .set_default("jobs.lease_secs", 60)?
            .set_default("events.retention_days", 30)?
            .set_default("jobs.webhook_fanout_interval_secs", 1)?
            .set_default("jobs.webhook_delivery_interval_secs", 1)?
            .set_default("jobs.webhook_replay_interval_secs", 10)?
            .set_default("webhooks.timeout_secs", 15)?
            .set_default("idempotency.retention_hours", 24)?
            .set_default("imports.max_bytes", 536_870_912_u64)?
            .set_default("rate_limit.token_per_minute", 1_200)?
            .set_default("rate_limit.ip_per_minute", 120)?
            .set_default("jobs.idempotency_purge_interval_secs", 3_600)?
            .set_default("jobs.survey_triggers_interval_secs", 300)?
            .set_default("jobs.loyalty_expiry_interval_secs", 3_600)?
            .set_default("jobs.loyalty_hold_expiry_interval_secs", 60)?
            .set_default("jobs.health_recompute_interval_secs", 86_400)?
            .set_default("jobs.loyalty_tier_review_interval_secs", 86_400)?
            .set_default("jobs.cadence_follow_up_interval_secs", 86_400)?
            .set_default("jobs.care_moments_interval_secs", 86_400)?
            .set_default("jobs.needs_unmet_interval_secs", 3_600)?
            .set_default("webhooks.retry_schedule_secs", DEFAULT_RETRY_SCHEDULE)?
            .set_default("webhooks.max_retry_after_secs", 86_400)?
            .set_default("webhooks.disable_after_secs", 432_000)?
            .set_default("webhooks.secret_overlap_secs", 86_400)?
            .set_default("webhooks.allow_private_networks", "")?
            .set_default("webhooks.max_in_flight", 64)?
            .set_default("webhooks.max_in_flight_per_webhook", 4)?
            .add_source(config::File::with_name(&file).required(false))
            .add_source(
                config::Environment::with_prefix("RAPPORT")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("parsing configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings for tests and embedding: defaults with the given database and secret.
    pub fn for_database(url: &str, secret: &str) -> Self {
        Self {
            server: ServerSettings {
                addr: "127.0.0.1:0".into(),
                workers: 2,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                drain_secs: 0,
                shutdown_timeout_secs: 5,
                ready_timeout_ms: 1_000,
            },
            database: DatabaseSettings {
                url: url.into(),
                migrate_on_start: true,
                max_connections: 5,
                ping_idle_secs: 30,
                acquire_timeout_ms: 5_000,
                connect_timeout_ms: 5_000,
                busy_timeout_ms: 5_000,
                read_url: None,
                read_max_lag_ms: 5_000,
            },
            auth: AuthSettings {
                algorithm: JwtAlgorithm::HS256,
                jwt_secret: Some(Secret::new(secret)),
                public_key: None,
                issuer: "rapport".into(),
                audience: "rapport-api".into(),
                leeway_secs: 0,
            },
            log: LogSettings {
                format: LogFormat::Json,
                filter: "warn".into(),
            },
            jobs: JobSettings {
                rfm_interval_secs: 0,
                segment_refresh_interval_secs: 0,
                sla_sweep_interval_secs: 0,
                event_retention_interval_secs: 0,
                webhook_fanout_interval_secs: 0,
                webhook_delivery_interval_secs: 0,
                webhook_replay_interval_secs: 0,
                idempotency_purge_interval_secs: 0,
                survey_triggers_interval_secs: 0,
                loyalty_expiry_interval_secs: 0,
                loyalty_hold_expiry_interval_secs: 0,
                health_recompute_interval_secs: 0,
                loyalty_tier_review_interval_secs: 0,
                cadence_follow_up_interval_secs: 0,
                care_moments_interval_secs: 0,
                needs_unmet_interval_secs: 0,
                lease_secs: 60,
            },
            graphql: GraphqlSettings {
                introspection: Introspection::Staff,
            },
            events: EventSettings { retention_days: 30 },
            idempotency: IdempotencySettings { retention_hours: 24 },
            // Tests make many requests quickly; the limits get their own test.
            rate_limit: RateLimitSettings {
                token_per_minute: 0,
                ip_per_minute: 0,
            },
            imports: ImportSettings { max_bytes: 536_870_912 },
            webhooks: WebhookSettings {
                timeout_secs: 15,
                retry_schedule_secs: DEFAULT_RETRY_SCHEDULE.into(),
                max_retry_after_secs: 86_400,
                disable_after_secs: 432_000,
                secret_overlap_secs: 86_400,
                allow_private_networks: String::new(),
                max_in_flight: 64,
                max_in_flight_per_webhook: 4,
            },
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.server.max_body_bytes < 1024 {
            bail!(
                "server.max_body_bytes must be at least 1024 (got {})",
                self.server.max_body_bytes
            );
        }
        self.webhooks.retry_schedule()?;
        crate::service::webhooks::guard::AllowList::parse(&self.webhooks.allow_private_networks)
            .map_err(|e| anyhow::anyhow!("webhooks.allow_private_networks: {e}"))?;
        if self.webhooks.timeout_secs == 0
            || self.webhooks.max_in_flight == 0
            || self.webhooks.max_in_flight_per_webhook == 0
        {
            bail!("webhooks.timeout_secs, max_in_flight and max_in_flight_per_webhook must be positive");
        }
        if self.idempotency.retention_hours < 24 {
            bail!("idempotency.retention_hours must be at least 24");
        }
        if self.events.retention_days < 1 {
            bail!("events.retention_days must be at least 1");
        }
        if self.database.acquire_timeout_ms == 0 || self.server.ready_timeout_ms == 0 {
            bail!("database.acquire_timeout_ms and server.ready_timeout_ms must be positive");
        }
        if self.auth.leeway_secs > 30 {
            bail!("auth.leeway_secs must be at most 30 (got {})", self.auth.leeway_secs);
        }
        Ok(())
    }

    /// Fills in the HS256 secret: from the settings, else (only for the
    /// default SQLite database) from a generated file beside it.
    ///
    /// # Errors
    /// Fails with a clear message when no secret can be had.
    pub fn resolve_secret(&mut self) -> anyhow::Result<()> {
        if self.auth.algorithm != JwtAlgorithm::HS256 || self.auth.jwt_secret.is_some() {
            return Ok(());
        }
        if self.database.url != DEFAULT_DATABASE_URL {
            bail!(
                "no JWT secret configured: set RAPPORT__AUTH__JWT_SECRET \
                 (a generated secret is only kept for the default SQLite database)"
            );
        }
        let path = dev_secret_path();
        self.auth.jwt_secret = Some(Secret::new(load_or_create_secret(&path)?));
        Ok(())
    }
}

/// Where the generated development secret lives: beside `rapport.db`.
pub fn dev_secret_path() -> PathBuf {
    PathBuf::from("rapport.db.jwt-secret")
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            return Ok(trimmed.to_owned());
        }
    }
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_private_and_reused() {
        let path = std::env::temp_dir().join(format!("rapport-secret-{}", uuid::Uuid::now_v7()));
        let first = load_or_create_secret(&path).expect("create");
        assert!(first.len() >= 32);
        assert_eq!(load_or_create_secret(&path).expect("reuse"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_missing_secret_outside_the_default_database_stops_start_up() {
        let mut settings = Settings::for_database("postgres://db.example/rapport", "unused");
        settings.auth.jwt_secret = None;
        let err = settings.resolve_secret().expect_err("must fail");
        assert!(err.to_string().contains("RAPPORT__AUTH__JWT_SECRET"), "{err}");
    }

    #[test]
    fn leeway_above_thirty_seconds_is_refused() {
        let mut settings = Settings::for_database("sqlite::memory:", "x");
        settings.auth.leeway_secs = 31;
        assert!(settings.validate().is_err());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let settings = Settings::for_database("sqlite::memory:", "super-secret-value-0123456789-abcdef");
        assert!(!format!("{settings:?}").contains("super-secret-value"));
    }
}
