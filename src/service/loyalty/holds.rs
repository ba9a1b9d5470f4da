//! Two-phase redemption for checkouts. A hold takes the points at once — a
//! redemption drawing on the lots, so nothing else can spend them — and the
//! checkout then captures it (the redemption stands) or releases it (the
//! points go back into their lots, as a cancelled redemption's do). A hold
//! not captured by its expiry is released by the `loyalty_hold_expiry` job;
//! a capture after the expiry is refused and releases it at once.
//!
//! Every step runs under the account's lock and re-reads the hold there, so
//! a capture racing a release (or the job) finds the other's outcome.

use chrono::{DateTime, Duration, Utc};
use entity::{loyalty_account, loyalty_entry, loyalty_hold};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::ledger;
use super::moves::{self, MoveOptions, Moved, put_back, result_of, run, spending};
use super::{Holder, MAX_HOLD_MINUTES, resolve, rules};
use crate::auth::{Actor, policy};
use crate::contract::loyalty::{EntryKind, HoldInput, HoldResult, HoldStatus, HoldView, MoveResult, RedeemInput};
use crate::error::{AppError, AppResult};
use crate::service::{Store, begin, new_id, now};

/// Holds released per batch by the expiry job.
const BATCH: u64 = 200;

fn view(h: loyalty_hold::Model) -> HoldView {
    HoldView {
        id: h.id,
        customer_id: h.customer_id,
        entry_id: h.entry_id,
        points: h.points,
        status: HoldStatus::from_db(&h.status),
        expires_at: h.expires_at,
        created_at: h.created_at,
        updated_at: h.updated_at,
    }
}

fn with_hold(hold: loyalty_hold::Model, r: MoveResult) -> HoldResult {
    HoldResult {
        hold: view(hold),
        entry: r.entry,
        account: r.account,
        simulated: r.simulated,
    }
}

/// Whether a redemption is held for a checkout (not yet captured or released).
///
/// # Errors
/// Database failures.
pub async fn held(conn: &impl ConnectionTrait, entry_id: Uuid) -> AppResult<bool> {
    Ok(loyalty_hold::Entity::find()
        .filter(loyalty_hold::Column::EntryId.eq(entry_id))
        .filter(loyalty_hold::Column::Status.eq(HoldStatus::Held.as_str()))
        .one(conn)
        .await?
        .is_some())
}

/// Holds points for a checkout: they leave the spendable balance at once.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Validation`; `InsufficientPoints` (409);
/// `BadRequest` without a key; a key used for another movement is a 422.
pub async fn hold(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    input: HoldInput,
    options: &MoveOptions,
) -> AppResult<Moved<HoldResult>> {
    let points = input.points;
    let minutes = input.expires_in_minutes;
    let spend = RedeemInput {
        points,
        order_id: input.order_id,
        reason_code: input.reason_code,
        note: input.note,
    };
    let (customer_id, rules, mut c, memo) = spending(db, actor, holder, spend).await?;
    let minutes = minutes.unwrap_or(rules.hold_minutes);
    if !(1..=MAX_HOLD_MINUTES).contains(&minutes) {
        c.fail("expires_in_minutes", "must be between 1 and 10080");
    }
    c.finish()?;
    let mut made = None;
    let slot = &mut made;
    let moved = run(
        db,
        actor,
        customer_id,
        options,
        |e| e.kind == EntryKind::Redeem.as_str() && e.points == -points,
        async move |txn, account, key, at| {
            let posted = ledger::debit(
                txn,
                account,
                EntryKind::Redeem,
                points,
                ledger::Memo { key, ..memo },
                at,
            )
            .await?;
            let hold = loyalty_hold::Model {
                id: new_id(),
                customer_id,
                entry_id: posted.entry.id,
                points,
                status: HoldStatus::Held.as_str().into(),
                expires_at: at + Duration::minutes(i64::from(minutes)),
                created_at: at,
                updated_at: at,
            };
            loyalty_hold::Entity::insert(loyalty_hold::ActiveModel::from(hold.clone()))
                .exec_without_returning(txn)
                .await?;
            *slot = Some(hold);
            Ok(posted)
        },
    )
    .await?;
    match moved {
        Moved::Created(r) => {
            let hold = made.ok_or_else(|| AppError::Internal(anyhow::anyhow!("the hold just made is missing")))?;
            Ok(Moved::Created(with_hold(hold, r)))
        }
        Moved::Existing(r) => {
            // The key made a redemption: it answers only if that was a hold.
            let hold = loyalty_hold::Entity::find()
                .filter(loyalty_hold::Column::EntryId.eq(r.entry.id))
                .one(db)
                .await?
                .ok_or_else(|| {
                    AppError::field(
                        "Idempotency-Key",
                        "was already used for another movement of this account",
                    )
                })?;
            Ok(Moved::Existing(with_hold(hold, r)))
        }
    }
}

