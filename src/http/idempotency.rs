//! `Idempotency-Key`, one mechanism for every `POST` that creates or moves
//! something (the operations the OpenAPI document gives the header).
//!
//! A keyed request runs inside a transaction this middleware opens; the
//! handler's `Db` is a savepoint of it. When the handler has answered, a 2xx
//! keeps its changes and a 4xx drops them, the answer (status, `content-type`,
//! `location`, body) is stored under (token subject, method, route template,
//! key) in the same transaction, and it commits — so the change and its
//! stored answer exist together or not at all. A 5xx rolls everything back
//! and stores nothing. A repeat with the same key replays the stored answer
//! byte for byte with `Idempotent-Replayed: true`; with another body it is a
//! 422; while the first still runs, a 409 (an in-process set, and on
//! PostgreSQL an advisory lock across instances).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use chrono::Duration;
use entity::idempotency_key;
use sea_orm::{DatabaseConnection, TransactionTrait};
use sha2::{Digest, Sha256};

use super::db::RequestTxn;
use super::edge::{IDEMPOTENCY_KEY, IdempotentRoute, verified_actor};
use crate::error::AppError;
use crate::service::idempotency::{Answer, Stored, open};

/// The header a replayed answer carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// How long stored answers are kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention(pub Duration);

/// Keys whose first request is running in this application (one per
/// server, shared by its workers; two applications in one process — tests —
/// each have their own).
#[derive(Debug, Default)]
pub struct RunningKeys(Mutex<HashSet<String>>);

/// Holds a key in [`RunningKeys`] until dropped.
struct Running(web::Data<RunningKeys>, String);

