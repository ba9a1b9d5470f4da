//! Background jobs, one mechanism for all: each runs on its own schedule on
//! every instance, can be run now by an admin (REST or CLI), and records its
//! last run and outcome in `job_run`.
//!
//! An *exclusive* job runs on one instance at a time: a run first takes the
//! job's lease (a conditional `UPDATE` of its row, the same on both
//! databases), renews it while working, and gives it back at the end; a run
//! that finds the lease held is skipped (scheduled) or refused with `409`
//! (asked for). A lease left by a killed instance lapses after
//! `jobs.lease_secs`. Non-exclusive jobs claim their own rows of work
//! (`FOR UPDATE SKIP LOCKED`) and run everywhere at once.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::job_run;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{events, now, rfm, segments, sla, webhooks};
use crate::auth::{Actor, policy};
use crate::config::Settings;
use crate::contract::jobs::{JobName, JobOutcome, JobTrigger, JobView};
use crate::error::{AppError, AppResult};

/// What jobs (and the routes that start work) need: the database, the
/// settings, and the webhook sender.
#[derive(Clone)]
pub struct JobContext {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub webhooks: Arc<webhooks::Sender>,
}

impl JobContext {
    /// Builds the context of one process.
    ///
    /// # Errors
    /// Invalid webhook settings.
    pub fn new(db: DatabaseConnection, settings: Arc<Settings>) -> anyhow::Result<Self> {
        Ok(Self {
            webhooks: Arc::new(webhooks::Sender::new(&settings.webhooks)?),
            db,
            settings,
        })
    }
}

/// This process, as a lease holder.
static INSTANCE: LazyLock<String> = LazyLock::new(|| format!("{}-{}", std::process::id(), super::new_id()));

