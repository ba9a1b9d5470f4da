//! Listing customers: filters, sort orders and keyset pagination.

use crate::service::Store;
use chrono::{DateTime, Utc};
use entity::{customer, customer_tag, segment_member};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

use super::customers::to_view;
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::{CustomerFilter, CustomerSort, CustomerView};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::{AppError, AppResult};

/// Longest text search accepted, in characters.
/// Longest search text (`q`), in characters; the OpenAPI document states it.
pub const MAX_QUERY: usize = 200;

/// The column a sort order uses and its direction (ties broken by id, same direction).
fn sort_spec(sort: CustomerSort) -> (customer::Column, Order) {
    match sort {
        CustomerSort::CreatedAtDesc => (customer::Column::CreatedAt, Order::Desc),
        CustomerSort::CreatedAtAsc => (customer::Column::CreatedAt, Order::Asc),
        CustomerSort::UpdatedAtDesc => (customer::Column::UpdatedAt, Order::Desc),
        CustomerSort::UpdatedAtAsc => (customer::Column::UpdatedAt, Order::Asc),
        CustomerSort::NameAsc => (customer::Column::Name, Order::Asc),
        CustomerSort::NameDesc => (customer::Column::Name, Order::Desc),
    }
}

fn sort_key(m: &customer::Model, sort: CustomerSort) -> Cursor {
    let key = match sort_spec(sort).0 {
        customer::Column::CreatedAt => m.created_at.to_rfc3339(),
        customer::Column::UpdatedAt => m.updated_at.to_rfc3339(),
        _ => m.name.clone(),
    };
    Cursor { key, id: m.id }
}

/// Rows strictly after the cursor in the sort order.
fn keyset(sort: CustomerSort, after: &Cursor) -> AppResult<Condition> {
    let (col, order) = sort_spec(sort);
    let value: sea_orm::Value = if matches!(col, customer::Column::Name) {
        after.key.clone().into()
    } else {
        DateTime::parse_from_rfc3339(&after.key)
            .map_err(|_| AppError::field("cursor", "does not match the sort order"))?
            .with_timezone(&Utc)
            .into()
    };
    let id = customer::Column::Id;
    Ok(match order {
        Order::Desc => Condition::any()
            .add(col.lt(value.clone()))
            .add(Condition::all().add(col.eq(value)).add(id.lt(after.id))),
        _ => Condition::any()
            .add(col.gt(value.clone()))
            .add(Condition::all().add(col.eq(value)).add(id.gt(after.id))),
    })
}

/// Builds the WHERE condition of a customer filter (live customers only).
/// With `masked` (a role that sees names and e-mails masked), `q` searches
/// only the fields that role sees in clear, so a guess cannot be confirmed.
///
/// # Errors
/// `Validation` naming a bad filter value.
pub fn filter_condition(filter: &CustomerFilter, masked: bool) -> AppResult<Condition> {
    let mut cond = Condition::all().add(customer::Column::DeletedAt.is_null());
    if let Some(t) = filter.value_tier {
        cond = cond.add(customer::Column::ValueTier.eq(t.as_str()));
    }
    if let Some(s) = filter.lifecycle_stage {
        cond = cond.add(customer::Column::LifecycleStage.eq(s.as_str()));
    }
    if let Some(owner) = &filter.owner_id {
        cond = cond.add(customer::Column::OwnerId.eq(owner.as_str()));
    }
    if let Some(tag) = &filter.tag {
        // Correlated, so the page is read in the sort's index order and each
        // row probed for the tag; `id IN (all tagged)` made SQLite fetch and
        // sort every tagged customer for one page.
        let tagged = Query::select()
            .expr(Expr::val(1))
            .from(customer_tag::Entity)
            .and_where(
                Expr::col((customer_tag::Entity, customer_tag::Column::CustomerId))
                    .equals((customer::Entity, customer::Column::Id)),
            )
            .and_where(customer_tag::Column::Tag.eq(tag.trim().to_lowercase()))
            .to_owned();
        cond = cond.add(Expr::exists(tagged));
    }
    if let Some(q) = &filter.q {
        // Counted as sent, as the documented `maxLength` counts.
        if q.chars().count() > MAX_QUERY {
            return Err(AppError::field("q", format!("must be at most {MAX_QUERY} characters")));
        }
        let q = q.trim().to_lowercase();
        if !q.is_empty() {
            // Wildcards typed by the user are matched literally.
            let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = || LikeExpr::new(format!("%{escaped}%")).escape('\\');
            let lower = |col: customer::Column| Expr::expr(Func::lower(Expr::col(col)));
            let mut any = Condition::any().add(lower(customer::Column::Company).like(pattern()));
            if !masked {
                any = any
                    .add(lower(customer::Column::Name).like(pattern()))
                    .add(lower(customer::Column::Email).like(pattern()));
            }
            cond = cond.add(any);
        }
    }
    if let Some(segment_id) = filter.segment_id {
        let members = Query::select()
            .column(segment_member::Column::CustomerId)
            .from(segment_member::Entity)
            .and_where(segment_member::Column::SegmentId.eq(segment_id))
            .to_owned();
        cond = cond.add(customer::Column::Id.in_subquery(members));
    }
    if let Some(from) = filter.created_from {
        cond = cond.add(customer::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        cond = cond.add(customer::Column::CreatedAt.lt(to));
    }
    Ok(cond)
}

/// Lists customers matching a filter, in the chosen order, one page at a time.
///
/// # Errors
/// `Forbidden` for roles without read access; `Validation` on bad paging or filters.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    filter: &CustomerFilter,
    sort: Option<CustomerSort>,
    page: &PageRequest,
) -> AppResult<Page<CustomerView>> {
    policy::read_customers(actor)?;
    let sort = sort.unwrap_or(CustomerSort::CreatedAtDesc);
    let masked = actor.masks_personal_data();
    if masked && matches!(sort, CustomerSort::NameAsc | CustomerSort::NameDesc) {
        return Err(AppError::field(
            "sort",
            "sorting by name is not available to a role that sees names masked",
        ));
    }
    let mut cond = filter_condition(filter, masked)?;
    if let Some(after) = &page.after {
        cond = cond.add(keyset(sort, after)?);
    }
    let (col, order) = sort_spec(sort);
    let rows = customer::Entity::find()
        .filter(cond)
        .order_by(col, order.clone())
        .order_by(customer::Column::Id, order)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(super::paging::page(rows, page.limit, |m| sort_key(m, sort)).map(|m| to_view(m, actor)))
}
