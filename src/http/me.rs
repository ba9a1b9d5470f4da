//! `/me`: the signed-in customer's own profile.

use actix_web::{HttpResponse, web};

use super::extract::Json;
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::customers::{MyProfilePatch, MyProfileView};
use crate::error::AppResult;
use crate::service::customers;

/// The signed-in customer's profile (customer tokens only).
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = MyProfileView), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn get_my_profile(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(MyProfileView::from(customers::get_me(&db, &actor).await?)))
}

/// Updates the fields a customer may change about itself.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = MyProfilePatch,
    responses((status = 200, body = MyProfileView), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn update_my_profile(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(patch): Json<MyProfilePatch>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(MyProfileView::from(
        customers::update_me(&db, &actor, patch.into()).await?,
    )))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_my_profile, update_my_profile))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/me")
            .route(web::get().to(get_my_profile))
            .route(web::patch().to(update_my_profile)),
    );
}
