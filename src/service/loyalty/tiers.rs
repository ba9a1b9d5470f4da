//! Tiers: qualification by points earned in a rolling 12 months (spending
//! does not lower it), an immediate upgrade when an earn qualifies, and a
//! periodic review that moves an account down one tier at most.

use chrono::{DateTime, Duration, Months, Utc};
use entity::{loyalty_account, loyalty_entry, loyalty_tier, loyalty_tier_change};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{ledger, program};
use crate::auth::{Actor, policy};
use crate::contract::events::EventType;
use crate::contract::loyalty::{EntryKind, LoyaltyTierChange, TierInput, TierView};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};
use crate::service::{Store, begin, events, new_id, now};

/// The entry kinds that count towards qualification (reversals count
/// against it).
pub const QUALIFYING: [EntryKind; 4] = [
    EntryKind::Earn,
    EntryKind::Bonus,
    EntryKind::Referral,
    EntryKind::Reverse,
];

fn to_view(m: loyalty_tier::Model) -> TierView {
    TierView {
        id: m.id,
        name: m.name,
        qualifying_points: m.qualifying_points,
        multiplier: m.multiplier,
        benefits: async_graphql::Json(m.benefits),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Every tier, lowest first.
///
/// # Errors
/// Database failures.
pub async fn all(conn: &impl ConnectionTrait) -> AppResult<Vec<loyalty_tier::Model>> {
    Ok(loyalty_tier::Entity::find()
        .order_by_asc(loyalty_tier::Column::QualifyingPoints)
        .all(conn)
        .await?)
}

/// Lists the tiers, lowest first (every role: customers see what they can reach).
///
/// # Errors
/// Database failures.
pub async fn list(db: &impl Store, _actor: &Actor) -> AppResult<Vec<TierView>> {
    Ok(all(db).await?.into_iter().map(to_view).collect())
}

fn check(input: TierInput) -> AppResult<(String, i64, f64, serde_json::Value)> {
    let mut c = Checker::default();
    let name = c.check("name", parse::name(input.name));
    if !(0..=1_000_000_000).contains(&input.qualifying_points) {
        c.fail("qualifying_points", "must be between 0 and 1000000000");
    }
    let multiplier = input.multiplier.unwrap_or(1.0);
    if !(0.1..=10.0).contains(&multiplier) {
        c.fail("multiplier", "must be between 0.1 and 10");
    }
    let benefits = input.benefits.map_or_else(|| serde_json::json!({}), |b| b.0);
    if !benefits.is_object() {
        c.fail("benefits", "must be a JSON object");
    } else if benefits.to_string().len() > 8192 {
        c.fail("benefits", "must be at most 8 kB");
    } else if !crate::domain::parse::json_numbers_fit(&benefits) {
        c.fail("benefits", "numbers must be within ±1e300");
    }
    c.finish()?;
    Ok((name.unwrap_or_default(), input.qualifying_points, multiplier, benefits))
}

/// A name or threshold another tier has.
async fn clash(db: &impl Store, id: Option<Uuid>, name: &str, points: i64) -> AppResult<()> {
    for t in all(db).await?.into_iter().filter(|t| Some(t.id) != id) {
        if t.name == name {
            return Err(AppError::conflict_on("name", "another tier has this name"));
        }
        if t.qualifying_points == points {
            return Err(AppError::conflict_on(
                "qualifying_points",
                "another tier starts at these points",
            ));
        }
    }
    Ok(())
}

/// Creates a tier.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation`; `Conflict` on a taken
/// name or threshold.
pub async fn create(db: &impl Store, actor: &Actor, input: TierInput) -> AppResult<TierView> {
    policy::manage_customers(actor)?;
    let (name, qualifying_points, multiplier, benefits) = check(input)?;
    let txn = begin(db).await?;
    clash(&txn, None, &name, qualifying_points).await?;
    let at = now();
    let m = loyalty_tier::Model {
        id: new_id(),
        name,
        qualifying_points,
        multiplier,
        benefits,
        created_at: at,
        updated_at: at,
    };
    loyalty_tier::Entity::insert(loyalty_tier::ActiveModel::from(m.clone()))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(to_view(m))
}

/// Replaces a tier's definition (accounts in it stay until an earn or a
/// review moves them).
///
/// # Errors
/// As [`create`]; `NotFound`.
pub async fn replace(db: &impl Store, actor: &Actor, id: Uuid, input: TierInput) -> AppResult<TierView> {
    policy::manage_customers(actor)?;
    let (name, qualifying_points, multiplier, benefits) = check(input)?;
    let txn = begin(db).await?;
    let old = loyalty_tier::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("loyalty tier"))?;
    clash(&txn, Some(id), &name, qualifying_points).await?;
    let m = loyalty_tier::Model {
        name,
        qualifying_points,
        multiplier,
        benefits,
        updated_at: now(),
        ..old
    };
    loyalty_tier::Entity::update(loyalty_tier::ActiveModel::from(m.clone()).reset_all())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(to_view(m))
}

/// Deletes a tier no account holds.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` while
/// accounts hold it.
pub async fn delete(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    policy::manage_customers(actor)?;
    let txn = begin(db).await?;
    let held = loyalty_account::Entity::find()
        .filter(loyalty_account::Column::TierId.eq(id))
        .one(&txn)
        .await?;
    if held.is_some() {
        return Err(AppError::Conflict {
            detail: "accounts hold this tier; it can be changed, not deleted".into(),
            field: None,
        });
    }
    let res = loyalty_tier::Entity::delete_by_id(id).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound("loyalty tier"));
    }
    txn.commit().await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct Sum {
    total: Option<i64>,
}

