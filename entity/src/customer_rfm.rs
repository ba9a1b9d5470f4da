//! `customer_rfm`: the latest RFM scores, computed tier and lifetime value per customer with orders.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "customer_rfm")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary: i64,
    pub historical_spend: i64,
    pub r_score: i16,
    pub f_score: i16,
    pub m_score: i16,
    pub label: String,
    pub computed_tier: String,
    pub lifetime_value: i64,
    pub last_order_at: DateTimeUtc,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
