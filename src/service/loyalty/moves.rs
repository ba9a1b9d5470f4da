//! Moving points: earn, redeem, adjust, cancel a redemption, and the earns
//! and reversals orders make by themselves. Each runs in one transaction
//! holding the account's lock; each is idempotent by a key unique per
//! account (the request's `Idempotency-Key`, or one derived from the order
//! or entry it follows), so no retry, replay or race moves points twice.

use chrono::{DateTime, Utc};
use entity::{loyalty_account, loyalty_entry, loyalty_tier, order};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::ledger::{self, Memo, Posted};
use super::{Holder, account_view, entry_views, resolve, rules};
use crate::auth::{Actor, policy};
use crate::contract::loyalty::{AdjustInput, EarnInput, EntryKind, MoveResult, RedeemInput};
use crate::contract::orders::OrderStatus;
use crate::domain::loyalty::{Rules, reversal_total};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};
use crate::service::{Store, begin, now};

/// Most points one move may carry.
const MAX_POINTS: i64 = 1_000_000_000;

/// How a move is asked for: the caller's idempotency key (required unless
/// simulating) and whether to write at all.
#[derive(Clone, Debug, Default)]
pub struct MoveOptions {
    pub key: Option<String>,
    pub simulate: bool,
}

/// Whether a move wrote a new entry or found the one its key already made.
pub enum Moved<T = MoveResult> {
    Created(T),
    Existing(T),
}

impl<T> Moved<T> {
    pub fn into_inner(self) -> T {
        match self {
            Self::Created(r) | Self::Existing(r) => r,
        }
    }
}

fn reason(c: &mut Checker, path: &str, value: Option<String>) -> Option<String> {
    c.opt(path, value, crate::domain::loyalty::reason_code)
}

pub(super) fn note(c: &mut Checker, value: Option<String>) -> Option<String> {
    c.opt("note", value, |v| parse::text(v, parse::MAX_TEXT))
}

/// What every move does first: the caller's right to make it (before the
/// body is looked at), the account's customer, the program's rules, and
/// the note checked.
pub(super) async fn prologue(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    allowed: fn(&Actor) -> AppResult<()>,
    given_note: Option<String>,
) -> AppResult<(Uuid, Rules, Checker, Option<String>)> {
    allowed(actor)?;
    let customer_id = resolve(db, actor, holder).await?;
    let rules = rules(db).await?;
    let mut c = Checker::default();
    let note = note(&mut c, given_note);
    Ok((customer_id, rules, c, note))
}

fn key_of(options: &MoveOptions) -> AppResult<String> {
    match &options.key {
        Some(key) if options.simulate => Ok(format!("simulation:{key}")),
        Some(key) => Ok(key.clone()),
        None => Err(AppError::BadRequest("moving points requires an Idempotency-Key".into())),
    }
}

/// The earn multiplier of the account's tier (1 without one).
async fn multiplier(txn: &DatabaseTransaction, account: &loyalty_account::Model) -> AppResult<f64> {
    let Some(tier) = account.tier_id else {
        return Ok(1.0);
    };
    Ok(loyalty_tier::Entity::find_by_id(tier)
        .one(txn)
        .await?
        .map_or(1.0, |t| t.multiplier))
}

/// Runs a move on one account: locks it, answers a key already used with
/// its entry (or a 422 when the key moved something else), otherwise lets
/// `work` post, then commits — or, simulated, rolls back.
pub(super) async fn run<F>(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    options: &MoveOptions,
    same: impl Fn(&loyalty_entry::Model) -> bool,
    work: F,
) -> AppResult<Moved>
where
    F: AsyncFnOnce(&DatabaseTransaction, &mut loyalty_account::Model, String, DateTime<Utc>) -> AppResult<Posted>,
{
    let key = key_of(options)?;
    let txn = begin(db).await?;
    let mut account = ledger::lock(&txn, customer_id, now()).await?;
    // Taken once the lock is held, so entries' times follow the lock's order.
    let at = now();
    if let Some(existing) = ledger::by_key(&txn, customer_id, &key).await? {
        if !same(&existing) {
            return Err(AppError::field(
                "Idempotency-Key",
                "was already used for another movement of this account",
            ));
        }
        let result = result_of(&txn, actor, existing, &account, at, options.simulate).await?;
        return Ok(Moved::Existing(result));
    }
    let posted = work(&txn, &mut account, key, at).await?;
    Ok(Moved::Created(
        finish(txn, actor, posted.entry, &account, at, options.simulate).await?,
    ))
}

