//! The expiry job: what is left of lots past their expiry becomes one
//! `expire` entry per account. Safe on several instances: each account is
//! expired under its lock, and a second run finds nothing left to expire.

use chrono::{DateTime, Utc};
use entity::loyalty_lot;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::ledger;
use crate::error::AppResult;
use crate::service::{begin, now};

/// Accounts read per round.
const BATCH: u64 = 500;

/// What an expiry run did.
#[derive(Debug, Default)]
pub struct Expired {
    pub accounts: u64,
    pub points: i64,
}

/// Expires every due lot, account by account.
///
/// # Errors
/// Database failures (accounts already done stay done).
pub async fn run(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<Expired> {
    let mut done = Expired::default();
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
