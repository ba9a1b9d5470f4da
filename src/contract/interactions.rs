//! Interactions: the touchpoints logged with a customer.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::value_enum;

value_enum!(
    /// A contact channel.
    Channel {
        Phone => "phone",
        Email => "email",
        Meeting => "meeting",
        Visit => "visit",
        Chat => "chat",
        Sms => "sms",
        Social => "social",
        Event => "event",
    }
);

value_enum!(
    /// Who started an interaction.
    Direction { Inbound => "inbound", Outbound => "outbound" }
);
value_enum!(
    /// How an interaction felt.
    Sentiment { Positive => "positive", Neutral => "neutral", Negative => "negative" }
);

/// A touchpoint to log.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewInteractionInput")]
pub struct NewInteraction {
    pub channel: Channel,
    pub direction: Direction,
    pub summary: String,
    /// When it happened; defaults to now. Not in the future.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The contact involved (must belong to the customer).
    pub contact_id: Option<Uuid>,
    /// The staff member; defaults to the caller.
    pub staff_id: Option<String>,
    pub sentiment: Option<Sentiment>,
}

/// A logged touchpoint.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Interaction")]
pub struct InteractionView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub channel: Channel,
    pub direction: Direction,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub staff_id: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub created_at: DateTime<Utc>,
}
