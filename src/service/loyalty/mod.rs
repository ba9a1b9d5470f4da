//! Loyalty points: the program, accounts and their ledger. Moves (earn,
//! redeem, adjust, cancel, and the orders' own earns and reversals) are in
//! `moves`, the primitives they share in `ledger`, the audit and statements
//! in `audit`, expiry in `expiry`.

pub mod audit;
pub mod expiry;
pub mod holds;
pub mod ledger;
pub mod moves;
pub mod referrals;
pub mod rewards;
pub mod tiers;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{customer, loyalty_account, loyalty_entry, loyalty_lot, loyalty_lot_move};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Store, begin, now};
use crate::auth::{Actor, Role, policy};
use crate::contract::Page;
use crate::contract::loyalty::{AccountView, EntryFilter, EntryKind, EntryView, LotMoveView, LoyaltyProgram};
use crate::domain::loyalty::Rules;
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

const SETTINGS: &str = "loyalty";

/// The longest a checkout's hold may last: a week.
pub const MAX_HOLD_MINUTES: u32 = 10_080;

/// How far ahead `expiring_soon` looks.
const EXPIRING_SOON_DAYS: i64 = 30;

/// Whose account: by our id, by the integration's external id, or the
/// caller's own (customer tokens).
#[derive(Clone, Debug)]
pub enum Holder {
    Id(Uuid),
    ExternalId(String),
    Me,
}

/// The live customer a holder names, once the caller may read their points.
///
/// # Errors
/// `Forbidden`; `NotFound` for a deleted or unknown customer.
pub async fn resolve(conn: &impl ConnectionTrait, actor: &Actor, holder: &Holder) -> AppResult<Uuid> {
    let id = match holder {
        Holder::Me => policy::own_customer(actor)?,
        Holder::Id(id) => *id,
        Holder::ExternalId(ext) => {
            // Whether the role may read loyalty at all is decided before the lookup.
            if actor.role == Role::Customer {
                return Err(AppError::Forbidden);
            }
            customer::Entity::find()
                .select_only()
                .column(customer::Column::Id)
                .filter(customer::Column::ExternalId.eq(ext.as_str()))
                .filter(customer::Column::DeletedAt.is_null())
                .into_tuple::<Uuid>()
                .one(conn)
                .await?
                .ok_or(AppError::NotFound("customer"))?
        }
    };
    policy::read_loyalty(actor, id)?;
    super::customers::find_live(conn, id).await?;
    Ok(id)
}

/// The program as saved (its default until an admin saves one).
///
/// # Errors
/// Database failures.
pub async fn program(conn: &impl ConnectionTrait) -> AppResult<LoyaltyProgram> {
    super::settings::load(conn, SETTINGS).await
}

/// The program's rules as the ledger applies them.
///
/// # Errors
/// Database failures.
pub async fn rules(conn: &impl ConnectionTrait) -> AppResult<Rules> {
    Ok(to_rules(&program(conn).await?))
}

fn to_rules(p: &LoyaltyProgram) -> Rules {
    Rules {
        enabled: p.enabled,
        rates: p
            .earn_rates
            .iter()
            .map(|r| (r.currency.clone(), r.points_per_unit))
            .collect(),
        rounding: p.rounding,
        min_redemption: p.min_redemption,
        expiry_months: p.expiry_months,
        expiry_at: p.expiry_at,
        time_zone: p.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC),
        pending_days: i64::from(p.pending_days),
        debt_limit: p.debt_limit,
        restore_grace_days: i64::from(p.restore_grace_days),
        hold_minutes: p.hold_minutes,
    }
}

/// Reads the program.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_program(db: &impl Store, actor: &Actor) -> AppResult<LoyaltyProgram> {
    policy::read_customers(actor)?;
    program(db).await
}

