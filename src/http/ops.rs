//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;

use super::Db;

/// A probe's answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn check_liveness() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn check_readiness(db: Db) -> HttpResponse {
    let backend = db.get_database_backend();
    match db
        .execute_raw(sea_orm::Statement::from_string(backend, "SELECT 1"))
        .await
    {
        Ok(_) => HttpResponse::Ok().json(Health { status: "ready" }),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "database unavailable",
            })
        }
    }
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
