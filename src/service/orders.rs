//! Orders: purchases, idempotent by `external_id`, refundable.

use crate::service::Store;
use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::paging::before_cursor;
use super::{begin, customers, events, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::events::EventType;
use crate::contract::orders::{NewOrder, OrderListQuery, OrderStatus, OrderView};
use crate::contract::{MinorUnits, Page};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult, ORDER_EXTERNAL_ID};

/// Shapes a stored order.
pub fn to_view(m: order::Model) -> OrderView {
    OrderView {
        id: m.id,
        customer_id: m.customer_id,
        external_id: m.external_id,
        amount_minor: MinorUnits(m.amount_minor),
        currency: m.currency,
        status: OrderStatus::from_db(&m.status),
        ordered_at: m.ordered_at,
        refunded_at: m.refunded_at,
        created_at: m.created_at,
    }
}

/// Whether `record` created a new order or found the one already recorded.
pub enum Recorded {
    Created(OrderView),
    Existing(OrderView),
}

async fn resolve_customer(db: &impl Store, input: &NewOrder, c: &mut Checker) -> AppResult<Option<customer::Model>> {
    match (input.customer_id, &input.customer_external_id) {
        (Some(_), Some(_)) => {
            c.fail("customer_id", "give customer_id or customer_external_id, not both");
            Ok(None)
        }
        (None, None) => {
            c.fail("customer_id", "is required (or give customer_external_id)");
            Ok(None)
        }
        (Some(id), None) => match customers::find_live(db, id).await {
            Ok(m) => Ok(Some(m)),
            Err(AppError::NotFound(_)) => {
                c.fail("customer_id", "no such customer");
                Ok(None)
            }
            Err(e) => Err(e),
        },
        (None, Some(ext)) => {
            let found = customer::Entity::find()
                .filter(customer::Column::ExternalId.eq(ext.as_str()))
                .filter(customer::Column::DeletedAt.is_null())
                .one(db)
                .await?;
            if found.is_none() {
                c.fail("customer_external_id", "no such customer");
            }
            Ok(found)
        }
    }
}

async fn find_by_external_id(db: &impl Store, external_id: &str) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

/// Records an order. The same `external_id` sent again returns the existing
/// order (even when two arrive at once) instead of counting it twice.
///
/// # Errors
/// `Forbidden` (agents only for customers they own), `Validation` naming each
/// bad field, `Conflict` when the `external_id` belongs to another customer's order.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn record(db: &impl Store, actor: &Actor, input: NewOrder) -> AppResult<Recorded> {
    policy::read_customers(actor)?;
    let mut c = Checker::default();
    let customer = resolve_customer(db, &input, &mut c).await?;
    if let Some(customer) = &customer {
        policy::write_customer(actor, customer.owner_id.as_deref())?;
    } else {
        policy::log_interaction(actor)?;
    }
    let amount = c.check("amount_minor", parse::positive_amount(input.amount_minor.0));
    let currency = c.check("currency", parse::currency(input.currency));
    let external_id = c.opt("external_id", input.external_id, parse::external_id);
    let at = now();
    let ordered_at = input.ordered_at.unwrap_or(at);
    if ordered_at > at + chrono::Duration::minutes(5) {
        c.fail("ordered_at", "must not be in the future");
    }
    c.finish()?;
    let (Some(customer), Some(amount), Some(currency)) = (customer, amount, currency) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked order fields missing")));
    };
    if let Some(ext) = &external_id
        && let Some(existing) = find_by_external_id(db, ext).await?
    {
        return existing_for(existing, customer.id);
    }
    let am = order::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer.id),
        external_id: Set(external_id.clone()),
        amount_minor: Set(amount),
        currency: Set(currency),
        status: Set(OrderStatus::Completed.as_str().into()),
        ordered_at: Set(ordered_at),
        refunded_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let inserted = async {
        let txn = db.open().await?;
        lock_customer(&txn, customer.id).await?;
        let m = am.insert(&txn).await?;
        recount(&txn, customer.id).await?;
        events::emit(
            &txn,
            EventType::OrderCompleted,
            m.id,
            Some(m.customer_id),
            order_data(&m),
            at,
        )
        .await?;
        txn.commit().await?;
        Ok::<_, AppError>(m)
    }
    .await;
    match inserted {
        Ok(m) => Ok(Recorded::Created(to_view(m))),
        // A unique violation converts to a conflict naming the key.
        Err(AppError::Conflict { detail, .. }) if detail == ORDER_EXTERNAL_ID.detail => {
            // A concurrent request with the same external_id won the race.
            let ext = external_id.unwrap_or_default();
            match find_by_external_id(db, &ext).await? {
                Some(existing) => existing_for(existing, customer.id),
                None => Err(AppError::conflict_on(
                    ORDER_EXTERNAL_ID.column,
                    ORDER_EXTERNAL_ID.detail,
                )),
            }
        }
        Err(err) => Err(err),
    }
}

