//! `Db`, the database handle a handler receives: the pool, or — inside an
//! idempotent request (see `idempotency`) — the request's transaction, so
//! the change and the stored response commit together. `ReadDb`, for
//! set-wide reads, may be the read replica instead (see `crate::replica`).

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use crate::error::AppError;
use crate::replica::{Lsn, Replica, TOKEN_HEADER};
use crate::service::Store;

/// The read replica of this instance, if one is configured.
pub struct ReadReplica(pub Option<Arc<Replica>>);

/// Left in a request's extensions when its read went to the replica, so a
/// failure there takes the replica out and the read runs again on the primary.
#[derive(Clone)]
pub struct ServedByReplica(pub Arc<Replica>);

/// The database a set-wide read (a report, an analytics view, a preview, an
/// export) runs on: the replica when it is usable and has replayed the
/// request's `Consistency-Token`, else the primary (as [`Db`]). A token that
/// cannot be read sends the read to the primary.
pub struct ReadDb(pub Db);

impl FromRequest for ReadDb {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let primary = Db::from_request(req, payload).into_inner();
        let replica = match (&primary, req.app_data::<web::Data<ReadReplica>>()) {
            (Ok(Db::Pool(_)), Some(r)) => r.0.clone(),
            _ => None,
        };
        // No header: any replayed position will do; an unreadable one: the primary.
        let token = match req.headers().get(TOKEN_HEADER) {
            None => Some(None),
            Some(v) => v.to_str().ok().and_then(Lsn::parse).map(Some),
        };
        let req = req.clone();
        Box::pin(async move {
            let primary = primary?;
            let m = &crate::metrics::METRICS;
            if let Some(replica) = replica
                && let Some(token) = token
                && let Some(conn) = replica.choose(token).await
            {
                m.db_reads.with_label_values(&["replica"]).inc();
                let conn = web::Data::new(conn.clone());
                req.extensions_mut().insert(ServedByReplica(replica));
                return Ok(Self(Db::Pool(conn)));
            }
            m.db_reads.with_label_values(&["primary"]).inc();
            Ok(Self(primary))
        })
    }
}

/// With a replica configured, a write's 2xx answer carries the primary's
/// WAL position after its commit as `Consistency-Token`; a read that sends
/// it back sees the write.
pub async fn stamp_consistency_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let replicated = req.app_data::<web::Data<ReadReplica>>().is_some_and(|r| r.0.is_some());
    let primary = req.app_data::<web::Data<DatabaseConnection>>().cloned();
    let mut res = next.call(req).await?;
    if write
        && replicated
        && res.status().is_success()
        && let Some(primary) = primary
    {
        match crate::replica::current(primary.get_ref()).await {
            Ok(lsn) => {
                if let Ok(value) = HeaderValue::from_str(&lsn.to_string()) {
                    res.headers_mut().insert(HeaderName::from_static(TOKEN_HEADER), value);
                }
            }
            Err(e) => tracing::warn!(error = %e, "no consistency token for this write"),
        }
    }
    Ok(res)
}

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
