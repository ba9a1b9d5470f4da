//! Scheduled background work: RFM recompute, dynamic segment refresh and
//! the SLA sweeper.
//! Each job runs on its own interval (the first run one interval after
//! start); a failed run is logged and retried at the next tick.

use std::future::Future;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use crate::config::JobSettings;
use crate::service::{now, rfm, segments, sla};

/// Runs `job` every `every` until the returned handle is aborted.
fn every<F, Fut>(name: &'static str, every: Duration, job: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = crate::error::AppResult<String>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match job().await {
                Ok(summary) => tracing::info!(job = name, %summary, "job finished"),
                Err(e) => tracing::error!(job = name, error = %e, "job failed"),
            }
        }
    })
}

/// Starts the jobs the settings turn on.
pub fn start(db: &DatabaseConnection, settings: &JobSettings) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    if settings.rfm_interval_secs > 0 {
        let db = db.clone();
        handles.push(every(
            "rfm_recompute",
            Duration::from_secs(settings.rfm_interval_secs),
            move || {
                let db = db.clone();
                async move {
                    let r = rfm::run(&db, None, now()).await?;
                    Ok(format!(
                        "{} customers scored, {} tier changes",
                        r.customers_scored, r.tier_changes
                    ))
                }
            },
        ));
    }
    if settings.segment_refresh_interval_secs > 0 {
        let db = db.clone();
        handles.push(every(
            "segment_refresh",
            Duration::from_secs(settings.segment_refresh_interval_secs),
            move || {
                let db = db.clone();
                async move { Ok(format!("{} segments refreshed", segments::refresh_all(&db).await?)) }
            },
        ));
    }
    if settings.sla_sweep_interval_secs > 0 {
        let db = db.clone();
        handles.push(every(
            "sla_sweep",
            Duration::from_secs(settings.sla_sweep_interval_secs),
            move || {
                let db = db.clone();
                async move {
                    let r = sla::sweep(&db, now()).await?;
                    Ok(format!(
                        "{} warnings, {} breaches, {} escalations",
                        r.warnings, r.breaches, r.escalations
                    ))
                }
            },
        ));
    }
    handles
}