/// Points earned in the 12 months before `at`, less reversals, never below 0.
///
/// # Errors
/// Database failures.
pub async fn qualifying(conn: &impl ConnectionTrait, customer_id: Uuid, at: DateTime<Utc>) -> AppResult<i64> {
    let since = at.checked_sub_months(Months::new(12)).unwrap_or(at);
    let sum = super::super::sum_minor(conn.get_database_backend(), "points - unrecovered");
    let total = loyalty_entry::Entity::find()
        .select_only()
        .column_as(Expr::cust(sum), "total")
        .filter(loyalty_entry::Column::CustomerId.eq(customer_id))
        .filter(loyalty_entry::Column::Kind.is_in(QUALIFYING.map(EntryKind::as_str)))
        .filter(loyalty_entry::Column::CreatedAt.gt(since))
        .into_model::<Sum>()
        .one(conn)
        .await?
        .and_then(|s| s.total)
        .unwrap_or(0);
    Ok(total.max(0))
}

/// The highest tier `points` reach.
fn reached(tiers: &[loyalty_tier::Model], points: i64) -> Option<&loyalty_tier::Model> {
    tiers.iter().rev().find(|t| t.qualifying_points <= points)
}

fn rank(tiers: &[loyalty_tier::Model], id: Option<Uuid>) -> Option<usize> {
    id.and_then(|id| tiers.iter().position(|t| t.id == id))
}

/// Where an account stands: its qualifying points, the next tier and the
/// points missing for it, and the tier a review would leave it in.
pub struct Standing {
    pub qualifying: i64,
    pub tier: Option<loyalty_tier::Model>,
    pub next: Option<(String, i64)>,
    pub projected: Option<String>,
}

