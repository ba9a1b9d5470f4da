//! Replays: a subscription's deliveries of a time range queued again by a
//! background job — those in one state (default `failed`), and, when
//! replaying failures, the events of the range the subscription never got
//! (it was off, or did not exist yet).

use crate::service::Store;
use chrono::{DateTime, Utc};
use entity::{event, webhook_delivery, webhook_replay};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{find, wants};
use crate::auth::{Actor, policy};
use crate::contract::webhooks::{DeliveryStatus, ReplayRequest, ReplayState, ReplayView};
use crate::domain::Checker;
use crate::error::{AppError, AppResult};
use crate::service::{begin, new_id, now};

fn view(m: webhook_replay::Model) -> ReplayView {
    ReplayView {
        id: m.id,
        webhook_id: m.webhook_id,
        since: m.since,
        until: m.until,
        status: m
            .status
            .as_deref()
            .map_or(DeliveryStatus::Failed, DeliveryStatus::from_db),
        state: ReplayState::from_db(&m.state),
        requeued: m.requeued,
        created_at: m.created_at,
        finished_at: m.finished_at,
    }
}

/// Queues a replay; the `webhook_replay` job works it.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Validation` on the range or status.
pub async fn replay(db: &impl Store, actor: &Actor, webhook_id: Uuid, input: ReplayRequest) -> AppResult<ReplayView> {
    policy::administer(actor)?;
    find(db, webhook_id).await?;
    let mut c = Checker::default();
    if input.until <= input.since {
        c.fail("until", "must be after since");
    }
    let status = input.status.unwrap_or(DeliveryStatus::Failed);
    if status == DeliveryStatus::Pending {
        c.fail("status", "pending deliveries are still being sent");
    }
    c.finish()?;
    let m = webhook_replay::ActiveModel {
        id: Set(new_id()),
        webhook_id: Set(webhook_id),
        since: Set(input.since),
        until: Set(input.until),
        status: Set(Some(status.as_str().into())),
        state: Set(ReplayState::Queued.as_str().into()),
        requeued: Set(0),
        created_by: Set(actor.sub.clone()),
        created_at: Set(now()),
        finished_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(view(m))
}

/// Reads a replay.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn get_replay(db: &impl Store, actor: &Actor, webhook_id: Uuid, id: Uuid) -> AppResult<ReplayView> {
    policy::administer(actor)?;
    webhook_replay::Entity::find_by_id(id)
        .filter(webhook_replay::Column::WebhookId.eq(webhook_id))
        .one(db)
        .await?
        .map(view)
        .ok_or(AppError::NotFound("replay"))
}

/// Works every queued replay, each in one transaction; returns how many.
///
/// # Errors
/// Database failures.
pub async fn work_replays(db: &impl Store) -> AppResult<usize> {
    let queued = webhook_replay::Entity::find()
        .filter(webhook_replay::Column::State.eq(ReplayState::Queued.as_str()))
        .order_by_asc(webhook_replay::Column::CreatedAt)
        .all(db)
        .await?;
    for r in &queued {
        work(db, r).await?;
    }
    Ok(queued.len())
}

async fn work(db: &impl Store, r: &webhook_replay::Model) -> AppResult<()> {
    let at = now();
    let status = r
        .status
        .clone()
        .unwrap_or_else(|| DeliveryStatus::Failed.as_str().into());
    let txn = begin(db).await?;
    let hook = webhook_delivery_owner(&txn, r.webhook_id).await?;
    let mut requeued = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(at))
        .col_expr(
            webhook_delivery::Column::CompletedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::Claim, Expr::value(Option::<Uuid>::None))
        .filter(webhook_delivery::Column::WebhookId.eq(r.webhook_id))
        .filter(webhook_delivery::Column::Status.eq(status.as_str()))
        .filter(webhook_delivery::Column::CreatedAt.gte(r.since))
        .filter(webhook_delivery::Column::CreatedAt.lt(r.until))
        .exec(&txn)
        .await?
        .rows_affected;
    if let Some(hook) = hook.filter(|_| status == DeliveryStatus::Failed.as_str()) {
        let missed = event::Entity::find()
            .filter(event::Column::OccurredAt.gte(r.since))
            .filter(event::Column::OccurredAt.lt(r.until))
            .order_by_asc(event::Column::Seq)
            .all(&txn)
            .await?;
        for e in missed.iter().filter(|e| wants(&hook, &e.kind)) {
            let exists = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::WebhookId.eq(hook.id))
                .filter(webhook_delivery::Column::EventId.eq(e.id))
                .one(&txn)
                .await?
                .is_some();
            if !exists {
                let body = serde_json::to_string(&crate::service::events::to_view(e)?)
                    .map_err(|e| AppError::Internal(e.into()))?;
                super::delivery::new_pending(hook.id, e.id, &e.kind, body)
                    .insert(&txn)
                    .await?;
                requeued += 1;
            }
        }
    }
    webhook_replay::Entity::update_many()
        .col_expr(webhook_replay::Column::State, Expr::value(ReplayState::Done.as_str()))
        .col_expr(
            webhook_replay::Column::Requeued,
            Expr::value(i64::try_from(requeued).unwrap_or(i64::MAX)),
        )
        .col_expr(webhook_replay::Column::FinishedAt, Expr::value(Some(at)))
        .filter(webhook_replay::Column::Id.eq(r.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

async fn webhook_delivery_owner(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<entity::webhook::Model>> {
    Ok(entity::webhook::Entity::find_by_id(id).one(conn).await?)
}
