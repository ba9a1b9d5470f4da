//! `need`: one need of a customer in the needs register.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "need")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub kind: String,
    pub urgency: String,
    pub importance: String,
    /// Derived from urgency and importance on every write.
    pub quadrant: String,
    pub source: String,
    pub source_id: Option<Uuid>,
    pub stage: Option<String>,
    pub owner_id: Option<String>,
    pub due_on: Option<Date>,
    pub status: String,
    pub solution: Option<String>,
    pub reason: Option<String>,
    pub confirmed_by_contact_id: Option<Uuid>,
    pub confirmed_at: Option<DateTimeUtc>,
    /// Set by the unmet job when the current unmet episode began.
    pub unmet_since: Option<DateTimeUtc>,
    /// When it was delivered, declined or withdrawn.
    pub closed_at: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
