//! `health_override`: staff's manual health factor for a customer, until it expires.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_override")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    pub value: i32,
    pub reason: String,
    pub author: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