/// Replaces the program.
///
/// # Errors
/// `Forbidden` unless admin; `Validation` naming each bad field.
pub async fn put_program(db: &impl Store, actor: &Actor, mut input: LoyaltyProgram) -> AppResult<LoyaltyProgram> {
    policy::administer(actor)?;
    let mut c = Checker::default();
    let mut seen = Vec::new();
    for (i, rate) in input.earn_rates.iter_mut().enumerate() {
        if let Some(code) = c.check(
            &format!("earn_rates[{i}].currency"),
            parse::currency(rate.currency.clone()),
        ) {
            if seen.contains(&code) {
                c.fail(&format!("earn_rates[{i}].currency"), "appears twice");
            }
            rate.currency = code.clone();
            seen.push(code);
        }
        if !(rate.points_per_unit > 0.0 && rate.points_per_unit <= 1000.0) {
            c.fail(
                &format!("earn_rates[{i}].points_per_unit"),
                "must be more than 0 and at most 1000",
            );
        }
    }
    if input.earn_rates.len() > 50 {
        c.fail("earn_rates", "must have at most 50 currencies");
    }
    if !(1..=1_000_000_000).contains(&input.min_redemption) {
        c.fail("min_redemption", "must be between 1 and 1000000000");
    }
    if !(1..=120).contains(&input.expiry_months) {
        c.fail("expiry_months", "must be between 1 and 120");
    }
    if let Err(e) = parse::time_zone(&input.time_zone) {
        c.fail("time_zone", e);
    }
    if input.pending_days > 365 {
        c.fail("pending_days", "must be between 0 and 365");
    }
    if !(0..=1_000_000_000).contains(&input.debt_limit) {
        c.fail("debt_limit", "must be between 0 and 1000000000");
    }
    if !(1..=365).contains(&input.restore_grace_days) {
        c.fail("restore_grace_days", "must be between 1 and 365");
    }
    for (path, points) in [
        ("referrer_points", input.referrer_points),
        ("referee_points", input.referee_points),
    ] {
        if !(0..=1_000_000).contains(&points) {
            c.fail(path, "must be between 0 and 1000000");
        }
    }
    if input.expiring_notice_days > 365 {
        c.fail("expiring_notice_days", "must be between 0 and 365");
    }
    if input.referrals_per_year > 1000 {
        c.fail("referrals_per_year", "must be between 0 and 1000");
    }
    if !(1..=MAX_HOLD_MINUTES).contains(&input.hold_minutes) {
        c.fail("hold_minutes", "must be between 1 and 10080");
    }
    if !(1..=36).contains(&input.tier_review_months) {
        c.fail("tier_review_months", "must be between 1 and 36");
    }
    c.finish()?;
    super::settings::store(db, SETTINGS, &input).await?;
    Ok(input)
}

/// The account's figures now, from its row and its live lots.
///
/// # Errors
/// Database failures.
pub async fn account_view(
    conn: &impl ConnectionTrait,
    account: &loyalty_account::Model,
    at: DateTime<Utc>,
) -> AppResult<AccountView> {
    // (remaining, available_at, expires_at) of each live lot.
    type Lot = (i64, DateTime<Utc>, DateTime<Utc>);
    let lots: Vec<Lot> = loyalty_lot::Entity::find()
        .select_only()
        .column(loyalty_lot::Column::Remaining)
        .column(loyalty_lot::Column::AvailableAt)
        .column(loyalty_lot::Column::ExpiresAt)
        .filter(loyalty_lot::Column::CustomerId.eq(account.customer_id))
        .filter(loyalty_lot::Column::Remaining.gt(0))
        .filter(loyalty_lot::Column::ExpiresAt.gt(at))
        .into_tuple()
        .all(conn)
        .await?;
    let standing = tiers::standing(conn, account, at).await?;
    let soon = at + Duration::days(EXPIRING_SOON_DAYS);
    let sum = |keep: &dyn Fn(&Lot) -> bool| -> i64 { lots.iter().filter(|l| keep(l)).map(|l| l.0).sum() };
    Ok(AccountView {
        customer_id: account.customer_id,
        balance: account.points - account.debt,
        spendable: sum(&|l| l.1 <= at),
        pending: sum(&|l| l.1 > at),
        debt: account.debt,
        lifetime_earned: account.lifetime_earned,
        expiring_soon: sum(&|l| l.2 <= soon),
        referral_code: account.referral_code.clone(),
        qualifying_points: standing.qualifying,
        tier_id: standing.tier.as_ref().map(|t| t.id),
        tier_name: standing.tier.map(|t| t.name),
        points_to_next_tier: standing.next.as_ref().map(|n| n.1),
        next_tier_name: standing.next.map(|n| n.0),
        projected_tier_name: standing.projected,
        next_review_at: account.tier_review_at,
    })
}

/// The account, made on first read.
async fn ensure(db: &impl Store, customer_id: Uuid) -> AppResult<loyalty_account::Model> {
    if let Some(account) = loyalty_account::Entity::find_by_id(customer_id).one(db).await? {
        return Ok(account);
    }
    let txn = begin(db).await?;
    let account = ledger::lock(&txn, customer_id, now()).await?;
    txn.commit().await?;
    Ok(account)
}

/// Reads a customer's account.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get_account(db: &impl Store, actor: &Actor, holder: &Holder) -> AppResult<AccountView> {
    let id = resolve(db, actor, holder).await?;
    let account = ensure(db, id).await?;
    account_view(db, &account, now()).await
}

