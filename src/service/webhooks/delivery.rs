//! Fan-out and sending. The fan-out (one instance at a time) reads the event
//! log in commit order from its saved position and makes one delivery per
//! event and subscription that wants it, position and deliveries in one
//! transaction. The sender (every instance) claims due deliveries — skipping
//! rows another instance holds on PostgreSQL — and sends each on its own
//! task: no more than `max_in_flight` at once per instance, and no more than
//! `max_in_flight_per_webhook` to one subscription, so a slow endpoint holds
//! only its own slots. A claim pushes the row's due time past the attempt's
//! timeout: a sender that dies mid-attempt leaves the delivery to be sent
//! again, with the same `webhook-id`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use entity::{event, feed_position, webhook, webhook_attempt, webhook_delivery};
use rand::Rng as _;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Set,
    Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::{Sender, find, signing, wants};
use crate::contract::events::EventType;
use crate::contract::webhooks::{DeliveryStatus, DeliveryView};
use crate::domain::pagination::Cursor;
use crate::error::{AppError, AppResult};
use crate::service::{begin, events, mask, new_id, now};

/// The fan-out's name in `feed_position`.
const FANOUT: &str = "webhooks";
/// Events fanned out per transaction.
const FANOUT_BATCH: u64 = 500;
/// Largest part of an answer kept in the log.
const MAX_LOGGED_BODY: usize = 1024;

