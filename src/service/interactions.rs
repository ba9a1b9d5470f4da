//! Interactions: touchpoints with a customer. Logging one moves the
//! customer's `last_contacted_at` forward.

use crate::service::Store;
use entity::{contact, customer, interaction};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{begin, customers, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::interactions::Channel;
use crate::contract::interactions::{Direction, InteractionView, NewInteraction, Sentiment};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::AppResult;

/// Shapes a stored interaction.
pub fn to_view(m: interaction::Model, actor: &Actor) -> InteractionView {
    InteractionView {
        id: m.id,
        customer_id: m.customer_id,
        contact_id: m.contact_id,
        channel: Channel::from_db(&m.channel),
        direction: Direction::from_db(&m.direction),
        summary: super::mask::text_for(actor, m.summary),
        occurred_at: m.occurred_at,
        staff_id: m.staff_id,
        sentiment: m.sentiment.as_deref().map(Sentiment::from_db),
        created_at: m.created_at,
    }
}

/// Logs an interaction and, in the same transaction, advances the customer's
/// `last_contacted_at` (never backwards: a back-dated entry leaves a newer one alone).
///
/// # Errors
/// `Forbidden`, `NotFound` (customer), `Validation` naming each bad field
/// (including a contact of another customer, or a time in the future).
#[tracing::instrument(skip_all, fields(customer_id = %customer_id, actor = %actor.sub))]
pub async fn create(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    input: NewInteraction,
) -> AppResult<InteractionView> {
    policy::log_interaction(actor)?;
    customers::find_live(db, customer_id).await?;
    let at = now();
    let mut c = Checker::default();
    let summary = c.check("summary", parse::text(input.summary, parse::MAX_TEXT));
    let occurred_at = c.check("occurred_at", parse::happened(input.occurred_at.unwrap_or(at), at));
    let staff_id = c
        .opt("staff_id", input.staff_id, parse::staff_id)
        .unwrap_or_else(|| actor.sub.clone());
    if let Some(contact_id) = input.contact_id {
        let belongs = contact::Entity::find_by_id(contact_id)
            .filter(contact::Column::CustomerId.eq(customer_id))
            .one(db)
            .await?
            .is_some();
        if !belongs {
            c.fail("contact_id", "is not a contact of this customer");
        }
    }
    c.finish()?;
    let occurred_at = occurred_at.unwrap_or(at);
    let am = interaction::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer_id),
        contact_id: Set(input.contact_id),
        channel: Set(input.channel.as_str().into()),
        direction: Set(input.direction.as_str().into()),
        summary: Set(summary.unwrap_or_default()),
        occurred_at: Set(occurred_at),
        staff_id: Set(Some(staff_id)),
        sentiment: Set(input.sentiment.map(|s| s.as_str().to_owned())),
        created_at: Set(at),
    };
    let txn = begin(db).await?;
    let model = am.insert(&txn).await?;
    customer::Entity::update_many()
        .col_expr(customer::Column::LastContactedAt, Expr::value(occurred_at))
        .filter(customer::Column::Id.eq(customer_id))
        .filter(
            Condition::any()
                .add(customer::Column::LastContactedAt.is_null())
                .add(customer::Column::LastContactedAt.lt(occurred_at)),
        )
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(to_view(model, actor))
}

/// A customer's interactions, newest first.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<InteractionView>> {
    policy::read_customers(actor)?;
    customers::find_live(db, customer_id).await?;
    let rows = page_for(db, customer_id, page).await?;
    Ok(super::paging::page(rows, page.limit, |m| Cursor {
        key: m.occurred_at.to_rfc3339(),
        id: m.id,
    })
    .map(|m| to_view(m, actor)))
}

/// One page (plus one row) of a customer's interactions after a cursor.
///
/// # Errors
/// Database failures; `Validation` on a bad cursor.
pub async fn page_for(db: &impl Store, customer_id: Uuid, page: &PageRequest) -> AppResult<Vec<interaction::Model>> {
    let mut q = interaction::Entity::find().filter(interaction::Column::CustomerId.eq(customer_id));
    if let Some(after) = &page.after {
        q = q.filter(super::paging::before_cursor(
            interaction::Column::OccurredAt,
            interaction::Column::Id,
            after,
        )?);
    }
    Ok(q.order_by_desc(interaction::Column::OccurredAt)
        .order_by_desc(interaction::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}
