//! `import_error`: a row an import refused, as it was sent.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_error")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub import_id: Uuid,
    /// 1 for the first data row.
    pub row: i64,
    pub field: String,
    pub error: String,
    /// The row's cells (CSV, in header order) or its object (NDJSON).
    pub cells: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
