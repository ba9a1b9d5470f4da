//! The SLA sweeper: finds running clocks whose warning (80% of target) or
//! breach time has come, records each once as an event, escalates a breach
//! with a task for the assignee's manager (else the customer's owner), and
//! leaves outbox records for webhooks.
//!
//! Work is claimed in batches, one transaction per batch. On PostgreSQL the
//! batch is selected `FOR UPDATE SKIP LOCKED`, so several server instances
//! sweep at once without ever taking the same item; the marks written in the
//! same transaction keep a later sweep from firing again. SQLite has one
//! writer, so the in-process sweeper alone does the work there.

use crate::service::Store;
use chrono::{DateTime, Duration, Utc};
use entity::{customer, feedback_item};
use sea_orm::sea_query::LockBehavior;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use super::events;
use super::feedback::{
    Event, SYSTEM, record, resolution_clock, response_clock, set_resolution_clock, set_response_clock,
};
use super::tasks::{self, TaskDraft};
use super::{begin, staff};
use crate::contract::events::EventType;
use crate::contract::feedback::SweepReport;
use crate::contract::tasks::TaskKind;
use crate::domain::feedback::ClockState;
use crate::error::AppResult;

/// Items claimed per transaction.
const BATCH: u64 = 100;

/// How long an escalation task gives its assignee.
const ESCALATION_DUE: Duration = Duration::hours(1);

/// Items with a running clock whose warning or breach time has come.
fn due(now: DateTime<Utc>) -> Condition {
    use feedback_item::Column as C;
    let clock = |since: C, breached: C, warned: C, warn_at: C, due_at: C| {
        Condition::all().add(since.is_not_null()).add(breached.is_null()).add(
            Condition::any()
                .add(Condition::all().add(warned.is_null()).add(warn_at.lte(now)))
                .add(due_at.lte(now)),
        )
    };
    Condition::any()
        .add(clock(
            C::ResponseSince,
            C::ResponseBreachedAt,
            C::ResponseWarnedAt,
            C::ResponseWarnAt,
            C::ResponseDueAt,
        ))
        .add(clock(
            C::ResolutionSince,
            C::ResolutionBreachedAt,
            C::ResolutionWarnedAt,
            C::ResolutionWarnAt,
            C::ResolutionDueAt,
        ))
}

/// Sweeps everything due at `now` (the clock is a parameter so tests can
/// move it).
///
/// # Errors
/// Database failures (a failed batch is rolled back and retried next sweep).
pub async fn sweep(db: &impl Store, now: DateTime<Utc>) -> AppResult<SweepReport> {
    let mut report = SweepReport::default();
    loop {
        let txn = begin(db).await?;
        let mut q = feedback_item::Entity::find()
            .filter(due(now))
            .order_by_asc(feedback_item::Column::Id)
            .limit(BATCH);
        if txn.get_database_backend() == DbBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let items = q.all(&txn).await?;
        let claimed = items.len() as u64;
        for item in items {
            mark(&txn, item, now, &mut report).await?;
        }
        txn.commit().await?;
        if claimed < BATCH {
            return Ok(report);
        }
    }
}

/// The two clocks of an item, by name.
const CLOCKS: [&str; 2] = ["first_response", "resolution"];

async fn mark(
    txn: &impl ConnectionTrait,
    mut item: feedback_item::Model,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> AppResult<()> {
    let mut clocks = [response_clock(&item), resolution_clock(&item)];
    let mut fired: Vec<(Mark, &str, ClockState)> = Vec::new();
    for (name, clock) in CLOCKS.into_iter().zip(clocks.iter_mut()) {
        let (warn, breach) = clock.marks_due(now);
        // Each mark carries the instant it became due, not the sweep's time.
        if warn {
            clock.warned_at = Some(clock.warn_at.min(clock.due_at));
            fired.push((Mark::Warning, name, *clock));
        }
        if breach {
            clock.breached_at = Some(clock.due_at);
            fired.push((Mark::Breach, name, *clock));
        }
    }
    let [response, resolution] = clocks;
    set_response_clock(&mut item, response);
    set_resolution_clock(&mut item, resolution);
    let item = item.into_active_model().reset_all().update(txn).await?;
    for (mark, name, clock) in fired {
        match mark {
            Mark::Warning => report.warnings += 1,
            Mark::Breach => {
                report.breaches += 1;
                report.escalations += 1;
            }
        }
        record_mark(txn, &item, mark, name, &clock, true, now).await?;
    }
    Ok(())
}

/// An SLA mark on a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// 80% of the target used.
    Warning,
    /// The target passed.
    Breach,
}

/// Records a mark once: the history entry at the instant it became due, an
/// outbox record, and for a breach of a clock still running an escalation
/// task (a clock already stopped late needs no chasing, only the record).
///
/// # Errors
/// Database failures.
pub async fn record_mark(
    txn: &impl ConnectionTrait,
    item: &feedback_item::Model,
    mark: Mark,
    name: &str,
    clock: &ClockState,
    escalate_it: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (kind, topic, at) = match mark {
        Mark::Warning => ("sla_warning", EventType::FeedbackSlaWarning, clock.warned_at),
        Mark::Breach => ("sla_breach", EventType::FeedbackSlaBreached, clock.breached_at),
    };
    record(
        txn,
        item,
        Event {
            kind,
            actor: SYSTEM,
            from: None,
            to: Some(name.into()),
            note: Some(format!("due {}", clock.due_at.to_rfc3339())),
        },
        at.unwrap_or(now),
    )
    .await?;
    if mark == Mark::Breach && escalate_it {
        escalate(txn, item, name, now).await?;
    }
    events::emit(
        txn,
        topic,
        item.id,
        Some(item.customer_id),
        json!({
            "clock": name,
            "severity": item.severity,
            "due_at": clock.due_at,
            "assignee_id": item.assignee_id,
        }),
        now,
    )
    .await
}

/// Opens an escalation task: for the assignee's manager, else the
/// customer's owner, else unassigned (managers see it in the task list).
async fn escalate(
    txn: &impl ConnectionTrait,
    item: &feedback_item::Model,
    clock: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut assignee = match &item.assignee_id {
        Some(a) => staff::manager_of(txn, a).await?,
        None => None,
    };
    if assignee.is_none() {
        assignee = customer::Entity::find_by_id(item.customer_id)
            .one(txn)
            .await?
            .and_then(|c| c.owner_id);
    }
    let what = if clock == "first_response" {
        "first response"
    } else {
        "resolution"
    };
    tasks::insert(
        txn,
        TaskDraft {
            kind: TaskKind::SlaEscalation,
            customer_id: item.customer_id,
            feedback_id: Some(item.id),
            title: format!("SLA breached ({what}): {}", item.subject),
            assignee_id: assignee,
            due_at: Some(now + ESCALATION_DUE),
            created_by: SYSTEM.into(),
        },
        now,
    )
    .await?;
    Ok(())
}
