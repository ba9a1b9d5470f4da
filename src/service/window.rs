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
        let sql = match self.backend {
            DbBackend::Postgres => sql.to_owned(),
            _ => sql.replace('$', "?"),
        };
        let values: [Value; 2] = [self.from.into(), self.to.into()];
        Ok(self
            .db
            .query_all_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?)
    }
}
