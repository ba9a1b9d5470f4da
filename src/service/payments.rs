//! Failed payments: recorded for a customer as a shop or billing system
//! reports them, marked recovered when the money comes in. An outstanding
//! failure of the last 90 days is health's `payment_failed` risk.

use entity::{order, payment_failure};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use super::paging::newest_first;
use super::{Store, begin, customers, events, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::events::EventType;
use crate::contract::payments::{NewPaymentFailure, PaymentFailureView};
use crate::domain::pagination::PageRequest;
use crate::domain::{Checker, loyalty, parse};
use crate::error::{AppError, AppResult};

fn to_view(m: payment_failure::Model) -> PaymentFailureView {
    PaymentFailureView {
        id: m.id,
        customer_id: m.customer_id,
        order_id: m.order_id,
        amount_minor: m.amount_minor.map(crate::contract::MinorUnits),
        currency: m.currency,
        reason_code: m.reason_code,
        failed_at: m.failed_at,
        recovered_at: m.recovered_at,
        created_by: m.created_by,
        created_at: m.created_at,
    }
}

/// Records a failed payment of a customer and emits `payment.failed`.
///
/// # Errors
/// `Forbidden` (agents: customers they own), `NotFound` for the customer,
/// `Validation` naming each bad field (an order of another customer, an
/// amount without its currency, a time ahead of now).
pub async fn record(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    input: NewPaymentFailure,
) -> AppResult<PaymentFailureView> {
    policy::log_interaction(actor)?;
    let customer = customers::find_live(db, customer_id).await?;
    policy::write_customer(actor, customer.owner_id.as_deref())?;
    let at = now();
    let mut c = Checker::default();
    match (input.amount_minor.is_some(), input.currency.is_some()) {
        (true, false) => c.fail("currency", "an amount needs its currency"),
        (false, true) => c.fail("amount_minor", "a currency needs its amount"),
        _ => {}
    }
    let amount = c.opt("amount_minor", input.amount_minor.map(|a| a.0), parse::positive_amount);
    let currency = c.opt("currency", input.currency, parse::currency);
    let reason_code = c.opt("reason_code", input.reason_code, loyalty::reason_code);
    let failed_at = c.check("failed_at", parse::happened(input.failed_at.unwrap_or(at), at));
    if let Some(order_id) = input.order_id {
        let theirs = order::Entity::find_by_id(order_id)
            .filter(order::Column::CustomerId.eq(customer_id))
            .one(db)
            .await?
            .is_some();
        if !theirs {
            c.fail("order_id", "is not an order of this customer");
        }
    }
    c.finish()?;
    let txn = begin(db).await?;
    let m = payment_failure::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer_id),
        order_id: Set(input.order_id),
        amount_minor: Set(amount),
        currency: Set(currency),
        reason_code: Set(reason_code),
        failed_at: Set(failed_at.unwrap_or(at)),
        recovered_at: Set(None),
        created_by: Set(actor.sub.clone()),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    let data = json!({"order_id": m.order_id, "amount_minor": m.amount_minor, "currency": m.currency,
        "reason_code": m.reason_code, "failed_at": m.failed_at});
    events::emit(&txn, EventType::PaymentFailed, m.id, Some(customer_id), data, at).await?;
    txn.commit().await?;
    Ok(to_view(m))
}

/// Marks a failed payment recovered (the money came in) and emits
/// `payment.recovered`; a second call changes nothing.
///
/// # Errors
/// `Forbidden` (agents: customers they own), `NotFound`.
pub async fn recover(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<PaymentFailureView> {
    policy::log_interaction(actor)?;
    let m = payment_failure::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("payment failure"))?;
    let customer = customers::find_live(db, m.customer_id).await?;
    policy::write_customer(actor, customer.owner_id.as_deref())?;
    let at = now();
    let txn = begin(db).await?;
    // Conditional, so two calls at once emit one event.
    let marked = payment_failure::Entity::update_many()
        .col_expr(payment_failure::Column::RecoveredAt, Expr::value(at))
        .filter(payment_failure::Column::Id.eq(id))
        .filter(payment_failure::Column::RecoveredAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if marked > 0 {
        events::emit(
            &txn,
            EventType::PaymentRecovered,
            id,
            Some(m.customer_id),
            json!({"recovered_at": at}),
            at,
        )
        .await?;
    }
    let m = payment_failure::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("payment failure"))?;
    txn.commit().await?;
    Ok(to_view(m))
}

/// A customer's failed payments, newest first.
///
/// # Errors
/// `Forbidden` (agents: customers they own), `NotFound` for the customer,
/// `Validation` on bad paging.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<PaymentFailureView>> {
    policy::read_customers(actor)?;
    let customer = customers::find_live(db, customer_id).await?;
    policy::read_account_work(actor, customer.owner_id.as_deref())?;
    use payment_failure::Column as C;
    let q = payment_failure::Entity::find().filter(C::CustomerId.eq(customer_id));
    Ok(newest_first(db, q, (C::FailedAt, C::Id), page, |m| (m.failed_at, m.id))
        .await?
        .map(to_view))
}

/// A customer's failed payments for the privacy export, oldest first.
///
/// # Errors
/// Database failures.
pub async fn export(db: &impl Store, customer_id: Uuid) -> AppResult<Vec<PaymentFailureView>> {
    Ok(payment_failure::Entity::find()
        .filter(payment_failure::Column::CustomerId.eq(customer_id))
        .order_by_asc(payment_failure::Column::FailedAt)
        .all(db)
        .await?
        .into_iter()
        .map(to_view)
        .collect())
}
