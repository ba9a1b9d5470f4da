//! Orders: purchases, idempotent by `external_id`, refundable.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::service::Store;
use chrono::{DateTime, Utc};
use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::paging::before_cursor;
use super::{begin, customers, events, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::customers::LifecycleStage;
use crate::contract::events::EventType;
use crate::contract::orders::{NewOrder, OrderListQuery, OrderStatus, OrderView, RefundInput};
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
        refunded_minor: MinorUnits(m.refunded_minor),
        points_paid_minor: MinorUnits(m.points_paid_minor),
        created_at: m.created_at,
    }
}

/// Whether `record` created a new order or found the one already recorded.
pub enum Recorded {
    Created(OrderView),
    Existing(OrderView),
}

/// The live customers a set of orders names, by id and by external id.
#[derive(Default)]
struct Named {
    by_id: HashMap<Uuid, customer::Model>,
    by_external_id: HashMap<String, customer::Model>,
}

impl Named {
    /// Reads every customer the inputs name in one query.
    async fn load(db: &impl Store, inputs: &[NewOrder]) -> AppResult<Self> {
        let ids: Vec<Uuid> = inputs.iter().filter_map(|i| i.customer_id).collect();
        let exts: Vec<&str> = inputs
            .iter()
            .filter_map(|i| i.customer_external_id.as_deref())
            .collect();
        let mut named = Self::default();
        if ids.is_empty() && exts.is_empty() {
            return Ok(named);
        }
        let found = customer::Entity::find()
            .filter(customer::Column::DeletedAt.is_null())
            .filter(
                Condition::any()
                    .add(customer::Column::Id.is_in(ids))
                    .add(customer::Column::ExternalId.is_in(exts)),
            )
            .all(db)
            .await?;
        for m in found {
            if let Some(ext) = &m.external_id {
                named.by_external_id.insert(ext.clone(), m.clone());
            }
            named.by_id.insert(m.id, m);
        }
        Ok(named)
    }

    fn resolve(&self, input: &NewOrder, c: &mut Checker) -> Option<customer::Model> {
        match (input.customer_id, &input.customer_external_id) {
            (Some(_), Some(_)) => {
                c.fail("customer_id", "give customer_id or customer_external_id, not both");
                None
            }
            (None, None) => {
                c.fail("customer_id", "is required (or give customer_external_id)");
                None
            }
            (Some(id), None) => {
                let found = self.by_id.get(&id).cloned();
                if found.is_none() {
                    c.fail("customer_id", "no such customer");
                }
                found
            }
            (None, Some(ext)) => {
                let found = self.by_external_id.get(ext).cloned();
                if found.is_none() {
                    c.fail("customer_external_id", "no such customer");
                }
                found
            }
        }
    }
}

/// One order checked as the API checks it: who may record it first, then
/// each field, every failure named.
fn check(actor: &Actor, input: NewOrder, named: &Named, at: DateTime<Utc>) -> AppResult<order::Model> {
    let mut c = Checker::default();
    let customer = named.resolve(&input, &mut c);
    if let Some(customer) = &customer {
        policy::write_customer(actor, customer.owner_id.as_deref())?;
    } else {
        policy::log_interaction(actor)?;
    }
    let amount = c.check("amount_minor", parse::positive_amount(input.amount_minor.0));
    let currency = c.check("currency", parse::currency(input.currency));
    let external_id = c.opt("external_id", input.external_id, parse::external_id);
    let ordered_at = c.check("ordered_at", parse::happened(input.ordered_at.unwrap_or(at), at));
    let points_paid = input.points_paid_minor.map_or(0, |p| p.0);
    if points_paid < 0 || amount.is_some_and(|a| points_paid > a) {
        c.fail("points_paid_minor", "must be between 0 and amount_minor");
    }
    c.finish()?;
    let ordered_at = ordered_at.unwrap_or(at);
    let (Some(customer), Some(amount), Some(currency)) = (customer, amount, currency) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked order fields missing")));
    };
    Ok(order::Model {
        id: new_id(),
        customer_id: customer.id,
        external_id,
        amount_minor: amount,
        currency,
        status: OrderStatus::Completed.as_str().into(),
        ordered_at,
        refunded_at: None,
        refunded_minor: 0,
        points_paid_minor: points_paid,
        created_at: at,
        updated_at: at,
    })
}

/// Records an order. The same `external_id` sent again returns the existing
/// order (even when two arrive at once) instead of counting it twice.
///
/// # Errors
/// `Forbidden` (agents only for customers they own), `Validation` naming each
/// bad field, `Conflict` when the `external_id` belongs to another customer's order.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn record(db: &impl Store, actor: &Actor, input: NewOrder) -> AppResult<Recorded> {
    record_many(db, actor, vec![input])
        .await?
        .pop()
        .unwrap_or_else(|| Err(AppError::Internal(anyhow::anyhow!("no result for the order"))))
}