impl Running {
    fn take(keys: web::Data<RunningKeys>, scope: &str) -> Option<Self> {
        let fresh = keys
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(scope.to_owned());
        fresh.then(|| Self(keys, scope.to_owned()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

fn in_progress() -> AppError {
    AppError::Conflict {
        detail: "a request with this Idempotency-Key is still running; retry when it has answered".into(),
        field: Some(IDEMPOTENCY_KEY.into()),
    }
}

/// Whether the query asks for a simulation (`simulate=true`).
fn simulated(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "simulate" && v == "true")
}

/// A key is 1–255 visible ASCII characters.
fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The middleware.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(route) = req.extensions().get::<IdempotentRoute>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let simulation = simulated(req.query_string());
    let key = match req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|v| v.to_str().map(str::to_owned))
    {
        None if route.required => {
            return Ok(req.error_response(AppError::BadRequest(format!(
                "this route requires an {IDEMPOTENCY_KEY} header"
            ))));
        }
        None => return Ok(next.call(req).await?.map_into_boxed_body()),
        Some(Ok(key)) if valid_key(&key) => key,
        Some(_) => {
            return Ok(req.error_response(AppError::field(
                IDEMPOTENCY_KEY,
                "must be 1 to 255 visible ASCII characters",
            )));
        }
    };
    // A simulation writes nothing: its key is checked, nothing is stored.
    if simulation {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let subject = verified_actor(req.request()).map_or_else(|| "anonymous".to_owned(), |a| a.sub);
    let body = req.extract::<web::Bytes>().await?;
    let fingerprint = hex(&Sha256::new()
        .chain_update(req.uri().path().as_bytes())
        .chain_update(b"\n")
        .chain_update(&body)
        .finalize());
    req.set_payload(actix_http::Payload::from(body));
    let scope = format!("{subject}\n{}\n{}\n{key}", req.method(), route.template);
    let Some(keys) = req.app_data::<web::Data<RunningKeys>>().cloned() else {
        return Ok(req.error_response(AppError::Internal(anyhow::anyhow!("no running-keys handle"))));
    };
    let Some(_running) = Running::take(keys, &scope) else {
        return Ok(req.error_response(in_progress()));
    };
    let (Some(db), Some(retention)) = (
        req.app_data::<web::Data<DatabaseConnection>>().cloned(),
        req.app_data::<web::Data<Retention>>().map(|r| r.0),
    ) else {
        return Ok(req.error_response(AppError::Internal(anyhow::anyhow!("no database handle"))));
    };
    let stored = Stored {
        subject,
        method: req.method().to_string(),
        route: route.template,
        key,
    };
    let outer = match open(&db, &scope).await {
        Ok(Some(txn)) => txn,
        Ok(None) => return Ok(req.error_response(in_progress())),
        Err(e) => return Ok(req.error_response(e)),
    };
    match stored.find(&outer).await {
        Ok(Some(row)) => {
            // Ended before answering, not dropped: a dropped transaction
            // rolls back (and gives up the key's advisory lock) in the
            // background, and the client's next request with the key would
            // find it still held.
            if let Err(e) = outer.rollback().await {
                return Ok(req.error_response(AppError::from(e)));
            }
            if row.fingerprint != fingerprint {
                return Ok(req.error_response(AppError::field(
                    IDEMPOTENCY_KEY,
                    "was already used with a different request",
                )));
            }
            crate::metrics::METRICS.idempotent_replays.inc();
            return Ok(req.into_response(replay(&row)));
        }
        Ok(None) => {}
        Err(e) => return Ok(req.error_response(e)),
    }
    let inner = match outer.begin().await {
        Ok(txn) => Arc::new(txn),
        Err(e) => return Ok(req.error_response(AppError::from(e))),
    };
    req.extensions_mut().insert(RequestTxn(inner.clone()));
    drop(inner);
    let res = next.call(req).await?;
    let inner = res.request().extensions_mut().remove::<RequestTxn>();
    let (http_req, res) = res.into_parts();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = match actix_web::body::to_bytes(res.into_body()).await {
        Ok(b) => b,
        Err(_) => return Ok(ServiceResponse::new(http_req, failed("the answer could not be read"))),
    };
    let answer = || {
        let mut out = HttpResponse::build(status);
        for (name, value) in &headers {
            out.append_header((name.clone(), value.clone()));
        }
        out.body(bytes.clone())
    };
    if status.is_server_error() {
        drop(inner);
        if let Err(e) = outer.rollback().await {
            tracing::warn!(error = %e, "rolling back a failed idempotent request");
        }
        return Ok(ServiceResponse::new(http_req, answer()));
    }
    let Some(inner) = inner.and_then(|t| Arc::try_unwrap(t.0).ok()) else {
        return Ok(ServiceResponse::new(
            http_req,
            failed("the request's transaction is still in use"),
        ));
    };
    let kept = if status.is_success() {
        inner.commit().await
    } else {
        inner.rollback().await
    };
    let saved = match kept {
        Ok(()) => {
            let kept = |name: HeaderName| headers.get(&name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (content_type, location) = (kept(header::CONTENT_TYPE), kept(header::LOCATION));
            let answer = Answer {
                status: status.as_u16(),
                content_type: content_type.as_deref(),
                location: location.as_deref(),
                body: &bytes,
            };
            stored.save(&outer, &fingerprint, &answer, retention).await
        }
        Err(e) => Err(e.into()),
    };
    let committed = match saved {
        Ok(()) => outer.commit().await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    Ok(ServiceResponse::new(
        http_req,
        match committed {
            Ok(()) => answer(),
            Err(e) => {
                // An outage here is a 503: whether the commit landed is not
                // known, and a retry with the key replays it if it did.
                tracing::error!(error = %e, "an idempotent request could not be committed");
                actix_web::ResponseError::error_response(&e)
            }
        },
    ))
}

fn failed(why: &str) -> HttpResponse<BoxBody> {
    actix_web::ResponseError::error_response(&AppError::Internal(anyhow::anyhow!(why.to_owned())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored answer, as it was, marked as a replay.
fn replay(row: &idempotency_key::Model) -> HttpResponse {
    let mut res =
        HttpResponse::build(StatusCode::from_u16(u16::try_from(row.status).unwrap_or(500)).unwrap_or(StatusCode::OK));
    for name in [header::CONTENT_TYPE, header::LOCATION] {
        if let Some(value) = row.headers[name.as_str()]
            .as_str()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            res.insert_header((name, value));
        }
    }
    res.insert_header((HeaderName::from_static(REPLAYED), HeaderValue::from_static("true")));
    res.body(row.body.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(super::valid_key("order-123_ABC.x"));
        assert!(!super::valid_key(""));
        assert!(!super::valid_key("with space"));
        assert!(!super::valid_key(&"k".repeat(256)));
        assert!(!super::valid_key("ключ"));
    }
}