impl JobName {
    /// What the job does, for the job list.
    pub const fn description(self) -> &'static str {
        match self {
            Self::RfmRecompute => "RFM scores, value tiers and lifetime value for every customer",
            Self::SegmentRefresh => "re-evaluates every dynamic segment's rule",
            Self::SlaSweep => "SLA warnings and breaches of feedback clocks, with escalation tasks",
            Self::EventRetention => "deletes events older than the retention period",
            Self::WebhookFanout => "turns new events into deliveries for the subscriptions that want them",
            Self::WebhookDelivery => "sends due webhook deliveries, signed, with retries",
            Self::WebhookReplay => "queues the deliveries of requested webhook replays again",
            Self::IdempotencyPurge => "deletes stored idempotent answers past their retention",
            Self::SurveyTriggers => "invites customers for surveys triggered by orders or due periodically",
            Self::LoyaltyExpiry => {
                "announces loyalty points expiring soon, once per lot, and expires what is left of those past their expiry"
            }
            Self::HealthRecompute => "scores every customer's health and stores it as history",
            Self::LoyaltyHoldExpiry => "releases checkout holds on loyalty points not captured by their expiry",
            Self::LoyaltyTierReview => {
                "reviews loyalty tiers that are due: one step down when points no longer qualify"
            }
            Self::CadenceFollowUp => {
                "follow-up tasks for customers past their contact cadence, and quarterly reviews of key customers"
            }
            Self::CareMoments => "care tasks ahead of birthdays and relationship anniversaries",
            Self::NeedsUnmet => {
                "marks open needs past their due date or their quadrant's limit as unmet, once per episode"
            }
        }
    }

    /// Seconds between scheduled runs; 0 turns the schedule off.
    pub fn interval_secs(self, s: &Settings) -> u64 {
        match self {
            Self::RfmRecompute => s.jobs.rfm_interval_secs,
            Self::SegmentRefresh => s.jobs.segment_refresh_interval_secs,
            Self::SlaSweep => s.jobs.sla_sweep_interval_secs,
            Self::EventRetention => s.jobs.event_retention_interval_secs,
            Self::WebhookFanout => s.jobs.webhook_fanout_interval_secs,
            Self::WebhookDelivery => s.jobs.webhook_delivery_interval_secs,
            Self::WebhookReplay => s.jobs.webhook_replay_interval_secs,
            Self::IdempotencyPurge => s.jobs.idempotency_purge_interval_secs,
            Self::SurveyTriggers => s.jobs.survey_triggers_interval_secs,
            Self::LoyaltyExpiry => s.jobs.loyalty_expiry_interval_secs,
            Self::LoyaltyHoldExpiry => s.jobs.loyalty_hold_expiry_interval_secs,
            Self::HealthRecompute => s.jobs.health_recompute_interval_secs,
            Self::LoyaltyTierReview => s.jobs.loyalty_tier_review_interval_secs,
            Self::CadenceFollowUp => s.jobs.cadence_follow_up_interval_secs,
            Self::CareMoments => s.jobs.care_moments_interval_secs,
            Self::NeedsUnmet => s.jobs.needs_unmet_interval_secs,
        }
    }

    /// Whether one instance at a time runs it.
    pub const fn exclusive(self) -> bool {
        !matches!(self, Self::SlaSweep | Self::WebhookDelivery)
    }

    /// Does the work. A scheduled run of the sender returns once its sends
    /// are started; a run someone asked for waits for them.
    async fn execute(self, ctx: &JobContext, trigger: JobTrigger) -> AppResult<String> {
        let db = &ctx.db;
        Ok(match self {
            Self::RfmRecompute => {
                let r = rfm::run(db, None, now()).await?;
                format!(
                    "{} customers scored, {} tier changes",
                    r.customers_scored, r.tier_changes
                )
            }
            Self::SegmentRefresh => format!("{} segments refreshed", segments::refresh_all(db).await?),
            Self::SlaSweep => {
                let r = sla::sweep(db, now()).await?;
                format!(
                    "{} warnings, {} breaches, {} escalations",
                    r.warnings, r.breaches, r.escalations
                )
            }
            Self::EventRetention => {
                let days = ctx.settings.events.retention_days;
                format!(
                    "{} events older than {days} days deleted",
                    events::purge(db, days, now()).await?
                )
            }
            Self::WebhookFanout => format!("{} deliveries made", webhooks::delivery::fan_out(db).await?),
            Self::WebhookDelivery => {
                let wait = trigger != JobTrigger::Schedule;
                let n = webhooks::delivery::send_due(db, &ctx.webhooks, wait).await?;
                format!("{n} deliveries {}", if wait { "attempted" } else { "started" })
            }
            Self::WebhookReplay => format!("{} replays worked", webhooks::work_replays(db).await?),
            Self::IdempotencyPurge => format!("{} stored answers deleted", super::idempotency::purge(db).await?),
            Self::SurveyTriggers => {
                let r = super::surveys::run_triggers(db, now()).await?;
                format!(
                    "{} invitations after orders, {} periodic, {} held back by fatigue",
                    r.after_order, r.periodic, r.held_back
                )
            }
            Self::LoyaltyExpiry => {
                let r = super::loyalty::expiry::run(db, now()).await?;
                format!(
                    "{} lots announced as expiring, {} points expired on {} accounts",
                    r.announced, r.points, r.accounts
                )
            }
            Self::HealthRecompute => {
                let r = super::health::run(db, now()).await?;
                format!(
                    "{} customers scored, {} alerts raised, {} win-back tasks created, {} capped, {} upsell tasks created",
                    r.customers_scored, r.alerts_raised, r.tasks_created, r.tasks_capped, r.upsell_tasks_created
                )
            }
            Self::LoyaltyHoldExpiry => {
                format!("{} holds released", super::loyalty::holds::expire_due(db, now()).await?)
            }
            Self::LoyaltyTierReview => {
                let r = super::loyalty::tiers::review(db, now()).await?;
                format!("{} accounts reviewed, {} moved down", r.accounts, r.downgraded)
            }
            Self::CadenceFollowUp => {
                let r = super::cadence::run_follow_ups(db, now()).await?;
                if r.working_day {
                    format!(
                        "{} customers overdue, {} follow-ups and {} reviews created, {} capped",
                        r.overdue, r.follow_ups, r.reviews, r.capped
                    )
                } else {
                    "not a working day: nothing created".into()
                }
            }
            Self::CareMoments => {
                let r = super::cadence::run_care(db, now()).await?;
                format!(
                    "{} birthday and {} anniversary care tasks created",
                    r.birthdays, r.anniversaries
                )
            }
            Self::NeedsUnmet => {
                let r = super::needs::run_unmet(db, now()).await?;
                format!("{} needs became unmet, {} no longer unmet", r.became_unmet, r.cleared)
            }
        })
    }
}