/// Records orders, each as [`record`] would, in a handful of statements
/// whatever their number (an import's batch): one read of the customers
/// named, one of the orders already recorded, one insert, one recount of the
/// customers touched and one insert of events, in one transaction. Returns
/// one result per input, in order; an input that fails leaves the others
/// alone.
///
/// # Errors
/// `Forbidden` for roles that cannot read customers; database failures.
pub async fn record_many(db: &impl Store, actor: &Actor, inputs: Vec<NewOrder>) -> AppResult<Vec<AppResult<Recorded>>> {
    policy::read_customers(actor)?;
    let named = Named::load(db, &inputs).await?;
    let at = now();
    let mut results: Vec<Option<AppResult<Recorded>>> = Vec::with_capacity(inputs.len());
    let mut checked = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        match check(actor, input, &named, at) {
            Ok(m) => {
                checked.push((i, m));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let recorded = by_external_id(db, checked.iter().filter_map(|(_, m)| m.external_id.clone())).await?;
    let mut fresh = Vec::new();
    for (i, m) in checked {
        match m.external_id.as_ref().and_then(|ext| recorded.get(ext)) {
            Some(existing) => results[i] = Some(existing_for(existing.clone(), m.customer_id)),
            None => fresh.push((i, m)),
        }
    }
    if !fresh.is_empty() {
        let inserted = insert_fresh(db, fresh.iter().map(|(_, m)| m).cloned().collect(), at).await?;
        // An order another request recorded meanwhile under the same
        // external_id is that order, as if it had been found above.
        let lost = by_external_id(
            db,
            fresh
                .iter()
                .filter(|(_, m)| !inserted.contains(&m.id))
                .filter_map(|(_, m)| m.external_id.clone()),
        )
        .await?;
        for (i, m) in fresh {
            results[i] = Some(if inserted.contains(&m.id) {
                Ok(Recorded::Created(to_view(m)))
            } else {
                match m.external_id.as_ref().and_then(|ext| lost.get(ext)) {
                    Some(existing) => existing_for(existing.clone(), m.customer_id),
                    None => Err(AppError::conflict_on(
                        ORDER_EXTERNAL_ID.column,
                        ORDER_EXTERNAL_ID.detail,
                    )),
                }
            });
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(AppError::Internal(anyhow::anyhow!("no result for the order")))))
        .collect())
}

/// Inserts new orders (skipping any whose external_id was taken meanwhile),
/// recounts their customers and emits `order.completed` for each, in one
/// transaction. Returns the ids inserted.
async fn insert_fresh(db: &impl Store, orders: Vec<order::Model>, at: DateTime<Utc>) -> AppResult<HashSet<Uuid>> {
    let txn = db.open().await?;
    let customers: BTreeSet<Uuid> = orders.iter().map(|m| m.customer_id).collect();
    lock_customers(&txn, &customers).await?;
    let ids: Vec<Uuid> = orders.iter().map(|m| m.id).collect();
    let written = order::Entity::insert_many(orders.iter().map(|m| m.clone().into_active_model().reset_all()))
        .on_conflict(OnConflict::column(order::Column::ExternalId).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await;
    match written {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let inserted: HashSet<Uuid> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Id.is_in(ids))
        .into_tuple::<Uuid>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let kept: Vec<&order::Model> = orders.iter().filter(|m| inserted.contains(&m.id)).collect();
    recount(&txn, kept.iter().map(|m| m.customer_id).collect::<BTreeSet<_>>()).await?;
    // A churned customer who orders again is won back.
    let ordering: BTreeSet<Uuid> = kept
        .iter()
        .filter(|m| m.status == OrderStatus::Completed.as_str())
        .map(|m| m.customer_id)
        .collect();
    super::customers::move_stage(
        &txn,
        ordering.into_iter().collect(),
        LifecycleStage::Churned,
        LifecycleStage::WonBack,
        at,
    )
    .await?;
    super::loyalty::moves::on_orders(&txn, &kept, at).await?;
    events::emit_many(
        &txn,
        kept.iter()
            .map(|m| (EventType::OrderCompleted, m.id, Some(m.customer_id), order_data(m), at)),
    )
    .await?;
    txn.commit().await?;
    Ok(inserted)
}

/// The orders recorded under these external ids.
async fn by_external_id(
    db: &impl Store,
    external_ids: impl Iterator<Item = String>,
) -> AppResult<HashMap<String, order::Model>> {
    let wanted: Vec<String> = external_ids.collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(order::Entity::find()
        .filter(order::Column::ExternalId.is_in(wanted))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.external_id.clone()?, m)))
        .collect())
}

/// What an order event carries beyond the ids.
fn order_data(m: &order::Model) -> serde_json::Value {
    serde_json::json!({
        "external_id": m.external_id,
        "amount_minor": m.amount_minor,
        "currency": m.currency,
        "status": m.status,
        "refunded_minor": m.refunded_minor,
        "ordered_at": m.ordered_at,
    })
}

/// Holds the customers' rows until the transaction ends (PostgreSQL), so
/// that concurrent order writes for one customer recount one after another
/// and each sees the others' orders; taken in id order, so two writers never
/// wait on each other in a cycle. SQLite takes its one write lock.
async fn lock_customers(txn: &DatabaseTransaction, ids: &BTreeSet<Uuid>) -> Result<(), sea_orm::DbErr> {
    super::write_lock(txn).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(customer::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(txn)
            .await?;
    }
    Ok(())
}

