//! Reading items and their history.

use super::*;

/// Reads an item.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<FeedbackView> {
    read_policy(actor)?;
    Ok(to_view(find(db, id).await?, actor))
}

/// Reads one of the signed-in customer's items.
///
/// # Errors
/// `Forbidden` for other roles; `NotFound` for another customer's item.
pub async fn get_mine(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<MyFeedbackView> {
    let own = policy::own_customer(actor)?;
    let item = find(db, id).await?;
    if item.customer_id != own {
        return Err(AppError::NotFound("feedback"));
    }
    Ok(to_view(item, actor).into())
}

fn filtered(filter: &FeedbackFilter) -> Condition {
    use feedback_item::Column as C;
    let mut cond = Condition::all();
    if let Some(v) = filter.status {
        cond = cond.add(C::Status.eq(v.as_str()));
    }
    if let Some(v) = filter.kind {
        cond = cond.add(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = filter.severity {
        cond = cond.add(C::Severity.eq(v.as_str()));
    }
    if let Some(v) = filter.channel {
        cond = cond.add(C::Channel.eq(v.as_str()));
    }
    if let Some(v) = &filter.assignee_id {
        cond = cond.add(C::AssigneeId.eq(v.as_str()));
    }
    if let Some(v) = filter.customer_id {
        cond = cond.add(C::CustomerId.eq(v));
    }
    if let Some(breached) = filter.breached {
        let any = Condition::any()
            .add(C::ResponseBreachedAt.is_not_null())
            .add(C::ResolutionBreachedAt.is_not_null());
        cond = cond.add(if breached { any } else { any.not() });
    }
    if let Some(v) = filter.created_from {
        cond = cond.add(C::CreatedAt.gte(v));
    }
    if let Some(v) = filter.created_to {
        cond = cond.add(C::CreatedAt.lt(v));
    }
    cond
}

async fn page_of(db: &impl Store, cond: Condition, page: &PageRequest) -> AppResult<Page<feedback_item::Model>> {
    let mut q = feedback_item::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            feedback_item::Column::CreatedAt,
            feedback_item::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(feedback_item::Column::CreatedAt)
        .order_by_desc(feedback_item::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(page_of_rows(rows, page.limit, |m| Cursor {
        key: m.created_at.to_rfc3339(),
        id: m.id,
    }))
}

/// Lists items, newest first.
///
/// # Errors
/// `Forbidden`; `Validation` on bad paging.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    filter: &FeedbackFilter,
    page: &PageRequest,
) -> AppResult<Page<FeedbackView>> {
    read_policy(actor)?;
    Ok(page_of(db, filtered(filter), page).await?.map(|m| to_view(m, actor)))
}

/// Lists the signed-in customer's items, newest first.
///
/// # Errors
/// `Forbidden` for other roles; `Validation` on bad paging.
pub async fn list_mine(db: &impl Store, actor: &Actor, page: &PageRequest) -> AppResult<Page<MyFeedbackView>> {
    let own = policy::own_customer(actor)?;
    let cond = Condition::all().add(feedback_item::Column::CustomerId.eq(own));
    Ok(page_of(db, cond, page).await?.map(|m| to_view(m, actor).into()))
}

/// Which part of an item's history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// Every event: states, assignments, severity, SLA marks, comments.
    All,
    /// Comments only.
    Comments,
}

/// An item's history (or only its comments), oldest first.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn events(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    which: History,
    page: &PageRequest,
) -> AppResult<Page<FeedbackEventView>> {
    read_policy(actor)?;
    find(db, id).await?;
    let mut q = feedback_event::Entity::find().filter(feedback_event::Column::FeedbackId.eq(id));
    if which == History::Comments {
        q = q.filter(feedback_event::Column::Kind.eq("comment"));
    }
    if let Some(after) = &page.after {
        q = q.filter(feedback_event::Column::Id.gt(after.id));
    }
    // Ids are time-ordered (UUID v7), so id order is history order.
    let rows = q
        .order_by_asc(feedback_event::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(page_of_rows(rows, page.limit, |e| Cursor {
        key: String::new(),
        id: e.id,
    })
    .map(|e| event_view(e, actor)))
}

/// The feedback events of a customer after a timeline cursor, newest first.
///
/// # Errors
/// Database failures; `Validation` on a bad cursor.
pub async fn events_for_timeline(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<(FeedbackEventView, String)>> {
    let mut q = feedback_event::Entity::find().filter(feedback_event::Column::CustomerId.eq(customer_id));
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            feedback_event::Column::CreatedAt,
            feedback_event::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(feedback_event::Column::CreatedAt)
        .order_by_desc(feedback_event::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|e| e.feedback_id).collect();
    let subjects: std::collections::HashMap<Uuid, String> = feedback_item::Entity::find()
        .filter(feedback_item::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, mask::text_for(actor, m.subject)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|e| {
            let subject = subjects.get(&e.feedback_id).cloned().unwrap_or_default();
            (event_view(e, actor), subject)
        })
        .collect())
}
