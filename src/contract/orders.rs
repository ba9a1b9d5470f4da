//! Order, order summary and timeline types.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::interactions::{Channel, Direction};
use super::value_enum;

value_enum!(
    /// Whether an order still counts: `completed` (perhaps partly refunded)
    /// or `refunded` in full.
    OrderStatus { Completed => "completed", Refunded => "refunded" }
);

/// A purchase to record. Re-sending the same `external_id` returns the
/// order already recorded instead of a duplicate.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewOrderInput")]
pub struct NewOrder {
    /// The customer, by our id (or give `customer_external_id`).
    pub customer_id: Option<Uuid>,
    /// The customer, by your id.
    pub customer_external_id: Option<String>,
    /// Your id for the order; unique.
    pub external_id: Option<String>,
    /// Amount in minor units (cents), 1 to 10^12.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: super::MinorUnits,
    /// ISO 4217 code.
    pub currency: String,
    /// When it was placed; defaults to now.
    pub ordered_at: Option<DateTime<Utc>>,
    /// The part of `amount_minor` paid with loyalty points (0 to
    /// `amount_minor`, default 0); it earns no points.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub points_paid_minor: Option<super::MinorUnits>,
}

/// A refund, whole or in part.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "RefundInput")]
pub struct RefundInput {
    /// How much to refund, in minor units (1 to what is left to refund);
    /// the whole remainder when left out.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: Option<super::MinorUnits>,
}

/// A recorded purchase.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Order")]
pub struct OrderView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub external_id: Option<String>,
    #[schema(value_type = i64)]
    pub amount_minor: super::MinorUnits,
    pub currency: String,
    pub status: OrderStatus,
    pub ordered_at: DateTime<Utc>,
    /// When the last refund was made.
    pub refunded_at: Option<DateTime<Utc>>,
    /// How much has been refunded; the order is `refunded` once it all is.
    #[schema(value_type = i64)]
    pub refunded_minor: super::MinorUnits,
    /// The part paid with loyalty points.
    #[schema(value_type = i64)]
    pub points_paid_minor: super::MinorUnits,
    pub created_at: DateTime<Utc>,
}

/// Spend in one currency.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Spend")]
pub struct Spend {
    pub currency: String,
    #[schema(value_type = i64)]
    pub amount_minor: super::MinorUnits,
}

/// A customer's completed orders at a glance (refunds excluded).
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "OrderSummary")]
pub struct OrderSummary {
    pub order_count: i64,
    /// Total spend per currency.
    pub total_spend: Vec<Spend>,
    pub first_order_at: Option<DateTime<Utc>>,
    pub last_order_at: Option<DateTime<Utc>>,
}

/// Query string of `GET /orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    pub customer_id: Option<Uuid>,
    pub status: Option<OrderStatus>,
    /// Placed at or after this instant.
    pub ordered_from: Option<DateTime<Utc>>,
    /// Placed before this instant.
    pub ordered_to: Option<DateTime<Utc>>,
}

/// One entry of a customer's timeline, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Order {
        id: Uuid,
        at: DateTime<Utc>,
        amount_minor: i64,
        currency: String,
        status: OrderStatus,
    },
    Interaction {
        id: Uuid,
        at: DateTime<Utc>,
        channel: Channel,
        direction: Direction,
        summary: String,
    },
    /// A change in one of the customer's feedback items.
    Feedback {
        /// The event's id.
        id: Uuid,
        at: DateTime<Utc>,
        feedback_id: Uuid,
        subject: String,
        /// created, status_changed, assigned, severity_changed, comment,
        /// sla_warning, sla_breach, closed.
        event: String,
        actor: String,
        to_value: Option<String>,
        note: Option<String>,
    },
    /// A survey response (its score; the words stay with the response).
    SurveyResponse {
        id: Uuid,
        at: DateTime<Utc>,
        survey_id: Uuid,
        /// `partial` or `completed`.
        status: String,
        score: Option<i32>,
    },
    /// A movement of loyalty points.
    Loyalty {
        /// The ledger entry's id.
        id: Uuid,
        at: DateTime<Utc>,
        kind: super::loyalty::EntryKind,
        points: i64,
        balance_after: i64,
    },
    /// An early-warning alert fired (`cleared_at` once it cleared).
    HealthAlert {
        id: Uuid,
        at: DateTime<Utc>,
        rule: super::health::AlertRule,
        cleared_at: Option<DateTime<Utc>>,
        task_id: Option<Uuid>,
    },
    /// A change of one of the customer's needs (agents: of customers they own).
    Need {
        /// The history line's id.
        id: Uuid,
        at: DateTime<Utc>,
        need_id: Uuid,
        /// created, updated, status_changed, linked, unmet.
        event: String,
        actor: String,
        from_value: Option<String>,
        to_value: Option<String>,
    },
    /// A task created about the customer (agents see their own).
    Task {
        id: Uuid,
        at: DateTime<Utc>,
        kind: super::tasks::TaskKind,
        title: String,
        status: super::tasks::TaskStatus,
        assignee_id: Option<String>,
        due_at: Option<DateTime<Utc>>,
    },
}

impl TimelineEntry {
    /// When the entry happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Order { at, .. }
            | Self::Interaction { at, .. }
            | Self::Feedback { at, .. }
            | Self::SurveyResponse { at, .. }
            | Self::Loyalty { at, .. }
            | Self::HealthAlert { at, .. }
            | Self::Need { at, .. }
            | Self::Task { at, .. } => *at,
        }
    }

    /// The entry's own id.
    pub fn id(&self) -> Uuid {
        match self {
            Self::Order { id, .. }
            | Self::Interaction { id, .. }
            | Self::Feedback { id, .. }
            | Self::SurveyResponse { id, .. }
            | Self::Loyalty { id, .. }
            | Self::HealthAlert { id, .. }
            | Self::Need { id, .. }
            | Self::Task { id, .. } => *id,
        }
    }
}