/// Recounts customers' order statistics from their completed orders.
async fn recount(txn: &DatabaseTransaction, ids: BTreeSet<Uuid>) -> Result<(), sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    // The status test sits inside the aggregates, not in the WHERE clause:
    // with `status = 'completed'` there, SQLite (without table statistics)
    // reads the subquery through the status index, every completed order of
    // every customer, and an import slowed as the table grew.
    let spend = super::sum_minor(
        txn.get_database_backend(),
        "CASE WHEN o.status = 'completed' THEN o.amount_minor - o.refunded_minor END",
    );
    let completed = |agg: &str| {
        Expr::cust(format!(
            "(SELECT {agg} FROM customer_order o WHERE o.customer_id = customer.id)"
        ))
    };
    customer::Entity::update_many()
        .col_expr(
            customer::Column::OrderCount,
            completed("COUNT(CASE WHEN o.status = 'completed' THEN 1 END)"),
        )
        .col_expr(customer::Column::TotalSpend, completed(&spend))
        .col_expr(
            customer::Column::LastOrderAt,
            completed("MAX(CASE WHEN o.status = 'completed' THEN o.ordered_at END)"),
        )
        .filter(customer::Column::Id.is_in(ids))
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

/// Refunds an order in full or in part. Refunds add up; once all of the
/// amount is refunded the order is `refunded` and stops counting. Spend
/// counts what was not refunded; loyalty takes back the refunded share of
/// the order's points.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation` for an
/// amount over what is left; `Conflict` when already refunded in full.
#[tracing::instrument(skip_all, fields(order_id = %id, actor = %actor.sub))]
pub async fn refund(db: &impl Store, actor: &Actor, id: Uuid, input: RefundInput) -> AppResult<OrderView> {
    policy::manage_customers(actor)?;
    let (m, _) = find_visible(db, id).await?;
    if m.status == OrderStatus::Refunded.as_str() {
        return Err(already_refunded());
    }
    let left = m.amount_minor - m.refunded_minor;
    let amount = input.amount_minor.map_or(left, |a| a.0);
    if !(1..=left).contains(&amount) {
        return Err(AppError::field(
            "amount_minor",
            format!("must be between 1 and what is left to refund ({left})"),
        ));
    }
    let at = now();
    let txn = begin(db).await?;
    lock_customers(&txn, &BTreeSet::from([m.customer_id])).await?;
    // Conditional update: of two concurrent refunds that together exceed
    // the amount, one changes the row and the other finds it changed.
    let full = m.refunded_minor + amount == m.amount_minor;
    let status = if full {
        OrderStatus::Refunded
    } else {
        OrderStatus::Completed
    };
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status.as_str()))
        .col_expr(order::Column::RefundedMinor, Expr::value(m.refunded_minor + amount))
        .col_expr(order::Column::RefundedAt, Expr::value(Some(at)))
        .col_expr(order::Column::UpdatedAt, Expr::value(at))
        .filter(order::Column::Id.eq(m.id))
        .filter(order::Column::Status.eq(OrderStatus::Completed.as_str()))
        .filter(order::Column::RefundedMinor.eq(m.refunded_minor))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict {
            detail: "the order was refunded meanwhile; read it and try again".into(),
            field: None,
        });
    }
    let refreshed = changed(&txn, m.id, m.customer_id).await?;
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

fn already_refunded() -> AppError {
    AppError::Conflict {
        detail: "the order is already refunded".into(),
        field: None,
    }
}

/// After an order's state changed: recounts its customer, lets loyalty
/// follow, and reads it back.
async fn changed(txn: &DatabaseTransaction, id: Uuid, customer_id: Uuid) -> AppResult<order::Model> {
    recount(txn, BTreeSet::from([customer_id])).await?;
    let refreshed = order::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("order"))?;
    super::loyalty::moves::on_orders(txn, &[&refreshed], now()).await?;
    Ok(refreshed)
}

/// Completes a refunded order again (the refund was a mistake, or the goods
/// were sent after all): it counts again and earns its points again.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` unless the
/// order is refunded in full.
#[tracing::instrument(skip_all, fields(order_id = %id, actor = %actor.sub))]
pub async fn reinstate(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<OrderView> {
    policy::manage_customers(actor)?;
    let (m, _) = find_visible(db, id).await?;
    let at = now();
    let txn = begin(db).await?;
    lock_customers(&txn, &BTreeSet::from([m.customer_id])).await?;
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Completed.as_str()))
        .col_expr(order::Column::RefundedMinor, Expr::value(0_i64))
        .col_expr(order::Column::RefundedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(order::Column::UpdatedAt, Expr::value(at))
        .filter(order::Column::Id.eq(m.id))
        .filter(order::Column::Status.eq(OrderStatus::Refunded.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict {
            detail: "only an order refunded in full can be reinstated".into(),
            field: None,
        });
    }
    let refreshed = changed(&txn, m.id, m.customer_id).await?;
    events::emit(
        &txn,
        EventType::OrderCompleted,
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
