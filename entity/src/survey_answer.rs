//! `survey_answer`: one answer of a response as a row (a number, or one row
//! per choice picked), so results are counted in SQL. Text answers stay in
//! the response.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_answer")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub response_id: Uuid,
    pub survey_id: Uuid,
    pub question_id: String,
    pub choice_id: Option<String>,
    pub value: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
