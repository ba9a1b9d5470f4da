//! `loyalty_entry`: one movement of points, append-only — never updated or
//! deleted. `points` is signed; `balance_after` is the ledger's sum after it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "loyalty_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub seq: i64,
    pub kind: String,
    pub points: i64,
    pub balance_after: i64,
    pub debt_change: i64,
    pub unrecovered: i64,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub reward_id: Option<Uuid>,
    pub reverses_entry_id: Option<Uuid>,
    pub eligible_minor: Option<i64>,
    pub actor: String,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
