//! The ledger's primitives, each run by its caller inside one transaction
//! holding the account's lock: credit (a lot, after settling debt), debit
//! (from lots, oldest expiry first), restore (back into the lots a
//! redemption drew on) and expire. Every primitive writes one entry, its lot
//! moves, the account's new totals and a `loyalty.points_changed` event —
//! so balance = the ledger's sum and each lot = its points plus its moves.

use chrono::{DateTime, Utc};
use entity::{loyalty_account, loyalty_entry, loyalty_lot, loyalty_lot_move};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::contract::events::EventType;
use crate::contract::loyalty::EntryKind;
use crate::domain::loyalty::{LotLeft, Rules, draw};
use crate::error::{AppError, AppResult};
use crate::service::{events, new_id};

/// Crockford's base-32 alphabet without I, L, O, U: codes read aloud well.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh referral code: eight characters, 40 random bits.
fn referral_code() -> String {
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// The customer's account, made on first use, locked until the transaction
/// ends (PostgreSQL; SQLite's transaction already holds the write lock).
///
/// # Errors
/// Database failures.
pub async fn lock(
    txn: &DatabaseTransaction,
    customer_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<loyalty_account::Model> {
    for _ in 0..5 {
        let mut find = loyalty_account::Entity::find_by_id(customer_id);
        if txn.get_database_backend() == DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        if let Some(account) = find.one(txn).await? {
            return Ok(account);
        }
        // No conflict target: a referral code already taken leaves the row
        // out like a concurrent insert of the same account does, and the
        // loop reads again (then tries another code).
        let inserted = loyalty_account::Entity::insert(loyalty_account::ActiveModel {
            customer_id: Set(customer_id),
            points: Set(0),
            debt: Set(0),
            lifetime_earned: Set(0),
            last_seq: Set(0),
            tier_id: Set(None),
            tier_since: Set(None),
            tier_review_at: Set(None),
            referral_code: Set(referral_code()),
            referred_by: Set(None),
            referral_rewarded_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(txn)
        .await;
        match inserted {
            Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!("no loyalty account could be made")))
}

/// What an entry says besides its points.
#[derive(Clone, Debug, Default)]
pub struct Memo {
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub reward_id: Option<Uuid>,
    pub reverses_entry_id: Option<Uuid>,
    pub eligible_minor: Option<i64>,
    pub actor: String,
    pub key: String,
}

/// An entry written, with its lot moves.
pub struct Posted {
    pub entry: loyalty_entry::Model,
    pub moves: Vec<loyalty_lot_move::Model>,
}

/// A change to an account: the entry's points and the totals' deltas.
struct Change {
    kind: EntryKind,
    points: i64,
    held: i64,
    debt: i64,
    unrecovered: i64,
    earned: i64,
}

/// Writes an entry and its moves, moves the account's totals by the change
/// (relative updates: the `CHECK`s are the last guard) and emits the event.
async fn post(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    change: Change,
    memo: Memo,
    moves: Vec<(Uuid, i64)>,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    account.points += change.held;
    account.debt += change.debt;
    account.lifetime_earned += change.earned;
    account.last_seq += 1;
    account.updated_at = at;
    loyalty_account::Entity::update_many()
        .col_expr(
            loyalty_account::Column::Points,
            Expr::col(loyalty_account::Column::Points).add(change.held),
        )
        .col_expr(
            loyalty_account::Column::Debt,
            Expr::col(loyalty_account::Column::Debt).add(change.debt),
        )
        .col_expr(
            loyalty_account::Column::LifetimeEarned,
            Expr::col(loyalty_account::Column::LifetimeEarned).add(change.earned),
        )
        .col_expr(
            loyalty_account::Column::LastSeq,
            Expr::col(loyalty_account::Column::LastSeq).add(1),
        )
        .col_expr(loyalty_account::Column::UpdatedAt, Expr::value(at))
        .filter(loyalty_account::Column::CustomerId.eq(account.customer_id))
        .exec(txn)
        .await?;
    let entry = loyalty_entry::Model {
        id: new_id(),
        customer_id: account.customer_id,
        seq: account.last_seq,
        kind: change.kind.as_str().into(),
        points: change.points,
        balance_after: account.points - account.debt,
        debt_change: change.debt,
        unrecovered: change.unrecovered,
        reason_code: memo.reason_code,
        note: memo.note,
        order_id: memo.order_id,
        reward_id: memo.reward_id,
        reverses_entry_id: memo.reverses_entry_id,
        eligible_minor: memo.eligible_minor,
        actor: memo.actor,
        idempotency_key: memo.key,
        created_at: at,
    };
    loyalty_entry::Entity::insert(loyalty_entry::ActiveModel::from(entry.clone()))
        .exec_without_returning(txn)
        .await?;
    let moves: Vec<loyalty_lot_move::Model> = moves
        .into_iter()
        .map(|(lot_id, points)| loyalty_lot_move::Model {
            id: 0,
            entry_id: entry.id,
            lot_id,
            points,
        })
        .collect();
    if !moves.is_empty() {
        loyalty_lot_move::Entity::insert_many(moves.iter().map(|m| loyalty_lot_move::ActiveModel {
            id: NotSet,
            entry_id: Set(m.entry_id),
            lot_id: Set(m.lot_id),
            points: Set(m.points),
        }))
        .exec_without_returning(txn)
        .await?;
    }
    events::emit(
        txn,
        EventType::LoyaltyPointsChanged,
        entry.id,
        Some(entry.customer_id),
        serde_json::json!({
            "kind": entry.kind,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "debt_change": entry.debt_change,
            "order_id": entry.order_id,
            "reward_id": entry.reward_id,
            "reverses_entry_id": entry.reverses_entry_id,
        }),
        at,
    )
    .await?;
    Ok(Posted { entry, moves })
}

/// Moves one lot's remainder by `delta`, refusing to take more than it holds.
async fn move_lot(txn: &DatabaseTransaction, lot_id: Uuid, delta: i64) -> AppResult<()> {
    let res = loyalty_lot::Entity::update_many()
        .col_expr(
            loyalty_lot::Column::Remaining,
            Expr::col(loyalty_lot::Column::Remaining).add(delta),
        )
        .filter(loyalty_lot::Column::Id.eq(lot_id))
        .filter(loyalty_lot::Column::Remaining.gte(-delta))
        .exec(txn)
        .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::Internal(anyhow::anyhow!(
            "lot {lot_id} changed under its account's lock"
        )))
    }
}

/// Credits points: debt is settled first, the rest becomes a lot spendable
/// from `available_at` until `expires_at`.
///
/// # Errors
/// Database failures.
#[allow(clippy::too_many_arguments)]
pub async fn credit(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    kind: EntryKind,
    points: i64,
    available_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    let settled = Ord::min(points, account.debt);
    let held = points - settled;
    let lot_id = new_id();
    let earned = if matches!(kind, EntryKind::Earn | EntryKind::Bonus | EntryKind::Referral) {
        points
    } else {
        0
    };
    let moves = if held > 0 { vec![(lot_id, held)] } else { Vec::new() };
    let change = Change {
        kind,
        points,
        held,
        debt: -settled,
        unrecovered: 0,
        earned,
    };
    // The lot refers to its entry: the entry goes first, the lot's first
    // move (its whole points) is recorded beside it so a lot's remainder is
    // always its moves' sum.
    let posted = post(txn, account, change, memo, Vec::new(), at).await?;
    if held > 0 {
        loyalty_lot::Entity::insert(loyalty_lot::ActiveModel {
            id: Set(lot_id),
            customer_id: Set(account.customer_id),
            entry_id: Set(posted.entry.id),
            points: Set(held),
            remaining: Set(held),
            available_at: Set(available_at),
            expires_at: Set(expires_at),
            notified_at: Set(None),
            created_at: Set(at),
        })
        .exec_without_returning(txn)
        .await?;
        insert_moves(txn, posted.entry.id, &moves).await?;
    }
    if earned > 0 {
        super::tiers::upgrade(txn, account, at).await?;
    }
    let moves = moves
        .into_iter()
        .map(|(lot_id, points)| loyalty_lot_move::Model {
            id: 0,
            entry_id: posted.entry.id,
            lot_id,
            points,
        })
        .collect();
    Ok(Posted {
        entry: posted.entry,
        moves,
    })
}

/// [`credit`] of points earned now: pending and expiring by the rules.
///
/// # Errors
/// Database failures.
pub async fn credit_now(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    rules: &Rules,
    kind: EntryKind,
    points: i64,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    credit(
        txn,
        account,
        kind,
        points,
        rules.available_at(at),
        rules.expires_at(at),
        memo,
        at,
    )
    .await
}

async fn insert_moves(txn: &DatabaseTransaction, entry_id: Uuid, moves: &[(Uuid, i64)]) -> AppResult<()> {
    loyalty_lot_move::Entity::insert_many(moves.iter().map(|(lot_id, points)| loyalty_lot_move::ActiveModel {
        id: NotSet,
        entry_id: Set(entry_id),
        lot_id: Set(*lot_id),
        points: Set(*points),
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The lots a strict debit may draw on, in the order it draws: spendable now
/// (past their pending period, not expired), oldest expiry first.
async fn spendable_lots(txn: &DatabaseTransaction, customer_id: Uuid, at: DateTime<Utc>) -> AppResult<Vec<LotLeft>> {
    Ok(lots_query(customer_id, at)
        .filter(loyalty_lot::Column::AvailableAt.lte(at))
        .into_tuple::<(Uuid, i64)>()
        .all(txn)
        .await?
        .into_iter()
        .map(|(id, remaining)| LotLeft { id, remaining })
        .collect())
}

fn lots_query(customer_id: Uuid, at: DateTime<Utc>) -> sea_orm::Select<loyalty_lot::Entity> {
    loyalty_lot::Entity::find()
        .select_only()
        .column(loyalty_lot::Column::Id)
        .column(loyalty_lot::Column::Remaining)
        .filter(loyalty_lot::Column::CustomerId.eq(customer_id))
        .filter(loyalty_lot::Column::Remaining.gt(0))
        .filter(loyalty_lot::Column::ExpiresAt.gt(at))
        .order_by_asc(loyalty_lot::Column::ExpiresAt)
        .order_by_asc(loyalty_lot::Column::CreatedAt)
        .order_by_asc(loyalty_lot::Column::Id)
}

/// What an account can spend now.
///
/// # Errors
/// Database failures.
pub async fn spendable(txn: &DatabaseTransaction, customer_id: Uuid, at: DateTime<Utc>) -> AppResult<i64> {
    Ok(spendable_lots(txn, customer_id, at)
        .await?
        .iter()
        .map(|l| l.remaining)
        .sum())
}

/// Debits points the account can spend now (a redemption, a negative
/// adjustment): the lots read are exactly the lots drawn on, and asking for
/// more than they hold is `InsufficientPoints` with nothing written.
///
/// # Errors
/// `InsufficientPoints`; database failures.
pub async fn debit(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    kind: EntryKind,
    points: i64,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    let lots = spendable_lots(txn, account.customer_id, at).await?;
    let (taken, short) = draw(&lots, points);
    if short > 0 {
        return Err(AppError::InsufficientPoints(points - short));
    }
    take(txn, account, kind, taken, 0, 0, memo, at).await
}

/// Takes the drawn points from their lots and posts the entry.
#[allow(clippy::too_many_arguments)]
async fn take(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    kind: EntryKind,
    taken: Vec<(Uuid, i64)>,
    debt: i64,
    unrecovered: i64,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    for (lot_id, points) in &taken {
        move_lot(txn, *lot_id, -points).await?;
    }
    let held: i64 = taken.iter().map(|(_, p)| p).sum();
    let change = Change {
        kind,
        points: -(held + debt),
        held: -held,
        debt,
        unrecovered,
        earned: 0,
    };
    post(
        txn,
        account,
        change,
        memo,
        taken.into_iter().map(|(lot, p)| (lot, -p)).collect(),
        at,
    )
    .await
}

/// Takes back points a refund reverses: first from the lot the reversed
/// entry made (spendable or not), then from the account's other unexpired
/// lots; what no lot holds becomes debt up to the program's limit, and the
/// rest is recorded on the entry as unrecovered — never a negative balance.
///
/// # Errors
/// Database failures.
pub async fn reverse(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    rules: &Rules,
    points: i64,
    from_entry: Uuid,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    let mut lots: Vec<(Uuid, i64, Uuid)> = lots_query(account.customer_id, at)
        .column(loyalty_lot::Column::EntryId)
        .into_tuple::<(Uuid, i64, Uuid)>()
        .all(txn)
        .await?;
    // Stable: the reversed entry's own lot first, the rest by expiry.
    lots.sort_by_key(|(_, _, entry)| *entry != from_entry);
    let lots: Vec<LotLeft> = lots
        .into_iter()
        .map(|(id, remaining, _)| LotLeft { id, remaining })
        .collect();
    let (taken, short) = draw(&lots, points);
    let room = Ord::max(rules.debt_limit - account.debt, 0);
    let debt = Ord::min(short, room);
    take(txn, account, EntryKind::Reverse, taken, debt, short - debt, memo, at).await
}

/// Puts a redemption's points back into the lots it drew on; a lot whose
/// expiry has passed gets a new lot instead, spendable for the program's
/// grace period.
///
/// # Errors
/// Database failures.
pub async fn restore(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    rules: &Rules,
    redemption: &loyalty_entry::Model,
    memo: Memo,
    at: DateTime<Utc>,
) -> AppResult<Posted> {
    let drawn: Vec<(Uuid, i64, DateTime<Utc>)> = loyalty_lot_move::Entity::find()
        .select_only()
        .column(loyalty_lot_move::Column::LotId)
        .column(loyalty_lot_move::Column::Points)
        .column(loyalty_lot::Column::ExpiresAt)
        .inner_join(loyalty_lot::Entity)
        .filter(loyalty_lot_move::Column::EntryId.eq(redemption.id))
        .into_tuple()
        .all(txn)
        .await?;
    let mut back = Vec::new();
    let mut fresh = 0;
    for (lot_id, points, expires_at) in drawn {
        if expires_at > at {
            move_lot(txn, lot_id, -points).await?;
            back.push((lot_id, -points));
        } else {
            fresh += -points;
        }
    }
    let returned: i64 = back.iter().map(|(_, p)| p).sum();
    let change = Change {
        kind: EntryKind::Restore,
        points: returned + fresh,
        held: returned + fresh,
        debt: 0,
        unrecovered: 0,
        earned: 0,
    };
    let mut posted = post(txn, account, change, memo, back, at).await?;
    if fresh > 0 {
        let lot_id = new_id();
        loyalty_lot::Entity::insert(loyalty_lot::ActiveModel {
            id: Set(lot_id),
            customer_id: Set(account.customer_id),
            entry_id: Set(posted.entry.id),
            points: Set(fresh),
            remaining: Set(fresh),
            available_at: Set(at),
            expires_at: Set(rules.restored_expiry(at)),
            notified_at: Set(None),
            created_at: Set(at),
        })
        .exec_without_returning(txn)
        .await?;
        insert_moves(txn, posted.entry.id, &[(lot_id, fresh)]).await?;
        posted.moves.push(loyalty_lot_move::Model {
            id: 0,
            entry_id: posted.entry.id,
            lot_id,
            points: fresh,
        });
    }
    Ok(posted)
}

/// Expires what is left of the account's lots whose expiry has passed, as
/// one entry; `None` when nothing was due.
///
/// # Errors
/// Database failures.
pub async fn expire(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<Option<Posted>> {
    let due: Vec<(Uuid, i64)> = loyalty_lot::Entity::find()
        .select_only()
        .column(loyalty_lot::Column::Id)
        .column(loyalty_lot::Column::Remaining)
        .filter(loyalty_lot::Column::CustomerId.eq(account.customer_id))
        .filter(loyalty_lot::Column::Remaining.gt(0))
        .filter(loyalty_lot::Column::ExpiresAt.lte(at))
        .order_by_asc(loyalty_lot::Column::ExpiresAt)
        .order_by_asc(loyalty_lot::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    if due.is_empty() {
        return Ok(None);
    }
    let memo = Memo {
        actor: "system".into(),
        key: format!("expire:{}", at.timestamp_micros()),
        ..Memo::default()
    };
    take(txn, account, EntryKind::Expire, due, 0, 0, memo, at)
        .await
        .map(Some)
}

/// The entry recorded under an idempotency key on this account, if any.
///
/// # Errors
/// Database failures.
pub async fn by_key(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    key: &str,
) -> AppResult<Option<loyalty_entry::Model>> {
    Ok(loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::CustomerId.eq(customer_id))
        .filter(loyalty_entry::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?)
}
