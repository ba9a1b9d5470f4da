//! `/settings`: SLA policies, the business calendar, classification rules
//! and the analytics (RFM) settings.

use actix_web::{HttpResponse, web};

use super::extract::Json;
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::segments::AnalyticsSettings;
use crate::contract::settings::{BusinessCalendarSettings, ClassificationSettings, SlaPolicies};
use crate::error::AppResult;
use crate::service::settings;

/// The SLA policies in force.
#[utoipa::path(get, path = "/api/v1/settings/sla-policies", tag = "feedback",
    responses((status = 200, body = SlaPolicies), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_sla_policies(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get_sla_policies(&db, &actor).await?))
}

/// Replaces the SLA policies (admin/manager); new items use them.
#[utoipa::path(put, path = "/api/v1/settings/sla-policies", tag = "feedback", request_body = SlaPolicies,
    responses((status = 200, body = SlaPolicies), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_sla_policies(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<SlaPolicies>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put_sla_policies(&db, &actor, input).await?))
}

/// The business calendar in force.
#[utoipa::path(get, path = "/api/v1/settings/business-calendar", tag = "feedback",
    responses((status = 200, body = BusinessCalendarSettings), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_business_calendar(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get_business_calendar(&db, &actor).await?))
}

/// Replaces the business calendar (admin/manager).
#[utoipa::path(put, path = "/api/v1/settings/business-calendar", tag = "feedback",
    request_body = BusinessCalendarSettings,
    responses((status = 200, body = BusinessCalendarSettings), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_business_calendar(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<BusinessCalendarSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put_business_calendar(&db, &actor, input).await?))
}

/// The severity classification rules in force.
#[utoipa::path(get, path = "/api/v1/settings/feedback-classification", tag = "feedback",
    responses((status = 200, body = ClassificationSettings), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_feedback_classification(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get_classification(&db, &actor).await?))
}

/// Replaces the severity classification rules (admin/manager).
#[utoipa::path(put, path = "/api/v1/settings/feedback-classification", tag = "feedback",
    request_body = ClassificationSettings,
    responses((status = 200, body = ClassificationSettings), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_feedback_classification(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<ClassificationSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put_classification(&db, &actor, input).await?))
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
    get_sla_policies,
    replace_sla_policies,
    get_business_calendar,
    replace_business_calendar,
    get_feedback_classification,
    replace_feedback_classification,
    get_analytics_settings,
    replace_analytics_settings
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/settings/sla-policies")
            .route(web::get().to(get_sla_policies))
            .route(web::put().to(replace_sla_policies)),
    )
    .service(
        web::resource("/settings/business-calendar")
            .route(web::get().to(get_business_calendar))
            .route(web::put().to(replace_business_calendar)),
    )
    .service(
        web::resource("/settings/feedback-classification")
            .route(web::get().to(get_feedback_classification))
            .route(web::put().to(replace_feedback_classification)),
    )
    .service(
        web::resource("/settings/analytics")
            .route(web::get().to(get_analytics_settings))
            .route(web::put().to(replace_analytics_settings)),
    );
}
