//! Contacts: the people at a company customer.

use super::Patch;
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ContactRole>)]
    pub role: Patch<ContactRole>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub is_primary: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = bool)]
    pub active: Patch<bool>,
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
