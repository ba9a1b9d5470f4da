//! Feedback items: intake with classification and text analysis, the state
//! machine with its SLA clocks, assignment, comments and history.
//!
//! Every change writes the item, its history event and (for changes others
//! subscribe to) an outbox record in one transaction. On PostgreSQL the
//! item row is locked first, so a change and the SLA sweeper never
//! interleave.

use crate::service::Store;
use chrono::{DateTime, Utc};
use entity::{customer, feedback_event, feedback_item, feedback_keyword};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::events;
use super::paging::before_cursor;
use super::settings::{self, FeedbackRules};
use super::{begin, customers, mask, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::ValueTier;
use crate::contract::events::EventType;
use crate::contract::feedback::{
    FeedbackChannel, FeedbackEventView, FeedbackFilter, FeedbackKind, FeedbackPatch, FeedbackStatus, FeedbackView,
    MyFeedbackView, NewComment, NewFeedback, RootCause, Severity, SlaClock, Transition,
};
use crate::domain::feedback::{ClockState, Target, allowed_moves, classify, targets};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse, text};
use crate::error::{AppError, AppResult};
use crate::service::paging::page as page_of_rows;

mod adoption;
mod intake;
mod queries;
mod workflow;

pub use adoption::adopt;
pub use intake::{create, create_mine};
pub use queries::{History, events, events_for_timeline, get, get_mine, list, list_mine};
pub use workflow::{comment, transition, update};

/// Who acts when no person does.
pub const SYSTEM: &str = "system";

/// The first-response clock of an item.
pub fn response_clock(m: &feedback_item::Model) -> ClockState {
    ClockState {
        target: Target {
            minutes: m.response_target_minutes,
            business: m.response_business,
        },
        used_micros: m.response_used_micros,
        since: m.response_since,
        due_at: m.response_due_at,
        warn_at: m.response_warn_at,
        met_at: m.response_met_at,
        warned_at: m.response_warned_at,
        breached_at: m.response_breached_at,
    }
}

/// The resolution clock of an item.
pub fn resolution_clock(m: &feedback_item::Model) -> ClockState {
    ClockState {
        target: Target {
            minutes: m.resolution_target_minutes,
            business: m.resolution_business,
        },
        used_micros: m.resolution_used_micros,
        since: m.resolution_since,
        due_at: m.resolution_due_at,
        warn_at: m.resolution_warn_at,
        met_at: m.resolution_met_at,
        warned_at: m.resolution_warned_at,
        breached_at: m.resolution_breached_at,
    }
}

/// Writes the first-response clock into an item.
pub fn set_response_clock(m: &mut feedback_item::Model, c: ClockState) {
    m.response_target_minutes = c.target.minutes;
    m.response_business = c.target.business;
    m.response_used_micros = c.used_micros;
    m.response_since = c.since;
    m.response_due_at = c.due_at;
    m.response_warn_at = c.warn_at;
    m.response_met_at = c.met_at;
    m.response_warned_at = c.warned_at;
    m.response_breached_at = c.breached_at;
}

/// Writes the resolution clock into an item.
pub fn set_resolution_clock(m: &mut feedback_item::Model, c: ClockState) {
    m.resolution_target_minutes = c.target.minutes;
    m.resolution_business = c.target.business;
    m.resolution_used_micros = c.used_micros;
    m.resolution_since = c.since;
    m.resolution_due_at = c.due_at;
    m.resolution_warn_at = c.warn_at;
    m.resolution_met_at = c.met_at;
    m.resolution_warned_at = c.warned_at;
    m.resolution_breached_at = c.breached_at;
}

fn clock_view(c: ClockState) -> SlaClock {
    SlaClock {
        target_minutes: c.target.minutes,
        business: c.target.business,
        due_at: c.due_at,
        warn_at: c.warn_at,
        met_at: c.met_at,
        warned_at: c.warned_at,
        breached_at: c.breached_at,
        paused: c.since.is_none(),
    }
}

/// Shapes a stored item for a caller (free text masked for analysts and partners).
pub fn to_view(m: feedback_item::Model, actor: &Actor) -> FeedbackView {
    let first_response = clock_view(response_clock(&m));
    let resolution = clock_view(resolution_clock(&m));
    FeedbackView {
        id: m.id,
        customer_id: m.customer_id,
        channel: FeedbackChannel::from_db(&m.channel),
        kind: FeedbackKind::from_db(&m.kind),
        subject: mask::text_for(actor, m.subject),
        body: mask::text_for(actor, m.body),
        rating: m.rating,
        severity: Severity::from_db(&m.severity),
        severity_rule: m.severity_rule,
        sentiment: m.sentiment,
        keywords: serde_json::from_value(m.keywords).unwrap_or_default(),
        status: FeedbackStatus::from_db(&m.status),
        assignee_id: m.assignee_id,
        created_by: m.created_by,
        first_response,
        resolution,
        root_cause: m.root_cause.as_deref().map(RootCause::from_db),
        review_note: m.review_note.map(|n| mask::text_for(actor, n)),
        adopted_at: m.adopted_at,
        closed_at: m.closed_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub(crate) fn event_view(e: feedback_event::Model, actor: &Actor) -> FeedbackEventView {
    FeedbackEventView {
        id: e.id,
        feedback_id: e.feedback_id,
        kind: e.kind,
        actor: e.actor,
        from_value: e.from_value,
        to_value: e.to_value,
        note: e.note.map(|n| mask::text_for(actor, n)),
        created_at: e.created_at,
    }
}

/// A history entry to write.
pub struct Event<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
}

/// Records a history entry of an item.
///
/// # Errors
/// Database failures.
pub async fn record(
    conn: &impl ConnectionTrait,
    item: &feedback_item::Model,
    e: Event<'_>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    feedback_event::ActiveModel {
        id: Set(new_id()),
        feedback_id: Set(item.id),
        customer_id: Set(item.customer_id),
        kind: Set(e.kind.into()),
        actor: Set(e.actor.into()),
        from_value: Set(e.from),
        to_value: Set(e.to),
        note: Set(e.note),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// What webhooks say about an item.
fn payload(m: &feedback_item::Model) -> serde_json::Value {
    json!({
        "kind": m.kind,
        "severity": m.severity,
        "status": m.status,
        "assignee_id": m.assignee_id,
    })
}

/// Staff who may read feedback: everyone but partners and customers.
fn read_policy(actor: &Actor) -> AppResult<()> {
    policy::read_customers(actor)
}

/// Admins and managers work every item; agents the ones assigned to them.
fn work_policy(actor: &Actor, item: &feedback_item::Model) -> AppResult<()> {
    policy::work_assigned(actor, item.assignee_id.as_deref())
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<feedback_item::Model> {
    feedback_item::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("feedback"))
}

/// Reads an item inside a transaction, locking its row on PostgreSQL.
///
/// # Errors
/// `NotFound`; database failures.
pub async fn find_for_update(txn: &DatabaseTransaction, id: Uuid) -> AppResult<feedback_item::Model> {
    let mut q = feedback_item::Entity::find_by_id(id);
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound("feedback"))
}
