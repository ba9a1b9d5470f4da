//! The customer 360 and the merged timeline.

use entity::order;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::paging::before_cursor;
use super::{contacts, customers, feedback, interactions, latest_per_customer, orders};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::CustomerOverview;
use crate::contract::interactions::Channel;
use crate::contract::interactions::Direction;
use crate::contract::orders::{OrderStatus, TimelineEntry};
use crate::domain::pagination::{Cursor, PageRequest, finish_page};
use crate::error::AppResult;

/// How many interactions the overview shows.
pub const RECENT_INTERACTIONS: u64 = 10;
/// How many open feedback items the overview shows.
pub const OPEN_FEEDBACK: u64 = 20;

/// Profile, contacts, recent interactions and order summary in one answer.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn overview(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<CustomerOverview> {
    policy::read_customers(actor)?;
    let customer = customers::find_live(db, id).await?;
    let contacts = contacts::list_for(db, &[id]).await?;
    let recent = latest_per_customer(
        db,
        entity::interaction::Entity,
        "occurred_at",
        &[id],
        RECENT_INTERACTIONS,
    )
    .await?;
    let summary = orders::summaries(db, &[id]).await?.into_iter().next().map(|(_, s)| s);
    let rfm = super::rfm::for_customers(db, &[id])
        .await?
        .into_iter()
        .next()
        .map(super::rfm::to_view);
    Ok(CustomerOverview {
        customer: customers::to_view(customer, actor),
        contacts: contacts.into_iter().map(|c| contacts::to_view(c, actor)).collect(),
        recent_interactions: recent.into_iter().map(|i| interactions::to_view(i, actor)).collect(),
        orders: summary.unwrap_or_else(|| crate::contract::orders::OrderSummary {
            order_count: 0,
            total_spend: Vec::new(),
            first_order_at: None,
            last_order_at: None,
        }),
        rfm,
        open_feedback: feedback::open_for(db, &[id], OPEN_FEEDBACK)
            .await?
            .into_iter()
            .map(|m| feedback::to_view(m, actor))
            .collect(),
    })
}

/// Orders, interactions and feedback events merged newest first. Each source is read one page
/// past the cursor, so the merge is exact whatever the mix.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn timeline(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<TimelineEntry>> {
    policy::read_customers(actor)?;
    customers::find_live(db, id).await?;
    let mut q = order::Entity::find().filter(order::Column::CustomerId.eq(id));
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(order::Column::OrderedAt, order::Column::Id, after)?);
    }
    let order_rows = q
        .order_by_desc(order::Column::OrderedAt)
        .order_by_desc(order::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let interaction_rows = interactions::page_for(db, id, page).await?;
    let feedback_rows = feedback::events_for_timeline(db, actor, id, page).await?;
    let mut entries: Vec<TimelineEntry> = order_rows
        .into_iter()
        .map(|o| TimelineEntry::Order {
            id: o.id,
            at: o.ordered_at,
            amount_minor: o.amount_minor,
            currency: o.currency,
            status: OrderStatus::from_db(&o.status),
        })
        .chain(interaction_rows.into_iter().map(|i| TimelineEntry::Interaction {
            id: i.id,
            at: i.occurred_at,
            channel: Channel::from_db(&i.channel),
            direction: Direction::from_db(&i.direction),
            summary: super::mask::text_for(actor, i.summary),
        }))
        .chain(feedback_rows.into_iter().map(|(e, subject)| TimelineEntry::Feedback {
            id: e.id,
            at: e.created_at,
            feedback_id: e.feedback_id,
            subject,
            event: e.kind,
            actor: e.actor,
            to_value: e.to_value,
            note: e.note,
        }))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse((e.at(), e.id())));
    let (items, next_cursor) = finish_page(entries, page.limit, |e| Cursor {
        key: e.at().to_rfc3339(),
        id: e.id(),
    });
    Ok(Page { items, next_cursor })
}