/// What an order event carries beyond the ids.
fn order_data(m: &order::Model) -> serde_json::Value {
    serde_json::json!({
        "external_id": m.external_id,
        "amount_minor": m.amount_minor,
        "currency": m.currency,
        "status": m.status,
        "ordered_at": m.ordered_at,
    })
}

/// Holds the customer's row until the transaction ends (PostgreSQL), so
/// that concurrent order writes for one customer recount one after another
/// and each sees the others' orders. SQLite takes its one write lock.
async fn lock_customer(txn: &DatabaseTransaction, customer_id: Uuid) -> Result<(), sea_orm::DbErr> {
    super::write_lock(txn).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM customer WHERE id = $1 FOR UPDATE",
            [customer_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Recounts one customer's order statistics from its completed orders.
async fn recount(txn: &DatabaseTransaction, customer_id: Uuid) -> Result<(), sea_orm::DbErr> {
    let spend = super::sum_minor(txn.get_database_backend(), "o.amount_minor");
    let completed = |agg: &str| {
        Expr::cust(format!(
            "(SELECT {agg} FROM customer_order o WHERE o.customer_id = customer.id AND o.status = 'completed')"
        ))
    };
    customer::Entity::update_many()
        .col_expr(customer::Column::OrderCount, completed("COUNT(*)"))
        .col_expr(customer::Column::TotalSpend, completed(&spend))
        .col_expr(customer::Column::LastOrderAt, completed("MAX(o.ordered_at)"))
        .filter(customer::Column::Id.eq(customer_id))
        .exec(txn)
        .await?;
    Ok(())
}

fn existing_for(existing: order::Model, customer_id: Uuid) -> AppResult<Recorded> {
    if existing.customer_id == customer_id {
        Ok(Recorded::Existing(to_view(existing)))
    } else {
        Err(AppError::conflict_on(
            "external_id",
            "an order with this external_id belongs to another customer",
        ))
    }
}

async fn find_visible(db: &impl Store, id: Uuid) -> AppResult<(order::Model, customer::Model)> {
    let m = order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let customer = customers::find_live(db, m.customer_id)
        .await
        .map_err(|_| AppError::NotFound("order"))?;
    Ok((m, customer))
}

/// Reads one order.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<OrderView> {
    policy::read_customers(actor)?;
    Ok(to_view(find_visible(db, id).await?.0))
}

/// Marks an order refunded; it stops counting towards spend.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` when already refunded.
#[tracing::instrument(skip_all, fields(order_id = %id, actor = %actor.sub))]
pub async fn refund(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<OrderView> {
    policy::manage_customers(actor)?;
    let (m, _) = find_visible(db, id).await?;
    let at = now();
    let txn = begin(db).await?;
    lock_customer(&txn, m.customer_id).await?;
    // Conditional update: of two concurrent refunds exactly one changes the row.
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Refunded.as_str()))
        .col_expr(order::Column::RefundedAt, Expr::value(Some(at)))
        .col_expr(order::Column::UpdatedAt, Expr::value(at))
        .filter(order::Column::Id.eq(m.id))
        .filter(order::Column::Status.eq(OrderStatus::Completed.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict {
            detail: "the order is already refunded".into(),
            field: None,
        });
    }
    recount(&txn, m.customer_id).await?;
    let refreshed = order::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    events::emit(
        &txn,
        EventType::OrderRefunded,
        m.id,
        Some(m.customer_id),
        order_data(&refreshed),
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(to_view(refreshed))
}

/// Lists orders, newest first, with filters.
///
/// # Errors
/// `Forbidden`, `Validation` on bad paging.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    q: &OrderListQuery,
    page: &PageRequest,
) -> AppResult<Page<OrderView>> {
    policy::read_customers(actor)?;
    let mut query = order::Entity::find().filter(
        order::Column::CustomerId.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(customer::Column::Id)
                .from(customer::Entity)
                .and_where(Expr::col((customer::Entity, customer::Column::DeletedAt)).is_null())
                .to_owned(),
        ),
    );
    if let Some(id) = q.customer_id {
        query = query.filter(order::Column::CustomerId.eq(id));
    }
    if let Some(s) = q.status {
        query = query.filter(order::Column::Status.eq(s.as_str()));
    }
    if let Some(from) = q.ordered_from {
        query = query.filter(order::Column::OrderedAt.gte(from));
    }
    if let Some(to) = q.ordered_to {
        query = query.filter(order::Column::OrderedAt.lt(to));
    }
    if let Some(after) = &page.after {
        query = query.filter(before_cursor(order::Column::OrderedAt, order::Column::Id, after)?);
    }
    let rows = query
        .order_by_desc(order::Column::OrderedAt)
        .order_by_desc(order::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(super::paging::page(rows, page.limit, order_cursor).map(to_view))
}

/// The cursor after an order in (ordered_at desc, id desc) order.
pub fn order_cursor(m: &order::Model) -> Cursor {
    Cursor {
        key: m.ordered_at.to_rfc3339(),
        id: m.id,
    }
}
