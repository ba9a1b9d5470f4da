//! A read cut off by a dropped database connection is tried once more, on a
//! live connection, before the caller hears of it; so is a read the replica
//! failed, on the primary. Writes are not: whether a
//! write committed is not known here, so it answers 503 and the client
//! retries with its `Idempotency-Key`.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::web;
use futures_util::future::LocalBoxFuture;
use sea_orm::DatabaseConnection;

use super::db::ServedByReplica;
use crate::database::Outage;
use crate::error::AppError;

/// The middleware; wrap it innermost, so a retry runs routing and the
/// handler again and nothing else.
pub struct RetryReads;

impl<S, B> Transform<S, ServiceRequest> for RetryReads
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RetryReadsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RetryReadsService {
            service: Rc::new(service),
        }))
    }
}

pub struct RetryReadsService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RetryReadsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        Box::pin(async move {
            if !matches!(*req.method(), Method::GET | Method::HEAD) {
                return service.call(req).await;
            }
            let res = service.call(req).await?;
            let replica = res.request().extensions().get::<ServedByReplica>().cloned();
            let Some(outage) = outage(&res) else {
                return Ok(res);
            };
            if let Some(ServedByReplica(replica)) = &replica {
                // The replica failed it: take it out; the next try goes to the primary.
                replica.mark_down();
            } else if outage != Outage::Dropped {
                return Ok(res);
            }
            // The response is dropped here, so the request is ours alone
            // again, as routing needs it to be.
            let (req, _) = res.into_parts();
            if let Some(db) = req.app_data::<web::Data<DatabaseConnection>>() {
                crate::database::weed_out_dead_connections(db).await;
            }
            let mut req = ServiceRequest::from_request(req);
            req.match_info_mut().reset();
            tracing::info!(path = req.path(), "read cut off by the database; trying once more");
            service.call(req).await
        })
    }
}

fn outage<B>(res: &ServiceResponse<B>) -> Option<Outage> {
    match res.response().error().and_then(|e| e.as_error::<AppError>()) {
        Some(AppError::DatabaseUnavailable { outage, .. }) => Some(*outage),
        _ => None,
    }
}