/// Runs a job now. `None` when an exclusive job's lease is held elsewhere.
///
/// # Errors
/// Database failures around the run; the job's own failure is recorded as
/// its outcome, not returned.
pub async fn run(ctx: &JobContext, job: JobName, trigger: JobTrigger) -> AppResult<Option<JobView>> {
    let db = &ctx.db;
    let lease = Duration::from_secs(ctx.settings.jobs.lease_secs.max(3));
    let started_at = now();
    if !start(db, job, trigger, started_at, lease).await? {
        return Ok(None);
    }
    let clock = Instant::now();
    let work = job.execute(ctx, trigger);
    tokio::pin!(work);
    let mut renew = tokio::time::interval(lease / 3);
    renew.tick().await;
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = renew.tick(), if job.exclusive() => {
                if let Err(e) = extend(db, job, lease).await {
                    tracing::warn!(job = job.as_str(), error = %e, "renewing a job lease failed");
                }
            }
        }
    };
    let (outcome, summary) = match &result {
        Ok(summary) => (JobOutcome::Succeeded, summary.clone()),
        Err(e) => {
            tracing::error!(job = job.as_str(), error = %e, "job failed");
            (JobOutcome::Failed, format!("{}: {}", e.title(), e.detail()))
        }
    };
    let ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let m = &crate::metrics::METRICS;
    m.job_runs.with_label_values(&[job.as_str(), outcome.as_str()]).inc();
    m.job_duration
        .with_label_values(&[job.as_str()])
        .observe(clock.elapsed().as_secs_f64());
    tracing::info!(job = job.as_str(), outcome = outcome.as_str(), %summary, ms, "job finished");
    let mut done = job_run::Entity::update_many()
        .col_expr(job_run::Column::LastFinishedAt, Expr::value(Some(now())))
        .col_expr(job_run::Column::LastOutcome, Expr::value(Some(outcome.as_str())))
        .col_expr(job_run::Column::LastSummary, Expr::value(Some(summary)))
        .col_expr(job_run::Column::LastDurationMs, Expr::value(Some(ms)))
        .filter(job_run::Column::Name.eq(job.as_str()));
    if job.exclusive() {
        done = done
            .col_expr(job_run::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(job_run::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(job_run::Column::LockedBy.eq(INSTANCE.as_str()));
    }
    done.exec(db).await?;
    Ok(Some(view(job, &ctx.settings, find(db, job).await?.as_ref())))
}

/// Records a run's start; for an exclusive job, takes the lease first.
async fn start(
    db: &DatabaseConnection,
    job: JobName,
    trigger: JobTrigger,
    at: DateTime<Utc>,
    lease: Duration,
) -> AppResult<bool> {
    job_run::Entity::insert(job_run::ActiveModel {
        name: Set(job.as_str().into()),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(job_run::Column::Name).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    let mut update = job_run::Entity::update_many()
        .col_expr(job_run::Column::LastStartedAt, Expr::value(Some(at)))
        .col_expr(
            job_run::Column::LastOutcome,
            Expr::value(Some(JobOutcome::Running.as_str())),
        )
        .col_expr(job_run::Column::LastTrigger, Expr::value(Some(trigger.as_str())))
        .filter(job_run::Column::Name.eq(job.as_str()));
    if job.exclusive() {
        update = update
            .col_expr(job_run::Column::LockedBy, Expr::value(Some(INSTANCE.as_str())))
            .col_expr(job_run::Column::LockedUntil, Expr::value(Some(at + lease)))
            .filter(
                Condition::any()
                    .add(job_run::Column::LockedUntil.is_null())
                    .add(job_run::Column::LockedUntil.lt(at)),
            );
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

async fn extend(db: &DatabaseConnection, job: JobName, lease: Duration) -> AppResult<()> {
    job_run::Entity::update_many()
        .col_expr(job_run::Column::LockedUntil, Expr::value(Some(now() + lease)))
        .filter(job_run::Column::Name.eq(job.as_str()))
        .filter(job_run::Column::LockedBy.eq(INSTANCE.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

async fn find(db: &DatabaseConnection, job: JobName) -> AppResult<Option<job_run::Model>> {
    Ok(job_run::Entity::find_by_id(job.as_str()).one(db).await?)
}

fn view(job: JobName, settings: &Settings, row: Option<&job_run::Model>) -> JobView {
    let at = now();
    JobView {
        name: job,
        description: job.description(),
        interval_secs: job.interval_secs(settings),
        exclusive: job.exclusive(),
        running: row.and_then(|r| r.locked_until).is_some_and(|until| until > at),
        last_started_at: row.and_then(|r| r.last_started_at),
        last_finished_at: row.and_then(|r| r.last_finished_at),
        last_outcome: row.and_then(|r| r.last_outcome.as_deref()).map(JobOutcome::from_db),
        last_summary: row.and_then(|r| r.last_summary.clone()),
        last_duration_ms: row.and_then(|r| r.last_duration_ms),
        last_trigger: row.and_then(|r| r.last_trigger.as_deref()).map(JobTrigger::from_db),
    }
}

/// Every job with its schedule and last run.
///
/// # Errors
/// `Forbidden` unless admin.
pub async fn list(ctx: &JobContext, actor: &Actor) -> AppResult<Vec<JobView>> {
    policy::administer(actor)?;
    list_all(ctx).await
}

/// Every job with its schedule and last run, for the operator's command line.
///
/// # Errors
/// Database failures.
pub async fn list_all(ctx: &JobContext) -> AppResult<Vec<JobView>> {
    let rows = job_run::Entity::find().all(&ctx.db).await?;
    Ok(JobName::ALL
        .iter()
        .map(|&job| view(job, &ctx.settings, rows.iter().find(|r| r.name == job.as_str())))
        .collect())
}

/// Parses a job's name from a path.
///
/// # Errors
/// `NotFound` for a name that is not a job.
pub fn parse_name(raw: &str) -> AppResult<JobName> {
    JobName::ALL
        .iter()
        .copied()
        .find(|j| j.as_str() == raw)
        .ok_or(AppError::NotFound("job"))
}

/// Runs a job now for an admin and answers with its run.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Conflict` while another instance runs it.
pub async fn run_now(ctx: &JobContext, actor: &Actor, job: JobName, trigger: JobTrigger) -> AppResult<JobView> {
    policy::administer(actor)?;
    run(ctx, job, trigger).await?.ok_or_else(|| AppError::Conflict {
        detail: format!("{} is running on another instance", job.as_str()),
        field: None,
    })
}

/// Starts the scheduled loop of every job with an interval: each instance
/// ticks on its own; exclusive jobs skip a tick another instance holds. Once
/// `stop` turns true no job starts again; a run under way finishes.
pub fn schedule(ctx: &JobContext, stop: &tokio::sync::watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    JobName::ALL
        .iter()
        .copied()
        .filter(|job| job.interval_secs(&ctx.settings) > 0)
        .map(|job| {
            let ctx = ctx.clone();
            let mut stop = stop.clone();
            let every = Duration::from_secs(job.interval_secs(&ctx.settings));
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    }
                    match run(&ctx, job, JobTrigger::Schedule).await {
                        Ok(Some(_)) => {}
                        Ok(None) => tracing::debug!(job = job.as_str(), "held by another instance; skipped"),
                        Err(e) => tracing::error!(job = job.as_str(), error = %e, "job could not run"),
                    }
                }
            })
        })
        .collect()
}

/// Stops the scheduled jobs of a stopping instance: waits up to `within` for
/// the runs under way and the webhook sends they started, then cuts off
/// whatever is left and hands back the leases this instance still holds, so
/// another instance can take those jobs at once rather than after the lease.
pub async fn wind_down(ctx: &JobContext, loops: Vec<tokio::task::JoinHandle<()>>, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    let aborts: Vec<_> = loops.iter().map(tokio::task::JoinHandle::abort_handle).collect();
    let finished = tokio::time::timeout_at(deadline, futures_util::future::join_all(loops))
        .await
        .is_ok();
    if !finished {
        tracing::warn!("jobs still running at the shutdown timeout were cut off");
        for a in aborts {
            a.abort();
        }
    }
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if !ctx.webhooks.finish_sends(left).await {
        tracing::warn!("webhook sends still under way at the shutdown timeout were cut off");
    }
    let released = job_run::Entity::update_many()
        .col_expr(job_run::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job_run::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(
            job_run::Column::LastOutcome,
            Expr::value(Some(JobOutcome::Failed.as_str())),
        )
        .col_expr(
            job_run::Column::LastSummary,
            Expr::value(Some("cut off by the instance shutting down")),
        )
        .filter(job_run::Column::LockedBy.eq(INSTANCE.as_str()))
        .exec(&ctx.db)
        .await;
    if let Err(e) = released {
        tracing::warn!(error = %e, "could not hand back job leases; they lapse by themselves");
    }
}
