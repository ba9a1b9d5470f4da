//! `loyalty_lot`: the points one credit made, what is left of them, when they
//! become spendable and when they expire.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "loyalty_lot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub entry_id: Uuid,
    pub points: i64,
    pub remaining: i64,
    pub available_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub notified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
