//! The customer 360 and the merged timeline.

use crate::service::Store;
use entity::{health_alert, loyalty_entry, need_event, order, task};
use sea_orm::{ColumnTrait, EntityTrait, IdenStatic, Iterable, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::paging::before_cursor;
use super::parts::{Part, PartValue};
use super::{contacts, customers, feedback, interactions};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::CustomerOverview;
use crate::contract::health::AlertRule;
use crate::contract::interactions::Channel;
use crate::contract::interactions::Direction;
use crate::contract::orders::{OrderStatus, OrderSummary, TimelineEntry};
use crate::contract::tasks::{TaskKind, TaskStatus};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::{AppError, AppResult};

/// How many interactions the overview shows.
pub const RECENT_INTERACTIONS: u64 = 10;
/// How many open feedback items the overview shows.
pub const OPEN_FEEDBACK: u64 = 20;
/// How many open alerts and open tasks the overview shows.
pub const OPEN_WORK: u64 = 20;

/// The parts the REST overview shows.
pub const OVERVIEW: [Part; 9] = [
    Part::Contacts,
    Part::RecentInteractions(RECENT_INTERACTIONS),
    Part::OrderSummary,
    Part::Rfm,
    Part::OpenFeedback(OPEN_FEEDBACK),
    Part::Loyalty,
    Part::OpenAlerts(OPEN_WORK),
    Part::OpenTasks(OPEN_WORK),
    Part::OpenNeeds,
];

/// Profile, contacts, recent interactions, order summary, RFM, open
/// feedback, loyalty, open alerts and open tasks in one answer, read in one statement (see [`super::parts`]).
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
        open_alerts: Vec::new(),
        open_tasks: Vec::new(),
        open_needs: Vec::new(),
    };
    let owns = policy::read_account_work(actor, view.customer.owner_id.as_deref()).is_ok();
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
            Some(PartValue::Alerts(rows)) => {
                view.open_alerts = rows.into_iter().map(super::health::alert_view).collect()
            }
            Some(PartValue::Tasks(rows)) => {
                view.open_tasks = rows
                    .into_iter()
                    .filter(|t| policy::may_see_assigned(actor, t.assignee_id.as_deref()))
                    .map(super::tasks::to_view)
                    .collect();
            }
            Some(PartValue::Needs(counts)) if owns => view.open_needs = counts,
            Some(PartValue::Orders(_) | PartValue::Needs(_)) | None => {}
        }
    }
    Ok(view)
}

/// A customer's rows of `E` newest first by `at` (then id), one past the
/// page after its cursor: one source of the timeline.
async fn newest_for<E>(
    db: &impl Store,
    at: E::Column,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
{
    let column = |name: &str| {
        E::Column::iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("{name} missing from a timeline source")))
    };
    let (customer, id) = (column("customer_id")?, column("id")?);
    let mut q = E::find().filter(customer.eq(customer_id));
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(at, id, after)?);
    }
    Ok(q.order_by_desc(at)
        .order_by_desc(id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}

/// Orders, interactions, feedback events, survey responses, loyalty
/// entries, alerts and tasks merged newest first. Each source is read one page
/// past the cursor, so the merge is exact whatever the mix.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn timeline(db: &impl Store, actor: &Actor, id: Uuid, page: &PageRequest) -> AppResult<Page<TimelineEntry>> {
    policy::read_customers(actor)?;
    let customer = customers::find_live(db, id).await?;
    let need_rows = if policy::read_account_work(actor, customer.owner_id.as_deref()).is_ok() {
        newest_for::<need_event::Entity>(db, need_event::Column::At, id, page).await?
    } else {
        Vec::new()
    };
    let order_rows = newest_for::<order::Entity>(db, order::Column::OrderedAt, id, page).await?;
    let interaction_rows = interactions::page_for(db, id, page).await?;
    let feedback_rows = feedback::events_for_timeline(db, actor, id, page).await?;
    let response_rows = super::surveys::responses_for_timeline(db, id, page).await?;
    let loyalty_rows = newest_for::<loyalty_entry::Entity>(db, loyalty_entry::Column::CreatedAt, id, page).await?;
    let alert_rows = newest_for::<health_alert::Entity>(db, health_alert::Column::FiredAt, id, page).await?;
    let task_rows = newest_for::<task::Entity>(db, task::Column::CreatedAt, id, page).await?;
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
        .chain(alert_rows.into_iter().map(|a| TimelineEntry::HealthAlert {
            id: a.id,
            at: a.fired_at,
            rule: AlertRule::from_db(&a.rule),
            cleared_at: a.cleared_at,
            task_id: a.task_id,
        }))
        .chain(need_rows.into_iter().map(|e| TimelineEntry::Need {
            id: e.id,
            at: e.at,
            need_id: e.need_id,
            event: e.event,
            actor: e.actor,
            from_value: e.from_value,
            to_value: e.to_value,
        }))
        .chain(
            task_rows
                .into_iter()
                .filter(|t| policy::may_see_assigned(actor, t.assignee_id.as_deref()))
                .map(|t| TimelineEntry::Task {
                    id: t.id,
                    at: t.created_at,
                    kind: TaskKind::from_db(&t.kind),
                    title: super::mask::text_for(actor, t.title),
                    status: TaskStatus::from_db(&t.status),
                    assignee_id: t.assignee_id,
                    due_at: t.due_at,
                }),
        )
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse((e.at(), e.id())));
    Ok(super::paging::page(entries, page.limit, |e| Cursor {
        key: e.at().to_rfc3339(),
        id: e.id(),
    }))
}