/// Reads an account's standing.
///
/// # Errors
/// Database failures.
pub async fn standing(
    conn: &impl ConnectionTrait,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<Standing> {
    let tiers = all(conn).await?;
    if tiers.is_empty() {
        return Ok(Standing {
            qualifying: 0,
            tier: None,
            next: None,
            projected: None,
        });
    }
    let q = qualifying(conn, account.customer_id, at).await?;
    let current = rank(&tiers, account.tier_id);
    let next_index = current.map_or(0, |i| i + 1);
    let next = tiers
        .get(next_index)
        .map(|t| (t.name.clone(), (t.qualifying_points - q).max(0)));
    let projected = reviewed(&tiers, current, q).map(|i| tiers[i].name.clone());
    Ok(Standing {
        qualifying: q,
        tier: current.map(|i| tiers[i].clone()),
        next,
        projected,
    })
}

/// The tier a review leaves an account in: where it is if its points still
/// qualify, else one step down (none below the lowest).
fn reviewed(tiers: &[loyalty_tier::Model], current: Option<usize>, points: i64) -> Option<usize> {
    let reach = reached(tiers, points).and_then(|t| rank(tiers, Some(t.id)));
    match (current, reach) {
        (None, r) => r,
        (Some(c), Some(r)) if r >= c => Some(c),
        (Some(c), _) => c.checked_sub(1),
    }
}

/// Moves an account to a tier, with its history row and event.
#[allow(clippy::too_many_arguments)]
async fn change(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    to: Option<&loyalty_tier::Model>,
    reason: &str,
    qualifying_points: i64,
    review_months: u32,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let from = account.tier_id;
    let review_at = at
        .checked_add_months(Months::new(review_months))
        .unwrap_or(at + Duration::days(365));
    account.tier_id = to.map(|t| t.id);
    account.tier_since = Some(at);
    account.tier_review_at = to.map(|_| review_at);
    loyalty_account::Entity::update_many()
        .col_expr(loyalty_account::Column::TierId, Expr::value(account.tier_id))
        .col_expr(loyalty_account::Column::TierSince, Expr::value(account.tier_since))
        .col_expr(
            loyalty_account::Column::TierReviewAt,
            Expr::value(account.tier_review_at),
        )
        .filter(loyalty_account::Column::CustomerId.eq(account.customer_id))
        .exec(txn)
        .await?;
    loyalty_tier_change::Entity::insert(loyalty_tier_change::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(account.customer_id),
        from_tier_id: Set(from),
        to_tier_id: Set(account.tier_id),
        reason: Set(reason.into()),
        qualifying_points: Set(qualifying_points),
        created_at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    events::emit(
        txn,
        EventType::LoyaltyTierChanged,
        account.customer_id,
        Some(account.customer_id),
        serde_json::json!({
            "from_tier_id": from,
            "to_tier_id": account.tier_id,
            "to_tier": to.map(|t| t.name.clone()),
            "reason": reason,
            "qualifying_points": qualifying_points,
        }),
        at,
    )
    .await
}

/// After a qualifying credit: moves the account up at once if its points
/// now reach a higher tier.
///
/// # Errors
/// Database failures.
pub async fn upgrade(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let tiers = all(txn).await?;
    if tiers.is_empty() {
        return Ok(());
    }
    let q = qualifying(txn, account.customer_id, at).await?;
    let current = rank(&tiers, account.tier_id);
    let Some(reach) = reached(&tiers, q).and_then(|t| rank(&tiers, Some(t.id))) else {
        return Ok(());
    };
    if current.is_some_and(|c| c >= reach) {
        return Ok(());
    }
    let months = program(txn).await?.tier_review_months;
    change(txn, account, Some(&tiers[reach]), "upgrade", q, months, at).await
}

/// What a review run did.
#[derive(Debug, Default)]
pub struct Reviewed {
    pub accounts: u64,
    pub downgraded: u64,
}

/// Reviews every account whose review is due: one step down when its
/// points no longer qualify, and the next review set either way. Each
/// account under its lock, so several instances never review one twice.
///
/// # Errors
/// Database failures (accounts already reviewed stay reviewed).
pub async fn review(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<Reviewed> {
    let mut done = Reviewed::default();
    let months = program(db).await?.tier_review_months;
    loop {
        let due: Vec<Uuid> = loyalty_account::Entity::find()
            .select_only()
            .column(loyalty_account::Column::CustomerId)
            .filter(loyalty_account::Column::TierReviewAt.lte(at))
            .order_by_asc(loyalty_account::Column::CustomerId)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        if due.is_empty() {
            return Ok(done);
        }
        for customer_id in due {
            let txn = begin(db).await?;
            let mut account = ledger::lock(&txn, customer_id, at).await?;
            if account.tier_review_at.is_some_and(|r| r <= at) {
                let tiers = all(&txn).await?;
                let q = qualifying(&txn, customer_id, at).await?;
                let current = rank(&tiers, account.tier_id);
                let target = reviewed(&tiers, current, q);
                if target == current {
                    let next = at
                        .checked_add_months(Months::new(months))
                        .unwrap_or(at + Duration::days(365));
                    loyalty_account::Entity::update_many()
                        .col_expr(loyalty_account::Column::TierReviewAt, Expr::value(Some(next)))
                        .filter(loyalty_account::Column::CustomerId.eq(customer_id))
                        .exec(&txn)
                        .await?;
                } else {
                    let to = target.map(|i| tiers[i].clone());
                    change(&txn, &mut account, to.as_ref(), "review", q, months, at).await?;
                    done.downgraded += 1;
                }
                done.accounts += 1;
            }
            txn.commit().await?;
        }
    }
}

/// An account's tier history, newest first.
///
/// # Errors
/// `Forbidden`; `NotFound`.
pub async fn history(db: &impl Store, actor: &Actor, holder: &super::Holder) -> AppResult<Vec<LoyaltyTierChange>> {
    let id = super::resolve(db, actor, holder).await?;
    history_of(db, id).await
}

/// A customer's tier history, newest first (the latest 200).
///
/// # Errors
/// Database failures.
pub async fn history_of(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Vec<LoyaltyTierChange>> {
    Ok(loyalty_tier_change::Entity::find()
        .filter(loyalty_tier_change::Column::CustomerId.eq(id))
        .order_by_desc(loyalty_tier_change::Column::CreatedAt)
        .limit(200)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| LoyaltyTierChange {
            from_tier_id: m.from_tier_id,
            to_tier_id: m.to_tier_id,
            reason: m.reason,
            qualifying_points: m.qualifying_points,
            at: m.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(points: i64) -> loyalty_tier::Model {
        loyalty_tier::Model {
            id: Uuid::from_u128(u128::try_from(points).unwrap_or(0) + 1),
            name: format!("t{points}"),
            qualifying_points: points,
            multiplier: 1.0,
            benefits: serde_json::json!({}),
            created_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn a_review_moves_down_one_tier_at_most() {
        let tiers = vec![tier(0), tier(1000), tier(5000)];
        // Top tier, points fell to nothing: one step down, not two.
        assert_eq!(reviewed(&tiers, Some(2), 10), Some(1));
        // Still qualifying: stays.
        assert_eq!(reviewed(&tiers, Some(1), 1500), Some(1));
        // Qualifying higher (an upgrade was missed): stays where it is.
        assert_eq!(reviewed(&tiers, Some(1), 9000), Some(1));
        // The lowest tier has nothing below it.
        let from_one = vec![tier(100), tier(1000)];
        assert_eq!(reviewed(&from_one, Some(0), 10), None);
    }
}
