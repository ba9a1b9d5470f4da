//! A customer's `/health` (computed on read, with its stored history), the
//! manual factor at `/health/override`, and `/analytics/health/recompute`.

use actix_web::{HttpResponse, web};

use super::extract::{Json, parse_id};
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::health::{HealthRecomputeResult, HealthView, OverrideInput, OverrideView};
use crate::error::AppResult;
use crate::service::health;

/// A customer's health score now: the level, every factor's value, weight
/// and contribution (they add up to the score; a factor without data is
/// `null` with reason `no_data` and the weights re-normalise over the rest),
/// the manual factor while it counts, and the last 12 stored recomputes
/// with each factor's history. Levels: `score >= 70` healthy, `>= 50`
/// watch, `>= 30` at risk, below critical; `insufficient_data` when under
/// half of the factors' weight has data.
#[utoipa::path(get, path = "/api/v1/customers/{id}/health", tag = "health", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = HealthView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_customer_health(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(health::get(&db, &actor, id).await?))
}

/// Sets (or replaces) the manual factor: a value 0–100 with a reason,
/// counted until `expires_at`.
#[utoipa::path(put, path = "/api/v1/customers/{id}/health/override", tag = "health",
    params(("id" = uuid::Uuid, Path)), request_body = OverrideInput,
    responses((status = 200, body = OverrideView), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn set_health_override(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<OverrideInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(health::set_override(&db, &actor, id, input).await?))
}

/// Removes the manual factor.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/health/override", tag = "health",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Removed"), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn clear_health_override(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    health::clear_override(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Scores every customer now and stores the scores as history (the
/// `health_recompute` job does this on its schedule).
#[utoipa::path(post, path = "/api/v1/analytics/health/recompute", tag = "health",
    responses((status = 200, body = HealthRecomputeResult), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn recompute_health(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::recompute(&db, &actor).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_customer_health, set_health_override, clear_health_override, recompute_health))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{id}/health").route(web::get().to(get_customer_health)))
        .service(
            web::resource("/customers/{id}/health/override")
                .route(web::put().to(set_health_override))
                .route(web::delete().to(clear_health_override)),
        )
        .service(web::resource("/analytics/health/recompute").route(web::post().to(recompute_health)));
}