/// Makes deliveries of the events committed since the last fan-out; returns
/// how many.
///
/// # Errors
/// Database failures.
pub async fn fan_out(db: &DatabaseConnection) -> AppResult<u64> {
    let mut made = 0;
    loop {
        let txn = begin(db).await?;
        let position = feed_position::Entity::find_by_id(FANOUT).one(&txn).await?;
        let after = position.as_ref().and_then(|p| Cursor::decode(&p.cursor).ok());
        let batch = events::read_after(&txn, after.as_ref(), &[], FANOUT_BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(made);
        };
        let hooks = webhook::Entity::find()
            .filter(webhook::Column::Active.eq(true))
            .all(&txn)
            .await?;
        let mut rows = Vec::new();
        for e in &batch {
            for hook in hooks
                .iter()
                .filter(|h| h.created_at <= e.occurred_at && wants(h, &e.kind))
            {
                rows.push(new_delivery(hook.id, e.id, &e.kind, body_of(e)?, e.occurred_at));
            }
        }
        made += rows.len() as u64;
        for chunk in rows.chunks(200) {
            webhook_delivery::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([webhook_delivery::Column::WebhookId, webhook_delivery::Column::EventId])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        let cursor = events::position(last).encode();
        feed_position::Entity::insert(feed_position::ActiveModel {
            name: Set(FANOUT.into()),
            cursor: Set(cursor),
            updated_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(feed_position::Column::Name)
                .update_columns([feed_position::Column::Cursor, feed_position::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        if (batch.len() as u64) < FANOUT_BATCH {
            return Ok(made);
        }
    }
}

/// Events the fan-out has not read yet, and deliveries still pending.
///
/// # Errors
/// Database failures.
pub async fn backlog(db: &DatabaseConnection) -> AppResult<(i64, i64)> {
    use sea_orm::PaginatorTrait;
    let position = feed_position::Entity::find_by_id(FANOUT).one(db).await?;
    let seq = position
        .and_then(|p| Cursor::decode(&p.cursor).ok())
        .and_then(|c| c.key.split_once(':').and_then(|(_, s)| s.parse::<i64>().ok()))
        .unwrap_or(0);
    let events = event::Entity::find()
        .filter(event::Column::Seq.gt(seq))
        .count(db)
        .await?;
    let pending = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .count(db)
        .await?;
    Ok((
        i64::try_from(events).unwrap_or(i64::MAX),
        i64::try_from(pending).unwrap_or(i64::MAX),
    ))
}

fn body_of(e: &event::Model) -> AppResult<String> {
    serde_json::to_string(&events::to_view(e)?).map_err(|e| AppError::Internal(e.into()))
}

fn new_delivery(
    webhook_id: Uuid,
    event_id: Uuid,
    kind: &str,
    body: String,
    at: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(new_id()),
        webhook_id: Set(webhook_id),
        event_id: Set(event_id),
        event_type: Set(kind.into()),
        body: Set(body),
        status: Set(DeliveryStatus::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(at.max(now())),
        claim: Set(None),
        last_attempt_at: Set(None),
        last_status_code: Set(None),
        created_at: Set(now()),
        completed_at: Set(None),
    }
}

/// A delivery due now.
pub(super) fn new_pending(webhook_id: Uuid, event_id: Uuid, kind: &str, body: String) -> webhook_delivery::ActiveModel {
    new_delivery(webhook_id, event_id, kind, body, now())
}

/// How long a claim holds a delivery: the attempt's timeout and a margin.
fn claim_span(sender: &Sender) -> Duration {
    Duration::seconds(i64::try_from(sender.settings.timeout_secs).unwrap_or(15) + 30)
}

/// Claims due deliveries of active subscriptions, at most `per_webhook` of
/// one subscription and `limit` in all.
async fn claim(
    db: &DatabaseConnection,
    claim: Uuid,
    (due, until): (DateTime<Utc>, DateTime<Utc>),
    limit: usize,
    per_webhook: usize,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let mut sql = format!(
        "UPDATE webhook_delivery SET claim = $1, next_attempt_at = $2
         WHERE id IN (
           SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= $3 AND id IN (
             SELECT id FROM (
               SELECT d.id, d.next_attempt_at,
                      row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS n
               FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id
               WHERE d.status = 'pending' AND d.next_attempt_at <= $3 AND w.active
             ) ranked WHERE n <= $4 ORDER BY next_attempt_at LIMIT $5
           ) {lock}
         )
         RETURNING *"
    );
    if backend != DbBackend::Postgres {
        sql = sql.replace('$', "?");
    }
    let values: Vec<sea_orm::Value> = vec![
        claim.into(),
        until.into(),
        due.into(),
        i64::try_from(per_webhook).unwrap_or(1).into(),
        i64::try_from(limit).unwrap_or(1).into(),
    ];
    Ok(
        webhook_delivery::Model::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?,
    )
}

/// Hands claimed rows back, due as of `due` (a subscription already at its
/// cap here), so this run and others can take them again.
async fn release(db: &DatabaseConnection, claim: Uuid, ids: Vec<Uuid>, due: DateTime<Utc>) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Claim, Expr::value(Option::<Uuid>::None))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(due))
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .filter(webhook_delivery::Column::Claim.eq(claim))
        .exec(db)
        .await?;
    Ok(())
}

/// How long a scheduled run of the sender keeps refilling its slots.
const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a run someone asked for waits for its sends before answering
/// (the rest finish in the background).
const ASKED_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// One run of the sender: claims what was due when it started, as far as it
/// has room, sends each on its own task, and claims again as tasks finish —
/// for a second when scheduled (then it leaves the tasks running and
/// returns), or until nothing due is left and every send has finished when
/// someone asked for the run. A retry due after the run started waits for
/// the next run. Returns how many sends it started.
///
/// # Errors
/// Database failures while claiming.
pub async fn send_due(db: &DatabaseConnection, sender: &Arc<Sender>, wait: bool) -> AppResult<usize> {
    let due = now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0;
    loop {
        let room = sender.slots.available_permits();
        let claimed = if room > 0 {
            claim_and_spawn(db, sender, due, room, &mut tasks).await?
        } else {
            0
        };
        sent += claimed;
        if claimed == 0 && (tasks.is_empty() || !wait) {
            break;
        }
        if started.elapsed() > if wait { ASKED_BUDGET } else { RUN_BUDGET } {
            break;
        }
        // Room comes back as sends finish.
        tokio::select! {
            _ = tasks.join_next(), if !tasks.is_empty() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
    if wait {
        let rest = ASKED_BUDGET.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(rest, async { while tasks.join_next().await.is_some() {} }).await;
    }
    tasks.detach_all();
    Ok(sent)
}

/// Claims up to `room` deliveries due at `due` and starts a send for each
/// (a subscription already at its cap here hands its rows back).
async fn claim_and_spawn(
    db: &DatabaseConnection,
    sender: &Arc<Sender>,
    due: DateTime<Utc>,
    room: usize,
    tasks: &mut tokio::task::JoinSet<()>,
) -> AppResult<usize> {
    let claim_id = new_id();
    let claimed = claim(
        db,
        claim_id,
        (due, now() + claim_span(sender)),
        room,
        sender.settings.max_in_flight_per_webhook,
    )
    .await?;
    let mut released = Vec::new();
    let mut started = 0;
    for d in claimed {
        let Ok(permit) = sender.slots.clone().try_acquire_owned() else {
            released.push(d.id);
            continue;
        };
        {
            let mut in_flight = sender
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = in_flight.entry(d.webhook_id).or_insert(0);
            if *n >= sender.settings.max_in_flight_per_webhook {
                released.push(d.id);
                continue;
            }
            *n += 1;
        }
        started += 1;
        let (db, sender) = (db.clone(), sender.clone());
        tasks.spawn(async move {
            let webhook_id = d.webhook_id;
            if let Err(e) = attempt(&db, &sender, d, claim_id).await {
                tracing::error!(error = %e, "webhook attempt could not be recorded");
            }
            let mut in_flight = sender
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = in_flight.get_mut(&webhook_id) {
                *n = n.saturating_sub(1);
            }
            drop(permit);
        });
    }
    release(db, claim_id, released, due).await?;
    Ok(started)
}

/// What came of one POST.
struct Outcome {
    status: Option<u16>,
    retry_after: Option<i64>,
    body: Option<String>,
    error: Option<String>,
    latency_ms: i64,
}

/// Sends one delivery and records the attempt, the delivery's new state and
/// the subscription's, in one transaction.
async fn attempt(
    db: &DatabaseConnection,
    sender: &Sender,
    d: webhook_delivery::Model,
    claim_id: Uuid,
) -> AppResult<()> {
    let hook = find(db, d.webhook_id).await?;
    let outcome = post(sender, &hook, &d).await;
    record(db, sender, &hook, d, claim_id, outcome).await
}

async fn post(sender: &Sender, hook: &webhook::Model, d: &webhook_delivery::Model) -> Outcome {
    let clock = Instant::now();
    let failed = |error: String| Outcome {
        status: None,
        retry_after: None,
        body: None,
        error: Some(error),
        latency_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    let url = match reqwest::Url::parse(&hook.url) {
        Ok(u) => u,
        Err(_) => return failed("the URL does not parse".into()),
    };
    if let Err(why) = super::guard::check_url(&url, &sender.allow) {
        return failed(why);
    }
    let at = now();
    let timestamp = at.timestamp();
    let id = d.event_id.to_string();
    let signature = signing::header(super::signing_secrets(hook, at), &id, timestamp, d.body.as_bytes());
    let response = sender
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.body.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return failed(describe(&e)),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let mut bytes = Vec::new();
    while bytes.len() < MAX_LOGGED_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Outcome {
        status: Some(status),
        retry_after,
        body: Some(sanitise(&bytes)),
        error: None,
        latency_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
    }
}

/// A send error in words, with its causes (the refused address among them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(MAX_LOGGED_BODY).collect()
}

/// `Retry-After` as seconds from now: a number, or an HTTP date.
fn parse_retry_after(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    raw.parse::<i64>().ok().filter(|s| *s >= 0).or_else(|| {
        DateTime::parse_from_rfc2822(raw)
            .ok()
            .map(|at| (at.to_utc() - Utc::now()).num_seconds().max(0))
    })
}

/// At most 1 kB of an answer, as text without control characters and with
/// e-mail addresses and phone numbers masked.
fn sanitise(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOGGED_BODY)]);
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    mask::text(&clean).chars().take(MAX_LOGGED_BODY).collect()
}

/// When the next attempt is due after `attempts` failed ones: the schedule's
/// wait (±10% jitter), or the endpoint's `Retry-After` on 429/503.
fn next_due(sender: &Sender, attempts: usize, outcome: &Outcome, at: DateTime<Utc>) -> DateTime<Utc> {
    let scheduled = sender.schedule.get(attempts - 1).copied().unwrap_or(0);
    let asked = match outcome.status {
        Some(429 | 503) => outcome.retry_after,
        _ => None,
    };
    let secs = match asked {
        Some(s) => s.min(i64::try_from(sender.settings.max_retry_after_secs).unwrap_or(i64::MAX)),
        None => {
            let base = i64::try_from(scheduled).unwrap_or(i64::MAX / 2) * 1000;
            let spread = base / 10;
            let jitter = if spread > 0 {
                rand::rng().random_range(-spread..=spread)
            } else {
                0
            };
            return at + Duration::milliseconds(base + jitter);
        }
    };
    at + Duration::seconds(secs)
}

async fn record(
    db: &DatabaseConnection,
    sender: &Sender,
    hook: &webhook::Model,
    d: webhook_delivery::Model,
    claim_id: Uuid,
    outcome: Outcome,
) -> AppResult<()> {
    let at = now();
    let attempts = d.attempts + 1;
    let succeeded = outcome.status.is_some_and(|s| (200..300).contains(&s));
    let gone = outcome.status == Some(410);
    let spent = attempts >= sender.max_attempts();
    let txn = begin(db).await?;
    webhook_attempt::ActiveModel {
        delivery_id: Set(d.id),
        webhook_id: Set(d.webhook_id),
        attempt: Set(attempts),
        at: Set(at),
        status_code: Set(outcome.status.map(i32::from)),
        latency_ms: Set(outcome.latency_ms),
        response_body: Set(outcome.body.clone()),
        error: Set(outcome.error.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let label = if succeeded {
        "delivered"
    } else if outcome.status.is_none()
        && outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not a public address"))
    {
        "refused"
    } else if gone || spent {
        "failed"
    } else {
        "retry"
    };
    crate::metrics::METRICS
        .webhook_attempts
        .with_label_values(&[label])
        .inc();
    let (status, completed, next) = if succeeded {
        (DeliveryStatus::Succeeded, Some(at), at)
    } else if gone || spent {
        (DeliveryStatus::Failed, Some(at), at)
    } else {
        let n = usize::try_from(attempts).unwrap_or(1);
        (DeliveryStatus::Pending, None, next_due(sender, n, &outcome, at))
    };
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(webhook_delivery::Column::Status, Expr::value(status.as_str()))
        .col_expr(webhook_delivery::Column::CompletedAt, Expr::value(completed))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
        .col_expr(webhook_delivery::Column::Claim, Expr::value(Option::<Uuid>::None))
        .col_expr(webhook_delivery::Column::LastAttemptAt, Expr::value(Some(at)))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(outcome.status.map(i32::from)),
        )
        .filter(webhook_delivery::Column::Id.eq(d.id))
        .filter(webhook_delivery::Column::Claim.eq(claim_id))
        .exec(&txn)
        .await?;
    if succeeded {
        if hook.failing_since.is_some() {
            webhook::Entity::update_many()
                .col_expr(
                    webhook::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(webhook::Column::Id.eq(hook.id))
                .exec(&txn)
                .await?;
        }
    } else {
        let since = hook.failing_since.unwrap_or(at);
        let limit = Duration::seconds(i64::try_from(sender.settings.disable_after_secs).unwrap_or(i64::MAX / 2));
        let reason = if gone {
            Some("the endpoint answered 410 Gone".to_owned())
        } else if at - since >= limit {
            Some(format!("every attempt failed since {}", since.to_rfc3339()))
        } else {
            None
        };
        let mut update = webhook::Entity::update_many()
            .col_expr(webhook::Column::FailingSince, Expr::value(Some(since)))
            .filter(webhook::Column::Id.eq(hook.id));
        if let Some(reason) = &reason {
            update = update
                .col_expr(webhook::Column::Active, Expr::value(false))
                .col_expr(webhook::Column::DisabledReason, Expr::value(Some(reason.clone())))
                .col_expr(webhook::Column::UpdatedAt, Expr::value(at))
                .filter(webhook::Column::Active.eq(true));
        }
        let changed = update.exec(&txn).await?.rows_affected;
        if let Some(reason) = reason
            && changed > 0
        {
            events::emit(
                &txn,
                EventType::WebhookEndpointDisabled,
                hook.id,
                None,
                json!({"reason": reason}),
                at,
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Sends a test message to a subscription now (whether active or not) and
/// answers with the delivery after its first attempt; retries follow the
/// schedule like any delivery.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn send_test(
    db: &DatabaseConnection,
    sender: &Sender,
    actor: &crate::auth::Actor,
    webhook_id: Uuid,
) -> AppResult<DeliveryView> {
    crate::auth::policy::administer(actor)?;
    let hook = find(db, webhook_id).await?;
    let at = now();
    let event_id = new_id();
    let body = json!({
        "id": event_id,
        "type": "webhook.test",
        "timestamp": at,
        "data": {"webhook_id": hook.id},
    })
    .to_string();
    let claim_id = new_id();
    let mut row = new_delivery(hook.id, event_id, "webhook.test", body, at);
    row.claim = Set(Some(claim_id));
    row.next_attempt_at = Set(at + claim_span(sender));
    let d = row.insert(db).await?;
    let id = d.id;
    attempt(db, sender, d, claim_id).await?;
    let d = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    Ok(super::delivery_view(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(120));
        assert_eq!(parse_retry_after("-1"), None);
        let later = (Utc::now() + Duration::seconds(90)).to_rfc2822();
        assert!(parse_retry_after(&later).is_some_and(|s| (85..=90).contains(&s)));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn logged_answers_are_short_clean_and_masked() {
        let long = "x".repeat(5000);
        assert_eq!(sanitise(long.as_bytes()).len(), MAX_LOGGED_BODY);
        assert_eq!(sanitise(b"ok\x00\x1b[31m"), "ok[31m");
        assert_eq!(sanitise(b"mail ann@example.com"), "mail a***@example.com");
    }
}
