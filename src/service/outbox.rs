//! The outbox: every change worth telling an integration is written here as
//! an event, in the transaction of the change itself, so a rolled-back change
//! tells nothing and a committed one is never lost. Delivery reads it later.

use chrono::{DateTime, Utc};
use entity::outbox_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use super::new_id;
use crate::error::AppResult;

/// The kinds of event the outbox carries; the wire name is the topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    FeedbackCreated,
    FeedbackUpdated,
    FeedbackStatusChanged,
    FeedbackSlaWarning,
    FeedbackSlaBreached,
}

impl EventType {
    /// The topic name an integration sees.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FeedbackCreated => "feedback.created",
            Self::FeedbackUpdated => "feedback.updated",
            Self::FeedbackStatusChanged => "feedback.status_changed",
            Self::FeedbackSlaWarning => "feedback.sla_warning",
            Self::FeedbackSlaBreached => "feedback.sla_breached",
        }
    }
}

/// Leaves an event for delivery, in the caller's transaction.
///
/// # Errors
/// Database failures.
pub async fn write(
    conn: &impl ConnectionTrait,
    kind: EventType,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> AppResult<()> {
    outbox_event::ActiveModel {
        id: Set(new_id()),
        topic: Set(kind.as_str().into()),
        aggregate_id: Set(aggregate_id),
        payload: Set(payload),
        created_at: Set(at),
        delivered_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}
