//! Contact cadence: the days between contacts per tier at
//! `/settings/cadence`, and who is past them at `/analytics/cadence/overdue`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json};
use super::{Db, ErrorResponses, ReadDb};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::cadence::{CadenceSettings, OverdueCustomer, OverdueFilter};
use crate::error::AppResult;
use crate::service::cadence;

/// Days between contacts per tier (a customer's own `cadence_days`
/// overrides its tier's), the per-owner cap on the tasks one run creates,
/// quarterly reviews, and the care moments.
#[utoipa::path(get, path = "/api/v1/settings/cadence", tag = "cadence",
    responses((status = 200, body = CadenceSettings), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_cadence_settings(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cadence::get_settings(&db, &actor).await?))
}

/// Replaces the cadence settings: each tier's days 1–365,
/// `max_tasks_per_owner` 0–10,000, `care_lead_days` 0–60.
#[utoipa::path(put, path = "/api/v1/settings/cadence", tag = "cadence", request_body = CadenceSettings,
    responses((status = 200, body = CadenceSettings), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn replace_cadence_settings(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<CadenceSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cadence::put_settings(&db, &actor, input).await?))
}

/// Customers past their contact cadence, most overdue first: more whole
/// days since the last staff-logged interaction (never contacted: since
/// the customer was created) than the days that apply. Churned and deleted
/// customers are left out; names are masked for analysts.
#[utoipa::path(get, path = "/api/v1/analytics/cadence/overdue", tag = "cadence", params(OverdueFilter, PageQuery),
    responses((status = 200, body = Page<OverdueCustomer>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_overdue(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<OverdueFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cadence::overdue(&db, &actor, &filter, &page).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_cadence_settings, replace_cadence_settings, list_overdue))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/analytics/cadence/overdue").route(web::get().to(list_overdue)))
        .service(
            web::resource("/settings/cadence")
                .route(web::get().to(get_cadence_settings))
                .route(web::put().to(replace_cadence_settings)),
        );
}