/// Reads a hold.
///
/// # Errors
/// `Forbidden`; `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<HoldView> {
    // Those who settle holds (partners too) and staff who read.
    policy::move_points(actor).or_else(|_| policy::read_customers(actor))?;
    let hold = find(db, id).await?;
    resolve(db, actor, &Holder::Id(hold.customer_id)).await?;
    Ok(view(hold))
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<loyalty_hold::Model> {
    loyalty_hold::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("loyalty hold"))
}

/// A capture or a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    Capture,
    Release,
}

fn conflict(detail: String) -> AppError {
    AppError::Conflict { detail, field: None }
}

/// Captures (the redemption stands) or releases (the points go back) a hold.
/// Doing again what was done answers the same; a capture after the hold's
/// expiry releases it and is a 409, as is releasing a captured hold (cancel
/// its redemption instead) or capturing a released one.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Conflict`.
pub async fn settle(db: &impl Store, actor: &Actor, id: Uuid, how: Settle) -> AppResult<HoldResult> {
    policy::move_points(actor)?;
    let hold = find(db, id).await?;
    let customer_id = resolve(db, actor, &Holder::Id(hold.customer_id)).await?;
    let rules = rules(db).await?;
    let txn = begin(db).await?;
    let mut account = ledger::lock(&txn, customer_id, now()).await?;
    // Taken once the lock is held, so entries' times follow the lock's order.
    let at = now();
    let hold = find(&txn, id).await?;
    let redemption = loyalty_entry::Entity::find_by_id(hold.entry_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("loyalty entry"))?;
    let status = HoldStatus::from_db(&hold.status);
    let expired = status == HoldStatus::Held && hold.expires_at <= at;
    let (to, shown) = match (how, status) {
        (Settle::Capture, HoldStatus::Held) if expired => (HoldStatus::Expired, redemption),
        (Settle::Capture, HoldStatus::Held) => (HoldStatus::Captured, redemption),
        (Settle::Release, HoldStatus::Held) => (HoldStatus::Released, redemption),
        (Settle::Capture, HoldStatus::Captured) => {
            return answer(txn, actor, hold, redemption, &account, at).await;
        }
        (Settle::Release, HoldStatus::Released | HoldStatus::Expired) => {
            let restored = ledger::by_key(&txn, customer_id, &moves::restore_key(redemption.id))
                .await?
                .unwrap_or(redemption);
            return answer(txn, actor, hold, restored, &account, at).await;
        }
        (Settle::Capture, _) => return Err(conflict(format!("the hold is {}, not held", status.as_str()))),
        (Settle::Release, _) => {
            return Err(conflict(
                "the hold is captured: cancel its redemption to give the points back".into(),
            ));
        }
    };
    let entry = if to == HoldStatus::Captured {
        shown
    } else {
        release(&txn, &mut account, &rules, &hold, &shown, to, actor.sub.clone(), at).await?
    };
    let hold = mark(&txn, hold, to, at).await?;
    let result = answer_in(&txn, actor, hold, entry, &account, at).await?;
    txn.commit().await?;
    if expired {
        return Err(conflict(format!(
            "the hold expired at {} and its points went back",
            result.hold.expires_at.to_rfc3339()
        )));
    }
    Ok(result)
}