/// Shapes what a move did and commits it — or, simulated, lets it roll back.
async fn finish(
    txn: DatabaseTransaction,
    actor: &Actor,
    entry: loyalty_entry::Model,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
    simulate: bool,
) -> AppResult<MoveResult> {
    let result = result_of(&txn, actor, entry, account, at, simulate).await?;
    if !simulate {
        txn.commit().await?;
    }
    Ok(result)
}

pub(super) async fn result_of(
    txn: &DatabaseTransaction,
    actor: &Actor,
    entry: loyalty_entry::Model,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
    simulated: bool,
) -> AppResult<MoveResult> {
    let entry = entry_views(txn, actor, vec![entry])
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the entry just written is missing")))?;
    Ok(MoveResult {
        entry,
        account: account_view(txn, account, at).await?,
        simulated,
    })
}

/// A recorded order of the customer.
async fn order_of(
    db: &impl Store,
    customer_id: Uuid,
    id: Uuid,
    c: &mut Checker,
    path: &str,
) -> AppResult<Option<order::Model>> {
    let found = order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| o.customer_id == customer_id);
    if found.is_none() {
        c.fail(path, "no such order of this customer");
    }
    Ok(found)
}

/// Credits points for a purchase, an order or as a bonus.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Validation` naming each bad field (an amount in
/// a currency without a rate, an order already earning); `BadRequest`
/// without a key.
pub async fn earn(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    input: EarnInput,
    options: &MoveOptions,
) -> AppResult<Moved> {
    let (customer_id, rules, mut c, note) = prologue(db, actor, holder, policy::move_points, input.note).await?;
    let reason_code = reason(&mut c, "reason_code", input.reason_code);
    let given = [
        input.amount_minor.is_some(),
        input.order_id.is_some(),
        input.points.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        c.fail(
            "amount_minor",
            "give exactly one of amount_minor (with currency), order_id or points",
        );
    }
    let order = match input.order_id {
        Some(id) => order_of(db, customer_id, id, &mut c, "order_id").await?,
        None => None,
    };
    if let Some(o) = &order
        && o.status != OrderStatus::Completed.as_str()
    {
        c.fail("order_id", "the order is refunded");
    }
    let amount = match (input.amount_minor, input.currency) {
        (Some(a), Some(cur)) => {
            let amount = c.check("amount_minor", parse::positive_amount(a.0));
            let currency = c.check("currency", parse::currency(cur));
            if let Some(cur) = &currency
                && !rules.rates.iter().any(|(r, _)| r == cur)
            {
                c.fail("currency", "has no earn rate in the program");
            }
            amount.zip(currency)
        }
        (Some(_), None) => {
            c.fail("currency", "is required with amount_minor");
            None
        }
        (None, Some(_)) => {
            c.fail("currency", "goes with amount_minor");
            None
        }
        (None, None) => None,
    };
    if let Some(p) = input.points
        && !(1..=MAX_POINTS).contains(&p)
    {
        c.fail("points", "must be between 1 and 1000000000");
    }
    c.finish()?;
    let actor_name = actor.sub.clone();
    if let Some(order) = order {
        return earn_for_order(db, actor, &rules, customer_id, order, options).await;
    }
    let kind = if amount.is_some() {
        EntryKind::Earn
    } else {
        EntryKind::Bonus
    };
    let bonus = input.points;
    run(
        db,
        actor,
        customer_id,
        options,
        |e| e.kind == kind.as_str() && (bonus.is_none() || Some(e.points) == bonus),
        async move |txn, account, key, at| {
            let (points, eligible) = match amount {
                Some((minor, currency)) => {
                    let points = rules
                        .points_for(minor, &currency, multiplier(txn, account).await?)
                        .unwrap_or(0);
                    if points == 0 {
                        return Err(AppError::field("amount_minor", "earns no points at the program's rate"));
                    }
                    (points, Some(minor))
                }
                None => (bonus.unwrap_or(0), None),
            };
            let memo = Memo {
                reason_code,
                note,
                eligible_minor: eligible,
                actor: actor_name,
                key,
                ..Memo::default()
            };
            ledger::credit_now(txn, account, &rules, kind, points, memo, at).await
        },
    )
    .await
}

