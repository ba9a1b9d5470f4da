//! `Db`, the database handle a handler receives: the pool, or — inside an
//! idempotent request (see `idempotency`) — the request's transaction, so
//! the change and the stored response commit together.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use crate::error::AppError;
use crate::service::Store;

/// The transaction an idempotent request runs in, left in the request's
/// extensions by the idempotency middleware.
#[derive(Clone)]
pub struct RequestTxn(pub Arc<DatabaseTransaction>);

/// The database as a handler sees it.
#[derive(Clone)]
pub enum Db {
    Pool(web::Data<DatabaseConnection>),
    Request(Arc<DatabaseTransaction>),
}

impl FromRequest for Db {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let db = match req.extensions().get::<RequestTxn>() {
            Some(txn) => Ok(Self::Request(txn.0.clone())),
            None => req
                .app_data::<web::Data<DatabaseConnection>>()
                .cloned()
                .map(Self::Pool)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no database handle"))),
        };
        std::future::ready(db)
    }
}

/// Calls the same method on whichever handle this is.
macro_rules! on_either {
    ($self:ident, $c:ident => $call:expr) => {
        match $self {
            Db::Pool(db) => {
                let $c = db.get_ref();
                $call
            }
            Db::Request(txn) => {
                let $c = txn.as_ref();
                $call
            }
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        on_either!(self, c => c.get_database_backend())
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on_either!(self, c => c.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_either!(self, c => c.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_either!(self, c => c.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_either!(self, c => c.query_all_raw(stmt).await)
    }

    fn support_returning(&self) -> bool {
        on_either!(self, c => c.support_returning())
    }
}

impl Store for Db {
    async fn open(&self) -> Result<DatabaseTransaction, DbErr> {
        on_either!(self, c => c.open().await)
    }
}
