//! Reports over a window of time: aggregate statements written once with
//! `$1`/`$2` for the window's bounds, run on either database.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use crate::error::AppResult;

/// A connection and the window `[from, to)` a report covers.
pub(crate) struct Sql<'a, C: ConnectionTrait> {
    pub db: &'a C,
    pub backend: DbBackend,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl<'a, C: ConnectionTrait> Sql<'a, C> {
    pub fn new(db: &'a C, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            db,
            backend: db.get_database_backend(),
            from,
            to,
        }
    }

    /// Runs `sql`, written with `$1`/`$2` for the window bounds.
    pub async fn rows(&self, sql: &str) -> AppResult<Vec<QueryResult>> {
        self.rows_with(sql, []).await
    }

    /// Runs `sql` with more values after the bounds, at `$3`, `$4`, ….
    pub async fn rows_with(&self, sql: &str, more: impl IntoIterator<Item = Value>) -> AppResult<Vec<QueryResult>> {
        let sql = match self.backend {
            DbBackend::Postgres => sql.to_owned(),
            _ => sql.replace('$', "?"),
        };
        let values: Vec<Value> = [self.from.into(), self.to.into()].into_iter().chain(more).collect();
        Ok(self
            .db
            .query_all_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?)
    }
}