/// An order's earn asked for by hand: the order earns once, however often
/// this is sent; a second send answers the earn already made.
async fn earn_for_order(
    db: &impl Store,
    actor: &Actor,
    rules: &Rules,
    customer_id: Uuid,
    order: order::Model,
    options: &MoveOptions,
) -> AppResult<Moved> {
    let txn = begin(db).await?;
    let mut account = ledger::lock(&txn, customer_id, now()).await?;
    // Taken once the lock is held, so entries' times follow the lock's order.
    let at = now();
    let posted = reconcile(&txn, rules, &mut account, &order, &actor.sub, at).await?;
    let (entry, created) = match posted {
        Some(p) => (p.entry, true),
        None => (
            current_earn(&txn, order.id)
                .await?
                .ok_or_else(|| AppError::field("order_id", "earns no points at the program's rate"))?,
            false,
        ),
    };
    let result = finish(txn, actor, entry, &account, at, options.simulate).await?;
    Ok(if created {
        Moved::Created(result)
    } else {
        Moved::Existing(result)
    })
}

async fn current_earn(txn: &DatabaseTransaction, order_id: Uuid) -> AppResult<Option<loyalty_entry::Model>> {
    Ok(loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::OrderId.eq(order_id))
        .filter(loyalty_entry::Column::Kind.eq(EntryKind::Earn.as_str()))
        .order_by_desc(loyalty_entry::Column::Seq)
        .one(txn)
        .await?)
}

/// Brings an order's points in line with its state: a completed order
/// without a live earn earns (again, after a full refund and reinstatement);
/// a refunded part takes back its share of the earn, in proportion, never
/// more than was earned. Keys derive from the order, so a replay finds what
/// it already did.
async fn reconcile(
    txn: &DatabaseTransaction,
    rules: &Rules,
    account: &mut loyalty_account::Model,
    order: &order::Model,
    actor: &str,
    at: DateTime<Utc>,
) -> AppResult<Option<Posted>> {
    let entries = loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::OrderId.eq(order.id))
        .filter(loyalty_entry::Column::CustomerId.eq(account.customer_id))
        .filter(loyalty_entry::Column::Kind.is_in([EntryKind::Earn.as_str(), EntryKind::Reverse.as_str()]))
        .order_by_asc(loyalty_entry::Column::Seq)
        .all(txn)
        .await?;
    let earns: Vec<&loyalty_entry::Model> = entries.iter().filter(|e| e.kind == EntryKind::Earn.as_str()).collect();
    let reversed = |earn: &loyalty_entry::Model| -> i64 {
        entries
            .iter()
            .filter(|r| r.reverses_entry_id == Some(earn.id))
            .map(|r| -r.points + r.unrecovered)
            .sum()
    };
    let current = earns.last().copied();
    if order.status == OrderStatus::Completed.as_str() && order.refunded_minor == 0 {
        super::referrals::reward(txn, account, order.id, at).await?;
        if current.is_some_and(|e| reversed(e) < e.points) {
            return Ok(None);
        }
        let eligible = order.amount_minor - order.points_paid_minor;
        let points = rules
            .points_for(eligible, &order.currency, multiplier(txn, account).await?)
            .unwrap_or(0);
        if points <= 0 {
            return Ok(None);
        }
        let memo = Memo {
            order_id: Some(order.id),
            eligible_minor: Some(eligible),
            actor: actor.into(),
            key: format!("order:{}:earn:{}", order.id, earns.len()),
            ..Memo::default()
        };
        return ledger::credit(
            txn,
            account,
            EntryKind::Earn,
            points,
            rules.available_at(order.ordered_at),
            rules.expires_at(order.ordered_at),
            memo,
            at,
        )
        .await
        .map(Some);
    }
    let Some(earn) = current else {
        return Ok(None);
    };
    let target = reversal_total(
        earn.points,
        earn.eligible_minor.unwrap_or(0),
        order.refunded_minor,
        rules.rounding,
    );
    let done = reversed(earn);
    if target <= done {
        return Ok(None);
    }
    let memo = Memo {
        order_id: Some(order.id),
        reverses_entry_id: Some(earn.id),
        actor: actor.into(),
        key: format!("order:{}:reverse:{}:{target}", order.id, earn.id),
        ..Memo::default()
    };
    ledger::reverse(txn, account, rules, target - done, earn.id, memo, at)
        .await
        .map(Some)
}

