//! A customer's `/health` (computed on read, with its stored history), the
//! manual factor at `/health/override`, `/analytics/health/recompute` and
//! `/preview`, and the weights and cut-offs at `/settings/health`.

use actix_web::{HttpResponse, web};

use super::extract::{Json, Query, parse_id};
use super::{Db, ErrorResponses, ReadDb};
use crate::auth::BearerAuth;
use crate::contract::health::{
    HealthBacktest, HealthBacktestInput, HealthPreview, HealthPreviewInput, HealthRecomputeResult, HealthReport,
    HealthReportQuery, HealthSettings, HealthView, OverrideInput, OverrideView,
};
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

/// The weights and cut-offs scores are computed with.
#[utoipa::path(get, path = "/api/v1/settings/health", tag = "health",
    responses((status = 200, body = HealthSettings), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_health_settings(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::settings::get(&db, &actor).await?))
}

/// Replaces the weights and cut-offs; reads use them at once, stored
/// history from the next recompute. Each weight is 0–100 (only their
/// proportions matter) and a factor other than manual must weigh more than
/// 0; the cut-offs are 0–100 with `healthy >= watch >= at_risk`, and
/// `min_coverage` 0.1–1.
#[utoipa::path(put, path = "/api/v1/settings/health", tag = "health", request_body = HealthSettings,
    responses((status = 200, body = HealthSettings), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn replace_health_settings(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<HealthSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::settings::put(&db, &actor, input).await?))
}

/// What other weights and cut-offs would do, saving nothing: every live
/// customer scored with the settings in force and with the proposed ones
/// (either left out stays as it is), the customers per level before and
/// after, how many would change level and the first 100 of them. The same
/// rules as `PUT /settings/health` apply to the proposal.
#[utoipa::path(post, path = "/api/v1/analytics/health/preview", tag = "health", request_body = HealthPreviewInput,
    responses((status = 200, body = HealthPreview), ErrorResponses),
    security(("bearer" = ["admin", "manager", "analyst"])))]
pub async fn preview_health(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<HealthPreviewInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::settings::preview(&db, &actor, input).await?))
}

/// The monthly health report (`month=YYYY-MM`, a UTC month; the current
/// one by default): customers per level by their last score in the month,
/// level moves since the month before and the first 100 customers who
/// moved, the 20 at-risk and critical customers with the highest lifetime
/// value, and churn and win-back counts with their reasons. Names are
/// masked for analysts and left out for partners.
#[utoipa::path(get, path = "/api/v1/analytics/health", tag = "health", params(HealthReportQuery),
    responses((status = 200, body = HealthReport), ErrorResponses),
    security(("bearer" = ["admin", "manager", "analyst", "partner"])))]
pub async fn get_health_report(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Query(q): Query<HealthReportQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::report::monthly(&db, &actor, &q).await?))
}

/// Replays the stored factor history of the last `months` months (1–24,
/// default 12, the current one last): each month, every live customer's
/// last stored score levelled again with the settings in force and with the
/// proposed weights and cut-offs (either left out stays as it is), with how
/// many at each level churned within 90 days after it; and, over all
/// months, the precision, recall and lift of at_risk + critical as a churn
/// warning for both. Saves nothing; the same rules as `PUT
/// /settings/health` apply to the proposal.
#[utoipa::path(post, path = "/api/v1/analytics/health/backtest", tag = "health", request_body = HealthBacktestInput,
    responses((status = 200, body = HealthBacktest), ErrorResponses),
    security(("bearer" = ["admin", "manager", "analyst"])))]
pub async fn backtest_health(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<HealthBacktestInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(health::backtest::run(&db, &actor, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_customer_health,
    set_health_override,
    clear_health_override,
    recompute_health,
    get_health_settings,
    replace_health_settings,
    preview_health,
    get_health_report,
    backtest_health
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{id}/health").route(web::get().to(get_customer_health)))
        .service(
            web::resource("/customers/{id}/health/override")
                .route(web::put().to(set_health_override))
                .route(web::delete().to(clear_health_override)),
        )
        .service(web::resource("/analytics/health").route(web::get().to(get_health_report)))
        .service(web::resource("/analytics/health/recompute").route(web::post().to(recompute_health)))
        .service(web::resource("/analytics/health/backtest").route(web::post().to(backtest_health)))
        .service(web::resource("/analytics/health/preview").route(web::post().to(preview_health)))
        .service(
            web::resource("/settings/health")
                .route(web::get().to(get_health_settings))
                .route(web::put().to(replace_health_settings)),
        );
}
