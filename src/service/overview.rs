//! The customer 360 and the merged timeline.

use crate::service::Store;
use entity::order;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::paging::before_cursor;
use super::parts::{Part, PartValue};
use super::{contacts, customers, feedback, interactions};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::CustomerOverview;
use crate::contract::interactions::Channel;
use crate::contract::interactions::Direction;
use crate::contract::orders::{OrderStatus, OrderSummary, TimelineEntry};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::AppResult;

/// How many interactions the overview shows.
pub const RECENT_INTERACTIONS: u64 = 10;
/// How many open feedback items the overview shows.
pub const OPEN_FEEDBACK: u64 = 20;

/// The parts the REST overview shows.
pub const OVERVIEW: [Part; 6] = [
    Part::Contacts,
    Part::RecentInteractions(RECENT_INTERACTIONS),
    Part::OrderSummary,
    Part::Rfm,
    Part::OpenFeedback(OPEN_FEEDBACK),
    Part::Loyalty,
];

/// Profile, contacts, recent interactions, order summary, RFM, open
/// feedback and loyalty in one answer, read in one statement (see [`super::parts`]).
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn overview(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<CustomerOverview> {
    policy::read_customers(actor)?;
    let (customer, mut parts) = super::parts::customer_with(db, id, &OVERVIEW).await?;
    let mut view = CustomerOverview {
        customer: customers::to_view(customer, actor),
        contacts: Vec::new(),
        recent_interactions: Vec::new(),
        orders: OrderSummary::default(),
        rfm: None,
        open_feedback: Vec::new(),
        loyalty: None,
    };
    for part in OVERVIEW {
        match parts.take(part) {
            Some(PartValue::Contacts(rows)) => {
                view.contacts = rows.into_iter().map(|c| contacts::to_view(c, actor)).collect();
            }
            Some(PartValue::Interactions(rows)) => {
                view.recent_interactions = rows.into_iter().map(|i| interactions::to_view(i, actor)).collect();
            }
            Some(PartValue::OrderSummary(summary)) => view.orders = summary,
            Some(PartValue::Rfm(rfm)) => view.rfm = rfm.map(|r| super::rfm::to_view(*r)),
            Some(PartValue::Feedback(rows)) => {
                view.open_feedback = rows.into_iter().map(|m| feedback::to_view(m, actor)).collect();
            }
            Some(PartValue::Loyalty(glance)) => view.loyalty = glance,
            Some(PartValue::Orders(_)) | None => {}
        }
    }
    Ok(view)
}

/// Orders, interactions and feedback events merged newest first. Each source is read one page
/// past the cursor, so the merge is exact whatever the mix.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn timeline(db: &impl Store, actor: &Actor, id: Uuid, page: &PageRequest) -> AppResult<Page<TimelineEntry>> {
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
    let response_rows = super::surveys::responses_for_timeline(db, id, page).await?;
    let loyalty_rows = super::loyalty::entries_for_timeline(db, id, page).await?;
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
        .chain(response_rows.into_iter().map(|r| TimelineEntry::SurveyResponse {
            id: r.id,
            at: r.started_at,
            survey_id: r.survey_id,
            status: r.status,
            score: r.score,
        }))
        .chain(loyalty_rows.into_iter().map(|e| TimelineEntry::Loyalty {
            id: e.id,
            at: e.created_at,
            kind: crate::contract::loyalty::EntryKind::from_db(&e.kind),
            points: e.points,
            balance_after: e.balance_after,
        }))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse((e.at(), e.id())));
    Ok(super::paging::page(entries, page.limit, |e| Cursor {
        key: e.at().to_rfc3339(),
        id: e.id(),
    }))
}
