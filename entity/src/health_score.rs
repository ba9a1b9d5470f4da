//! `health_score`: one recompute's score of one customer, kept as history.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "health_score")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub computed_at: DateTimeUtc,
    pub score: Option<f64>,
    pub level: String,
    pub coverage: f64,
    /// Each factor's value, weight and contribution, as computed then.
    pub factors: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
