//! `/analytics/rfm` and `/settings/analytics`.

use actix_web::HttpResponse;

use super::extract::{Json, OptionalJson};
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::segments::{AnalyticsSettings, RfmDistribution, RfmRecompute, RfmRecomputeResult};
use crate::error::AppResult;
use crate::service::{rfm, settings};

/// Customers and spend per RFM label and per (R, F, M) cell, as of the last recompute.
#[utoipa::path(get, path = "/api/v1/analytics/rfm", tag = "analytics",
    responses((status = 200, body = RfmDistribution), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_rfm_distribution(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rfm::distribution(&db, &actor).await?))
}

/// Recomputes RFM scores, labels, lifetime value and value tiers for every customer now.
/// The body is optional.
#[utoipa::path(post, path = "/api/v1/analytics/rfm/recompute", tag = "analytics", request_body(content = Option<RfmRecompute>, description = "Optional: an empty body uses the configured window"),
    responses((status = 200, body = RfmRecomputeResult), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn recompute_rfm(
    db: Db,
    BearerAuth(actor): BearerAuth,
    OptionalJson(input): OptionalJson<RfmRecompute>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rfm::recompute(&db, &actor, input.unwrap_or_default()).await?))
}

/// The RFM window, tier cut-offs and lifetime-value projection in force.
#[utoipa::path(get, path = "/api/v1/settings/analytics", tag = "analytics",
    responses((status = 200, body = AnalyticsSettings), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_analytics_settings(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get_analytics(&db, &actor).await?))
}

/// Replaces the analytics settings; they apply from the next recompute.
#[utoipa::path(put, path = "/api/v1/settings/analytics", tag = "analytics", request_body = AnalyticsSettings,
    responses((status = 200, body = AnalyticsSettings), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_analytics_settings(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<AnalyticsSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put_analytics(&db, &actor, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_rfm_distribution,
    recompute_rfm,
    get_analytics_settings,
    replace_analytics_settings
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.service(web::resource("/analytics/rfm").route(web::get().to(get_rfm_distribution)))
        .service(web::resource("/analytics/rfm/recompute").route(web::post().to(recompute_rfm)))
        .service(
            web::resource("/settings/analytics")
                .route(web::get().to(get_analytics_settings))
                .route(web::put().to(replace_analytics_settings)),
        );
}
