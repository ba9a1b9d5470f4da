//! `/staff`: the staff directory (who manages whom, for escalations).

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Paged};
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::staff::{StaffInput, StaffView};
use crate::error::AppResult;
use crate::service::staff;

/// The staff directory, by id.
#[utoipa::path(get, path = "/api/v1/staff", tag = "tasks", params(PageQuery),
    responses((status = 200, body = Page<StaffView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_staff(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::list(&db, &actor, &page).await?))
}

/// A staff member (by token subject).
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = StaffView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_staff_member(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::get(&db, &actor, &id).await?))
}

/// Creates or replaces a staff member's entry (admin/manager); `manager_id`
/// decides where escalations go.
#[utoipa::path(put, path = "/api/v1/staff/{id}", tag = "tasks", params(("id" = String, Path)),
    request_body = StaffInput,
    responses((status = 200, body = StaffView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_staff_member(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<StaffInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::put(&db, &actor, &id, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_staff, get_staff_member, replace_staff_member))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/staff").route(web::get().to(list_staff)))
        .service(
            web::resource("/staff/{id}")
                .route(web::get().to(get_staff_member))
                .route(web::put().to(replace_staff_member)),
        );
}
