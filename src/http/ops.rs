//! Liveness, readiness, and the instance's drain on shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::database::{self, MigrationsChecked};

/// A probe's answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (liveness), `ready`, or why not: `draining`, `database unavailable`,
    /// `migrations pending`, `database read-only`.
    pub status: &'static str,
}

/// Where this instance is in its life: serving, or draining before it stops.
pub struct Lifecycle {
    draining: AtomicBool,
    migrations: MigrationsChecked,
    ready_timeout: Duration,
}

impl Lifecycle {
    pub fn new(ready_timeout: Duration) -> Self {
        Self {
            draining: AtomicBool::new(false),
            migrations: MigrationsChecked::default(),
            ready_timeout,
        }
    }

    /// From now on `/readyz` says 503 and every answer closes its connection.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn check_liveness() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The instance should get traffic: it is not draining, and the database
/// answers within the probe's own timeout, takes writes, and has every
/// migration this build knows. Never waits longer than that timeout.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health,
        description = "Draining, or the database is unreachable, read-only, or behind this build's migrations.")))]
pub async fn check_readiness(db: web::Data<DatabaseConnection>, life: web::Data<Lifecycle>) -> HttpResponse {
    if life.is_draining() {
        return not_ready("draining");
    }
    match database::check_ready(&db, &life.migrations, life.ready_timeout).await {
        Ok(()) => HttpResponse::Ok().json(Health { status: "ready" }),
        Err(why) => not_ready(why.as_str()),
    }
}

fn not_ready(status: &'static str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("cache-control", "no-store"))
        .json(Health { status })
}

/// While draining, every answer asks the client to close its connection, so
/// that keep-alive clients move to other instances before this one stops
/// accepting (rather than sending on a connection as it closes).
pub async fn close_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if res
        .request()
        .app_data::<web::Data<Lifecycle>>()
        .is_some_and(|l| l.is_draining())
    {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(check_liveness, check_readiness))]
pub struct Doc;

/// Mounts this module's routes (outside `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(check_liveness))
        .route("/readyz", web::get().to(check_readiness));
}