/// Shapes entries with the lots each moved.
///
/// # Errors
/// Database failures.
pub async fn entry_views(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    entries: Vec<loyalty_entry::Model>,
) -> AppResult<Vec<EntryView>> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
    let mut moves: HashMap<Uuid, Vec<LotMoveView>> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<(Uuid, Uuid, i64, DateTime<Utc>)> = loyalty_lot_move::Entity::find()
            .select_only()
            .column(loyalty_lot_move::Column::EntryId)
            .column(loyalty_lot_move::Column::LotId)
            .column(loyalty_lot_move::Column::Points)
            .column(loyalty_lot::Column::ExpiresAt)
            .inner_join(loyalty_lot::Entity)
            .filter(loyalty_lot_move::Column::EntryId.is_in(ids))
            .order_by_asc(loyalty_lot_move::Column::Id)
            .into_tuple()
            .all(conn)
            .await?;
        for (entry_id, lot_id, points, expires_at) in rows {
            moves.entry(entry_id).or_default().push(LotMoveView {
                lot_id,
                points,
                expires_at,
            });
        }
    }
    Ok(entries
        .into_iter()
        .map(|e| {
            let lots = moves.remove(&e.id).unwrap_or_default();
            to_entry_view(e, lots, actor)
        })
        .collect())
}

fn to_entry_view(e: loyalty_entry::Model, lots: Vec<LotMoveView>, actor: &Actor) -> EntryView {
    EntryView {
        id: e.id,
        customer_id: e.customer_id,
        seq: e.seq,
        kind: EntryKind::from_db(&e.kind),
        points: e.points,
        balance_after: e.balance_after,
        debt_change: e.debt_change,
        unrecovered: e.unrecovered,
        reason_code: e.reason_code,
        // Staff's free text: hidden from partners, masked for analysts.
        note: if actor.role == Role::Partner {
            None
        } else {
            e.note.map(|n| crate::service::mask::text_for(actor, n))
        },
        order_id: e.order_id,
        reward_id: e.reward_id,
        reverses_entry_id: e.reverses_entry_id,
        actor: e.actor,
        idempotency_key: e.idempotency_key,
        created_at: e.created_at,
        lots,
    }
}

/// The cursor after an entry in its account's order, newest first.
fn entry_cursor(e: &loyalty_entry::Model) -> Cursor {
    Cursor {
        key: e.seq.to_string(),
        id: e.id,
    }
}

/// Lists a customer's ledger, newest first.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn list_entries(
    db: &impl Store,
    actor: &Actor,
    holder: &Holder,
    filter: &EntryFilter,
    page: &PageRequest,
) -> AppResult<Page<EntryView>> {
    let id = resolve(db, actor, holder).await?;
    let mut query = loyalty_entry::Entity::find().filter(loyalty_entry::Column::CustomerId.eq(id));
    if let Some(kind) = filter.kind {
        query = query.filter(loyalty_entry::Column::Kind.eq(kind.as_str()));
    }
    if let Some(after) = &page.after {
        let seq: i64 = after
            .key
            .parse()
            .map_err(|_| AppError::field("cursor", "is not a valid cursor"))?;
        query = query.filter(loyalty_entry::Column::Seq.lt(seq));
    }
    let rows = query
        .order_by_desc(loyalty_entry::Column::Seq)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let page = super::paging::page(rows, page.limit, entry_cursor);
    let items = entry_views(db, actor, page.items).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        cursors: page.cursors,
    })
}

/// Reads one entry.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get_entry(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<EntryView> {
    let entry = loyalty_entry::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("loyalty entry"))?;
    resolve(db, actor, &Holder::Id(entry.customer_id))
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("loyalty entry"),
            other => other,
        })?;
    entry_views(db, actor, vec![entry])
        .await?
        .pop()
        .ok_or(AppError::NotFound("loyalty entry"))
}

/// A customer's account and whole ledger, oldest first, for the privacy
/// export.
///
/// # Errors
/// Database failures.
pub async fn export(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
) -> AppResult<(Option<AccountView>, Vec<EntryView>)> {
    let Some(account) = loyalty_account::Entity::find_by_id(customer_id).one(db).await? else {
        return Ok((None, Vec::new()));
    };
    let entries = loyalty_entry::Entity::find()
        .filter(loyalty_entry::Column::CustomerId.eq(customer_id))
        .order_by_asc(loyalty_entry::Column::Seq)
        .all(db)
        .await?;
    Ok((
        Some(account_view(db, &account, now()).await?),
        entry_views(db, actor, entries).await?,
    ))
}
