//! `customer_order`: a purchase, amount in minor units of its currency.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "customer_order")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub ordered_at: DateTimeUtc,
    pub refunded_at: Option<DateTimeUtc>,
    pub refunded_minor: i64,
    pub points_paid_minor: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
