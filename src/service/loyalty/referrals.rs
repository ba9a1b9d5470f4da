//! Referrals: a customer created with another's code is linked to them, and
//! the new customer's first completed order rewards both, once — however
//! often the order is re-sent, refunded and completed again — within the
//! referrer's yearly cap. Codes of deleted or erased customers, and a
//! customer's own, are refused.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{customer, loyalty_account, loyalty_entry};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::ledger::{self, Memo};
use super::program;
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::loyalty::{EntryKind, ReferralCandidate};
use crate::domain::Checker;
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::AppResult;
use crate::service::{Store, mask, paging};

/// The reason code of the referrer's reward (the referee's has none).
const REFERRER: &str = "referrer";

/// The live customer behind a referral code, checked for a new customer
/// with this e-mail; a bad code is a field error on `referral_code`.
///
/// # Errors
/// Database failures.
pub async fn referrer(
    conn: &impl ConnectionTrait,
    c: &mut Checker,
    code: String,
    email: Option<&str>,
) -> AppResult<Option<Uuid>> {
    let code = code.to_uppercase();
    if code.is_empty() || code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        c.fail("referral_code", "must be 1 to 32 letters and digits");
        return Ok(None);
    }
    let found = loyalty_account::Entity::find()
        .filter(loyalty_account::Column::ReferralCode.eq(code))
        .one(conn)
        .await?;
    let live = match found {
        Some(a) => {
            customer::Entity::find_by_id(a.customer_id)
                .filter(customer::Column::DeletedAt.is_null())
                .one(conn)
                .await?
        }
        None => None,
    };
    let Some(referrer) = live else {
        c.fail("referral_code", "no such referral code");
        return Ok(None);
    };
    let same_person = matches!(
        (email, referrer.email.as_deref()),
        (Some(a), Some(b)) if a.trim().eq_ignore_ascii_case(b.trim())
    );
    if same_person {
        c.fail("referral_code", "a customer cannot refer themselves");
        return Ok(None);
    }
    Ok(Some(referrer.id))
}

/// Links a new customer to their referrer (the account is made for it).
///
/// # Errors
/// Database failures.
pub async fn link(txn: &DatabaseTransaction, customer_id: Uuid, referrer: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    ledger::lock(txn, customer_id, at).await?;
    loyalty_account::Entity::update_many()
        .col_expr(loyalty_account::Column::ReferredBy, Expr::value(Some(referrer)))
        .filter(loyalty_account::Column::CustomerId.eq(customer_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// On a referred customer's first completed order: the referee's reward,
/// the referrer's (within the yearly cap, if still a live customer), and
/// the mark that makes it once. The caller holds the referee's lock; the
/// referrer's is taken after it (a referrer is always the older account,
/// so locks are never taken in a cycle).
///
/// # Errors
/// Database failures.
pub async fn reward(
    txn: &DatabaseTransaction,
    account: &mut loyalty_account::Model,
    order_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let (Some(referrer_id), None) = (account.referred_by, account.referral_rewarded_at) else {
        return Ok(());
    };
    let program = program(txn).await?;
    let rules = super::to_rules(&program);
    account.referral_rewarded_at = Some(at);
    loyalty_account::Entity::update_many()
        .col_expr(loyalty_account::Column::ReferralRewardedAt, Expr::value(Some(at)))
        .filter(loyalty_account::Column::CustomerId.eq(account.customer_id))
        .exec(txn)
        .await?;
    let memo = |key: String, reason: Option<&str>| Memo {
        order_id: Some(order_id),
        reason_code: reason.map(str::to_owned),
        actor: "system".into(),
        key,
        ..Memo::default()
    };
    if program.referee_points > 0 {
        let key = format!("referral:{}:referee", account.customer_id);
        ledger::credit_now(
            txn,
            account,
            &rules,
            EntryKind::Referral,
            program.referee_points,
            memo(key, None),
            at,
        )
        .await?;
    }
    let live = customer::Entity::find_by_id(referrer_id)
        .filter(customer::Column::DeletedAt.is_null())
        .one(txn)
        .await?
        .is_some();
    if program.referrer_points <= 0 || !live {
        return Ok(());
    }
    let mut referrer = ledger::lock(txn, referrer_id, at).await?;
    let this_year = loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::CustomerId.eq(referrer_id))
        .filter(loyalty_entry::Column::Kind.eq(EntryKind::Referral.as_str()))
        .filter(loyalty_entry::Column::ReasonCode.eq(REFERRER))
        .filter(loyalty_entry::Column::CreatedAt.gt(at - Duration::days(365)))
        .count(txn)
        .await?;
    if this_year >= u64::from(program.referrals_per_year) {
        tracing::info!(referrer = %referrer_id, "referral reward over the yearly cap");
        return Ok(());
    }
    let key = format!("referral:{}:referrer", account.customer_id);
    ledger::credit_now(
        txn,
        &mut referrer,
        &rules,
        EntryKind::Referral,
        program.referrer_points,
        memo(key, Some(REFERRER)),
        at,
    )
    .await?;
    Ok(())
}

/// Promoters to ask for referrals, newest candidates first: customers whose
/// promoter answer made them candidates and whose latest NPS answer is still
/// a promoter's, with their code and how many they have referred. Personal
/// data is masked for analysts; partners and customers may not list them.
///
/// # Errors
/// `Forbidden`; `Validation` on a bad cursor.
pub async fn candidates(db: &impl Store, actor: &Actor, page: &PageRequest) -> AppResult<Page<ReferralCandidate>> {
    policy::read_customers(actor)?;
    let mut query = customer::Entity::find()
        .filter(customer::Column::DeletedAt.is_null())
        .filter(customer::Column::ReferralCandidateAt.is_not_null())
        .filter(customer::Column::NpsCategory.eq("promoter"));
    if let Some(after) = &page.after {
        query = query.filter(paging::before_cursor(
            customer::Column::ReferralCandidateAt,
            customer::Column::Id,
            after,
        )?);
    }
    let rows = query
        .order_by_desc(customer::Column::ReferralCandidateAt)
        .order_by_desc(customer::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let page = paging::page(rows, page.limit, |c| Cursor {
        key: c.referral_candidate_at.unwrap_or_default().to_rfc3339(),
        id: c.id,
    });
    let ids: Vec<Uuid> = page.items.iter().map(|c| c.id).collect();
    let codes: HashMap<Uuid, String> = loyalty_account::Entity::find()
        .select_only()
        .column(loyalty_account::Column::CustomerId)
        .column(loyalty_account::Column::ReferralCode)
        .filter(loyalty_account::Column::CustomerId.is_in(ids.clone()))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let referred: HashMap<Uuid, i64> = loyalty_account::Entity::find()
        .select_only()
        .column(loyalty_account::Column::ReferredBy)
        .column_as(loyalty_account::Column::CustomerId.count(), "n")
        .filter(loyalty_account::Column::ReferredBy.is_in(ids))
        .group_by(loyalty_account::Column::ReferredBy)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let masked = actor.masks_personal_data();
    let items = page
        .items
        .into_iter()
        .map(|c| ReferralCandidate {
            customer_id: c.id,
            name: if masked { mask::name(&c.name) } else { c.name },
            email: c.email.map(|e| if masked { mask::email(&e) } else { e }),
            nps_score: c.nps_score,
            candidate_since: c.referral_candidate_at.unwrap_or_default(),
            referral_code: codes.get(&c.id).cloned(),
            referred: referred.get(&c.id).copied().unwrap_or(0),
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        cursors: page.cursors,
    })
}
