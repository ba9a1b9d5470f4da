//! The staff directory: who manages whom, for escalations.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A staff directory entry to save.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "StaffInput")]
pub struct StaffInput {
    pub name: String,
    pub email: Option<String>,
    /// The member's manager (a token subject): escalations go there.
    pub manager_id: Option<String>,
}

/// A staff directory entry.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "StaffMember")]
pub struct StaffView {
    /// The member's token subject.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub manager_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}