/// The orders' own moves, in the transaction that recorded, refunded or
/// reinstated them: earns for completed orders, reversals for refunds. A
/// disabled program moves nothing.
///
/// # Errors
/// Database failures.
pub async fn on_orders(txn: &DatabaseTransaction, orders: &[&order::Model], at: DateTime<Utc>) -> AppResult<()> {
    let rules = rules(txn).await?;
    if !rules.enabled || orders.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&order::Model> = orders.to_vec();
    sorted.sort_by_key(|o| (o.customer_id, o.id));
    let mut current: Option<loyalty_account::Model> = None;
    for order in sorted {
        if current.as_ref().is_none_or(|a| a.customer_id != order.customer_id) {
            current = Some(ledger::lock(txn, order.customer_id, at).await?);
        }
        if let Some(account) = current.as_mut() {
            reconcile(txn, &rules, account, order, "system", Ord::max(now(), at)).await?;
        }
    }
    Ok(())
}

/// What a spending of points says, checked: the caller's right, the
/// points (within bounds and at least the program's minimum redemption), the
/// order it pays for, the reason code and note. Answers the customer, the
/// rules, the checker (for the caller's own fields) and the entry's memo.
pub(super) async fn spending(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    input: RedeemInput,
) -> AppResult<(Uuid, Rules, Checker, Memo)> {
    let (customer_id, rules, mut c, note) = prologue(db, actor, holder, policy::move_points, input.note).await?;
    let reason_code = reason(&mut c, "reason_code", input.reason_code);
    if !(1..=MAX_POINTS).contains(&input.points) {
        c.fail("points", "must be between 1 and 1000000000");
    } else if input.points < rules.min_redemption {
        c.fail(
            "points",
            format!(
                "must be at least the program's minimum redemption of {}",
                rules.min_redemption
            ),
        );
    }
    if let Some(id) = input.order_id {
        order_of(db, customer_id, id, &mut c, "order_id").await?;
    }
    let memo = Memo {
        reason_code,
        note,
        order_id: input.order_id,
        actor: actor.sub.clone(),
        ..Memo::default()
    };
    Ok((customer_id, rules, c, memo))
}

/// Spends points the customer can spend now.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Validation`; `InsufficientPoints` (409) stating
/// the spendable balance; `BadRequest` without a key.
pub async fn redeem(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    input: RedeemInput,
    options: &MoveOptions,
) -> AppResult<Moved> {
    let points = input.points;
    let (customer_id, _, c, memo) = spending(db, actor, holder, input).await?;
    c.finish()?;
    run(
        db,
        actor,
        customer_id,
        options,
        |e| e.kind == EntryKind::Redeem.as_str() && e.points == -points,
        async move |txn, account, key, at| {
            ledger::debit(txn, account, EntryKind::Redeem, points, Memo { key, ..memo }, at).await
        },
    )
    .await
}

