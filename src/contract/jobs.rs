//! Background jobs: what runs on a schedule, and how its last run went.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::value_enum;

value_enum!(
    /// A background job.
    JobName {
        RfmRecompute => "rfm_recompute",
        SegmentRefresh => "segment_refresh",
        SlaSweep => "sla_sweep",
        EventRetention => "event_retention",
        WebhookFanout => "webhook_fanout",
        WebhookDelivery => "webhook_delivery",
        WebhookReplay => "webhook_replay",
        IdempotencyPurge => "idempotency_purge",
        SurveyTriggers => "survey_triggers",
        LoyaltyExpiry => "loyalty_expiry",
        LoyaltyHoldExpiry => "loyalty_hold_expiry",
        LoyaltyTierReview => "loyalty_tier_review",
        HealthRecompute => "health_recompute",
        CadenceFollowUp => "cadence_follow_up",
        CareMoments => "care_moments",
        NeedsUnmet => "needs_unmet",
    }
);

value_enum!(
    /// How a run ended (`running` while it has not).
    JobOutcome { Running => "running", Succeeded => "succeeded", Failed => "failed" }
);

value_enum!(
    /// What started a run.
    JobTrigger { Schedule => "schedule", Api => "api", Cli => "cli" }
);

/// A job, its schedule and its last run.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobView {
    pub name: JobName,
    pub description: &'static str,
    /// Seconds between scheduled runs on each instance; 0: not scheduled.
    pub interval_secs: u64,
    /// One instance at a time (a lease in the database); otherwise every
    /// instance may run it at once, each claiming its own share of the work.
    pub exclusive: bool,
    /// An instance holds the lease now.
    pub running: bool,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<JobOutcome>,
    /// What the last run did, or why it failed.
    pub last_summary: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub last_trigger: Option<JobTrigger>,
}
