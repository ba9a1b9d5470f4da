//! The expiry job: lots expiring soon are announced once each
//! (`loyalty.points_expiring`), and what is left of lots past their expiry
//! becomes one `expire` entry per account. Safe on several instances: each account is
//! expired under its lock, and a second run finds nothing left to expire.

use chrono::{DateTime, Utc};
use entity::loyalty_lot;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::ledger;
use crate::contract::events::EventType;
use crate::error::AppResult;
use crate::service::{begin, events, now};

/// Accounts read per round.
const BATCH: u64 = 500;

/// What an expiry run did.
#[derive(Debug, Default)]
pub struct Expired {
    pub accounts: u64,
    pub points: i64,
    pub announced: u64,
}

/// Announces lots expiring within the program's notice: one
/// `loyalty.points_expiring` per lot, ever (a conditional update marks it;
/// a second run, or a second instance, finds it marked).
async fn announce(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<u64> {
    let days = super::program(db).await?.expiring_notice_days;
    if days == 0 {
        return Ok(0);
    }
    let horizon = at + chrono::Duration::days(i64::from(days));
    let mut announced = 0;
    loop {
        let due = loyalty_lot::Entity::find()
            .filter(loyalty_lot::Column::NotifiedAt.is_null())
            .filter(loyalty_lot::Column::Remaining.gt(0))
            .filter(loyalty_lot::Column::ExpiresAt.gt(at))
            .filter(loyalty_lot::Column::ExpiresAt.lte(horizon))
            .order_by_asc(loyalty_lot::Column::ExpiresAt)
            .limit(BATCH)
            .all(db)
            .await?;
        if due.is_empty() {
            return Ok(announced);
        }
        for lot in due {
            let txn = begin(db).await?;
            let marked = loyalty_lot::Entity::update_many()
                .col_expr(loyalty_lot::Column::NotifiedAt, Expr::value(Some(at)))
                .filter(loyalty_lot::Column::Id.eq(lot.id))
                .filter(loyalty_lot::Column::NotifiedAt.is_null())
                .exec(&txn)
                .await?;
            if marked.rows_affected == 1 {
                events::emit(
                    &txn,
                    EventType::LoyaltyPointsExpiring,
                    lot.id,
                    Some(lot.customer_id),
                    serde_json::json!({"points": lot.remaining, "expires_at": lot.expires_at}),
                    at,
                )
                .await?;
                announced += 1;
            }
            txn.commit().await?;
        }
    }
}

/// Announces lots expiring soon, then expires every due lot, account by account.
///
/// # Errors
/// Database failures (accounts already done stay done).
pub async fn run(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<Expired> {
    let mut done = Expired {
        announced: announce(db, at).await?,
        ..Expired::default()
    };
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = loyalty_lot::Entity::find()
            .select_only()
            .column(loyalty_lot::Column::CustomerId)
            .distinct()
            .filter(loyalty_lot::Column::Remaining.gt(0))
            .filter(loyalty_lot::Column::ExpiresAt.lte(at));
        if let Some(a) = after {
            q = q.filter(loyalty_lot::Column::CustomerId.gt(a));
        }
        let due: Vec<Uuid> = q
            .order_by_asc(loyalty_lot::Column::CustomerId)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = due.last().copied() else {
            return Ok(done);
        };
        for customer_id in due {
            let txn = begin(db).await?;
            let mut account = ledger::lock(&txn, customer_id, at).await?;
            // The entry's time follows the lock's order, as every move's does.
            let at = Ord::max(now(), at);
            if let Some(posted) = ledger::expire(&txn, &mut account, at).await? {
                done.accounts += 1;
                done.points -= posted.entry.points;
            }
            txn.commit().await?;
        }
        after = Some(last);
    }
}
