//! `loyalty_account`: a customer's points held in lots (never below zero),
//! the debt refunds left behind, tier and referral code. Balance (the ledger's
//! sum) = points − debt.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "loyalty_account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    pub points: i64,
    pub debt: i64,
    pub lifetime_earned: i64,
    pub last_seq: i64,
    pub tier_id: Option<Uuid>,
    pub tier_since: Option<DateTimeUtc>,
    pub tier_review_at: Option<DateTimeUtc>,
    #[sea_orm(unique)]
    pub referral_code: String,
    pub referred_by: Option<Uuid>,
    pub referral_rewarded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
