//! `job_run`: one row per background job — its lease (which instance runs it
//! until when) and its last run.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_run")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub last_started_at: Option<DateTimeUtc>,
    pub last_finished_at: Option<DateTimeUtc>,
    /// `running`, `succeeded` or `failed`.
    pub last_outcome: Option<String>,
    pub last_summary: Option<String>,
    pub last_duration_ms: Option<i64>,
    /// `schedule`, `api` or `cli`.
    pub last_trigger: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
