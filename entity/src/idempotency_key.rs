//! `idempotency_key`: the stored answer of an idempotent request.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    /// The token's subject.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub method: String,
    /// The route template, e.g. `/api/v1/customers/{id}/contacts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub route: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 of the request (path and body): the same key with another
    /// request is refused.
    pub fingerprint: String,
    pub status: i32,
    /// The answer's `content-type` and `location`.
    pub headers: Json,
    pub body: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