/// A correction by staff: a positive adjustment makes a lot, a negative one
/// draws on spendable points and never overdraws.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation`;
/// `InsufficientPoints`; `BadRequest` without a key.
pub async fn adjust(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    input: AdjustInput,
    options: &MoveOptions,
) -> AppResult<Moved> {
    let (customer_id, rules, mut c, note) = prologue(db, actor, holder, policy::manage_customers, input.note).await?;
    let reason_code = c.check("reason_code", crate::domain::loyalty::reason_code(input.reason_code));
    let points = input.points;
    if points == 0 || points.abs() > MAX_POINTS {
        c.fail("points", "must be non-zero, between -1000000000 and 1000000000");
    }
    c.finish()?;
    let memo = Memo {
        reason_code,
        note,
        actor: actor.sub.clone(),
        ..Memo::default()
    };
    run(
        db,
        actor,
        customer_id,
        options,
        |e| e.kind == EntryKind::Adjust.as_str() && e.points == points,
        async move |txn, account, key, at| {
            let memo = Memo { key, ..memo };
            if points > 0 {
                ledger::credit_now(txn, account, &rules, EntryKind::Adjust, points, memo, at).await
            } else {
                ledger::debit(txn, account, EntryKind::Adjust, -points, memo, at).await
            }
        },
    )
    .await
}

/// Cancels a redemption (the order it paid for was cancelled): its points go
/// back into the lots they came from, with their expiry; a lot already
/// expired comes back as a new lot for the program's grace period. Once per
/// redemption.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Conflict` for an entry that is not a
/// redemption or was already cancelled; `BadRequest` without a key.
pub async fn cancel(db: &impl Store, actor: &Actor, entry_id: Uuid, options: &MoveOptions) -> AppResult<Moved> {
    policy::move_points(actor)?;
    let entry = loyalty_entry::Entity::find_by_id(entry_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("loyalty entry"))?;
    let customer_id = resolve(db, actor, &Holder::Id(entry.customer_id)).await?;
    if entry.kind != EntryKind::Redeem.as_str() {
        return Err(AppError::Conflict {
            detail: "only a redemption can be cancelled".into(),
            field: None,
        });
    }
    let rules = rules(db).await?;
    key_of(options)?;
    let txn = begin(db).await?;
    let mut account = ledger::lock(&txn, customer_id, now()).await?;
    // Taken once the lock is held, so entries' times follow the lock's order.
    let at = now();
    if super::holds::held(&txn, entry.id).await? {
        return Err(AppError::Conflict {
            detail: "the redemption is held for a checkout: release the hold instead".into(),
            field: None,
        });
    }
    let posted = put_back(&txn, &mut account, &rules, &entry, actor.sub.clone(), None, at)
        .await?
        .ok_or_else(|| AppError::Conflict {
            detail: "the redemption is already cancelled".into(),
            field: None,
        })?;
    Ok(Moved::Created(
        finish(txn, actor, posted.entry, &account, at, options.simulate).await?,
    ))
}

/// Puts a redemption's points back (a cancellation, a released hold) under
/// the key derived from it, and a reward's item back in stock; `None` when
/// it was already put back.
///
/// # Errors
/// Database failures.
pub(super) async fn put_back(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    rules: &Rules,
    entry: &loyalty_entry::Model,
    actor: String,
    reason_code: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<Option<Posted>> {
    let key = restore_key(entry.id);
    if ledger::by_key(txn, account.customer_id, &key).await?.is_some() {
        return Ok(None);
    }
    let memo = Memo {
        reason_code,
        order_id: entry.order_id,
        reward_id: entry.reward_id,
        reverses_entry_id: Some(entry.id),
        actor,
        key,
        ..Memo::default()
    };
    let posted = ledger::restore(txn, account, rules, entry, memo, at).await?;
    if let Some(reward) = entry.reward_id {
        super::rewards::return_stock(txn, reward).await?;
    }
    Ok(Some(posted))
}

/// The key of the entry that puts a redemption back.
pub(super) fn restore_key(redemption: Uuid) -> String {
    format!("restore:{redemption}")
}
