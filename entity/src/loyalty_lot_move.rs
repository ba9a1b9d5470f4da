//! `loyalty_lot_move`: what an entry took from (negative) or put back into
//! (positive) one lot.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "loyalty_lot_move")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entry_id: Uuid,
    pub lot_id: Uuid,
    pub points: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::loyalty_lot::Entity",
        from = "Column::LotId",
        to = "super::loyalty_lot::Column::Id"
    )]
    Lot,
}

impl Related<super::loyalty_lot::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lot.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