async fn answer(
    txn: DatabaseTransaction,
    actor: &Actor,
    hold: loyalty_hold::Model,
    entry: loyalty_entry::Model,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<HoldResult> {
    let result = answer_in(&txn, actor, hold, entry, account, at).await?;
    txn.commit().await?;
    Ok(result)
}

async fn answer_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    hold: loyalty_hold::Model,
    entry: loyalty_entry::Model,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<HoldResult> {
    Ok(with_hold(hold, result_of(txn, actor, entry, account, at, false).await?))
}

/// Puts a hold's points back, recording why.
#[allow(clippy::too_many_arguments)]
async fn release(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    rules: &crate::domain::loyalty::Rules,
    hold: &loyalty_hold::Model,
    redemption: &loyalty_entry::Model,
    to: HoldStatus,
    actor: String,
    at: DateTime<Utc>,
) -> AppResult<loyalty_entry::Model> {
    let why = if to == HoldStatus::Expired {
        "hold_expired"
    } else {
        "hold_released"
    };
    match put_back(txn, account, rules, redemption, actor, Some(why.into()), at).await? {
        Some(posted) => Ok(posted.entry),
        None => Err(AppError::Internal(anyhow::anyhow!(
            "hold {} was held but its redemption is already put back",
            hold.id
        ))),
    }
}

/// Moves a held hold to its outcome (a conditional update: the lock already
/// serialises, the condition is the last guard).
async fn mark(
    txn: &DatabaseTransaction,
    hold: loyalty_hold::Model,
    to: HoldStatus,
    at: DateTime<Utc>,
) -> AppResult<loyalty_hold::Model> {
    let res = loyalty_hold::Entity::update_many()
        .col_expr(loyalty_hold::Column::Status, Expr::value(to.as_str()))
        .col_expr(loyalty_hold::Column::UpdatedAt, Expr::value(at))
        .filter(loyalty_hold::Column::Id.eq(hold.id))
        .filter(loyalty_hold::Column::Status.eq(HoldStatus::Held.as_str()))
        .exec(txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "hold {} changed under its account's lock",
            hold.id
        )));
    }
    Ok(loyalty_hold::Model {
        status: to.as_str().into(),
        updated_at: at,
        ..hold
    })
}

/// Releases every hold past its expiry; answers how many. Safe on several
/// instances: each hold is re-read under its account's lock.
///
/// # Errors
/// Database failures (holds already released stay released).
pub async fn expire_due(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<u64> {
    let rules = rules(db).await?;
    let mut released = 0;
    loop {
        let due: Vec<(Uuid, Uuid)> = loyalty_hold::Entity::find()
            .select_only()
            .column(loyalty_hold::Column::Id)
            .column(loyalty_hold::Column::CustomerId)
            .filter(loyalty_hold::Column::Status.eq(HoldStatus::Held.as_str()))
            .filter(loyalty_hold::Column::ExpiresAt.lte(at))
            .order_by_asc(loyalty_hold::Column::ExpiresAt)
            .order_by_asc(loyalty_hold::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if due.is_empty() {
            return Ok(released);
        }
        for (id, customer_id) in due {
            let txn = begin(db).await?;
            let mut account = ledger::lock(&txn, customer_id, at).await?;
            let at = Ord::max(now(), at);
            let hold = find(&txn, id).await?;
            if hold.status != HoldStatus::Held.as_str() {
                continue;
            }
            let redemption = loyalty_entry::Entity::find_by_id(hold.entry_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("loyalty entry"))?;
            release(
                &txn,
                &mut account,
                &rules,
                &hold,
                &redemption,
                HoldStatus::Expired,
                "system".into(),
                at,
            )
            .await?;
            mark(&txn, hold, HoldStatus::Expired, at).await?;
            txn.commit().await?;
            released += 1;
        }
    }
}
