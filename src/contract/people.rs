//! Contact and interaction types.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::customer::Channel;
use super::value_enum;

value_enum!(
    /// A contact's role in the decision chain.
    ContactRole {
        DecisionMaker => "decision_maker",
        Influencer => "influencer",
        User => "user",
        Gatekeeper => "gatekeeper",
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

/// A new contact at a company customer.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewContactInput")]
pub struct NewContact {
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Option<ContactRole>,
    /// Makes this the customer's primary contact (the previous one stops being primary).
    pub is_primary: Option<bool>,
}

/// A partial update of a contact; `active: false` records that the person left.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ContactPatchInput")]
pub struct ContactPatch {
    #[serde(default)]
    #[schema(value_type = String)]
    pub name: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<ContactRole>)]
    pub role: MaybeUndefined<ContactRole>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub is_primary: MaybeUndefined<bool>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub active: MaybeUndefined<bool>,
}

/// A contact as the API shows it (masked for analysts).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Contact")]
pub struct ContactView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Option<ContactRole>,
    pub is_primary: bool,
    pub active: bool,
    /// When the contact stopped being active.
    pub left_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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

/// Paging of a customer's sub-lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
