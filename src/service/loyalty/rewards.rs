//! The rewards catalogue: a redemption takes one item of stock and the
//! points in one transaction, so stock is never oversold and points never
//! go without their reward (or the other way round).

use chrono::{DateTime, Utc};
use entity::loyalty_reward;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::moves::{self, MoveOptions, Moved};
use super::{Holder, ledger};
use crate::auth::{Actor, policy};
use crate::contract::loyalty::{EntryKind, RewardInput, RewardRedemption, RewardView};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};
use crate::service::{Store, new_id, now};

fn is_available(m: &loyalty_reward::Model, at: DateTime<Utc>) -> bool {
    m.active
        && m.available_from.is_none_or(|f| f <= at)
        && m.available_until.is_none_or(|u| at < u)
        && m.stock.is_none_or(|s| s > 0)
}

fn to_view(m: loyalty_reward::Model, at: DateTime<Utc>) -> RewardView {
    RewardView {
        available: is_available(&m, at),
        id: m.id,
        name: m.name,
        description: m.description,
        cost: m.cost,
        stock: m.stock,
        available_from: m.available_from,
        available_until: m.available_until,
        active: m.active,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Lists the catalogue, cheapest first (every role).
///
/// # Errors
/// Database failures.
pub async fn list(db: &impl Store, _actor: &Actor) -> AppResult<Vec<RewardView>> {
    let at = now();
    Ok(loyalty_reward::Entity::find()
        .order_by_asc(loyalty_reward::Column::Cost)
        .order_by_asc(loyalty_reward::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_view(m, at))
        .collect())
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<loyalty_reward::Model> {
    loyalty_reward::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("loyalty reward"))
}

/// Reads a reward.
///
/// # Errors
/// `NotFound`.
pub async fn get(db: &impl Store, _actor: &Actor, id: Uuid) -> AppResult<RewardView> {
    Ok(to_view(find(db, id).await?, now()))
}

fn check(input: RewardInput, id: Uuid, at: DateTime<Utc>) -> AppResult<loyalty_reward::Model> {
    let mut c = Checker::default();
    let name = c.check("name", parse::name(input.name));
    let description = c.opt("description", input.description, |d| {
        parse::text(d, parse::MAX_DESCRIPTION)
    });
    if !(1..=1_000_000_000).contains(&input.cost) {
        c.fail("cost", "must be between 1 and 1000000000");
    }
    if input.stock.is_some_and(|s| !(0..=1_000_000_000).contains(&s)) {
        c.fail("stock", "must be between 0 and 1000000000");
    }
    if let (Some(from), Some(until)) = (input.available_from, input.available_until)
        && until <= from
    {
        c.fail("available_until", "must be after available_from");
    }
    c.finish()?;
    Ok(loyalty_reward::Model {
        id,
        name: name.unwrap_or_default(),
        description,
        cost: input.cost,
        stock: input.stock,
        available_from: input.available_from,
        available_until: input.available_until,
        active: input.active.unwrap_or(true),
        created_at: at,
        updated_at: at,
    })
}

/// Adds a reward to the catalogue.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation`.
pub async fn create(db: &impl Store, actor: &Actor, input: RewardInput) -> AppResult<RewardView> {
    policy::manage_customers(actor)?;
    let at = now();
    let m = check(input, new_id(), at)?;
    loyalty_reward::Entity::insert(loyalty_reward::ActiveModel::from(m.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(to_view(m, at))
}

/// Replaces a reward's definition (its stock included).
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation`.
pub async fn replace(db: &impl Store, actor: &Actor, id: Uuid, input: RewardInput) -> AppResult<RewardView> {
    policy::manage_customers(actor)?;
    let old = find(db, id).await?;
    let at = now();
    let m = loyalty_reward::Model {
        created_at: old.created_at,
        ..check(input, id, at)?
    };
    loyalty_reward::Entity::update(loyalty_reward::ActiveModel::from(m.clone()).reset_all())
        .exec(db)
        .await?;
    Ok(to_view(m, at))
}

/// Takes one item of a reward's stock, if it has a stock; false when none is left.
async fn take_stock(txn: &DatabaseTransaction, id: Uuid) -> AppResult<bool> {
    let res = loyalty_reward::Entity::update_many()
        .col_expr(
            loyalty_reward::Column::Stock,
            Expr::col(loyalty_reward::Column::Stock).sub(1),
        )
        .filter(loyalty_reward::Column::Id.eq(id))
        .filter(loyalty_reward::Column::Stock.gt(0))
        .exec(txn)
        .await?;
    if res.rows_affected == 1 {
        return Ok(true);
    }
    // Unlimited rewards have no stock to take.
    Ok(find(txn, id).await?.stock.is_none())
}

/// Puts one item back (a cancelled reward redemption).
///
/// # Errors
/// Database failures.
pub async fn return_stock(txn: &DatabaseTransaction, id: Uuid) -> AppResult<()> {
    loyalty_reward::Entity::update_many()
        .col_expr(
            loyalty_reward::Column::Stock,
            Expr::col(loyalty_reward::Column::Stock).add(1),
        )
        .filter(Condition::all().add(loyalty_reward::Column::Id.eq(id)))
        .filter(loyalty_reward::Column::Stock.is_not_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Redeems a reward for a customer: one item of stock and its cost in
/// points, together or not at all.
///
/// # Errors
/// `Forbidden`; `NotFound`; `Validation`; `Conflict` when the reward is not
/// available or out of stock; `InsufficientPoints`; `BadRequest` without a key.
pub async fn redeem(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    input: RewardRedemption,
    options: &MoveOptions,
) -> AppResult<Moved> {
    policy::move_points(actor)?;
    let holder = match (input.customer_id, input.customer_external_id) {
        (Some(id), None) => Holder::Id(id),
        (None, Some(ext)) => Holder::ExternalId(ext),
        _ => {
            return Err(AppError::field(
                "customer_id",
                "give customer_id or customer_external_id, not both",
            ));
        }
    };
    let reward = find(db, id).await?;
    let (customer_id, _rules, c, note) = moves::prologue(db, actor, &holder, policy::move_points, input.note).await?;
    c.finish()?;
    let cost = reward.cost;
    let memo = ledger::Memo {
        note,
        reward_id: Some(reward.id),
        reason_code: Some("reward".into()),
        actor: actor.sub.clone(),
        ..ledger::Memo::default()
    };
    moves::run(
        db,
        actor,
        customer_id,
        options,
        |e| e.kind == EntryKind::Redeem.as_str() && e.reward_id == Some(reward.id),
        async move |txn, account, key, at| {
            let current = find(txn, reward.id).await?;
            if !is_available(&current, at) {
                return Err(AppError::Conflict {
                    detail: if current.stock == Some(0) {
                        "the reward is out of stock".into()
                    } else {
                        "the reward is not available now".into()
                    },
                    field: None,
                });
            }
            if !take_stock(txn, reward.id).await? {
                return Err(AppError::Conflict {
                    detail: "the reward is out of stock".into(),
                    field: None,
                });
            }
            ledger::debit(txn, account, EntryKind::Redeem, cost, ledger::Memo { key, ..memo }, at).await
        },
    )
    .await
}
