//! `segment_event`: a customer entering or leaving a segment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub segment_id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
