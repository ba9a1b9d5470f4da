//! Checkout holds: `POST …/loyalty/holds` takes points for a checkout (by
//! our id, or by external id for partners), then `/loyalty/holds/{id}/capture`
//! or `/release`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{by_id, options};
use crate::auth::BearerAuth;
use crate::contract::loyalty::{HoldInput, HoldResult, HoldView, MoveQuery};
use crate::error::AppResult;
use crate::http::extract::{Json, Query, parse_id};
use crate::http::problem::Problem;
use crate::http::{Db, ErrorResponses, created};
use crate::service::loyalty::Holder;
use crate::service::loyalty::holds::{self, Settle};
use crate::service::loyalty::moves::Moved;

/// 201 with the hold's address for a new hold; 200 for one the key already
/// made, and for a simulation.
fn answer(moved: Moved<HoldResult>) -> HttpResponse {
    match moved {
        Moved::Created(r) if !r.simulated => created(format!("/api/v1/loyalty/holds/{}", r.hold.id), r),
        other => HttpResponse::Ok().json(other.into_inner()),
    }
}

async fn hold(
    db: Db,
    actor: crate::auth::Actor,
    req: &HttpRequest,
    holder: Holder,
    q: &MoveQuery,
    input: HoldInput,
) -> AppResult<HttpResponse> {
    Ok(answer(
        holds::hold(&db, &actor, &holder, input, &options(req, q)).await?,
    ))
}

/// Holds points for a checkout: they leave the spendable balance at once (a
/// redemption, oldest-expiring lots first) until the checkout captures the
/// hold or releases it; one not captured by `expires_at` goes back by itself.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/holds", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery), request_body = HoldInput,
    responses((status = 201, body = HoldResult),
        (status = 200, description = "Already made under this key, or simulated", body = HoldResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, or the key still running", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn hold_loyalty_points(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<HoldInput>,
) -> AppResult<HttpResponse> {
    hold(db, actor, &req, by_id(&id)?, &q, input).await
}

/// Holds points of a customer named by external id for a checkout.
#[utoipa::path(post, path = "/api/v1/customers/by-external-id/{external_id}/loyalty/holds", tag = "loyalty",
    params(("external_id" = String, Path), MoveQuery), request_body = HoldInput,
    responses((status = 201, body = HoldResult),
        (status = 200, description = "Already made under this key, or simulated", body = HoldResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, or the key still running", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn hold_loyalty_points_by_external_id(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    ext: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<HoldInput>,
) -> AppResult<HttpResponse> {
    hold(db, actor, &req, Holder::ExternalId(ext.into_inner()), &q, input).await
}

/// Reads a checkout's hold.
#[utoipa::path(get, path = "/api/v1/loyalty/holds/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = HoldView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_loyalty_hold(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty hold")?;
    Ok(HttpResponse::Ok().json(holds::get(&db, &actor, id).await?))
}

async fn settle(db: Db, actor: crate::auth::Actor, id: &str, how: Settle) -> AppResult<HttpResponse> {
    let id = parse_id(id, "loyalty hold")?;
    Ok(HttpResponse::Ok().json(holds::settle(&db, &actor, id, how).await?))
}

/// Captures a hold: its redemption stands. Capturing again answers the
/// same; a hold past its expiry is released instead (409).
#[utoipa::path(post, path = "/api/v1/loyalty/holds/{id}/capture", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = HoldResult),
        (status = 409, description = "Released, or expired (its points went back)", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn capture_loyalty_hold(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    settle(db, actor, &id, Settle::Capture).await
}

/// Releases a hold: its points go back into the lots they came from (the
/// answer's entry is the restore). Releasing again answers the same.
#[utoipa::path(post, path = "/api/v1/loyalty/holds/{id}/release", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = HoldResult),
        (status = 409, description = "Captured: cancel its redemption instead", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn release_loyalty_hold(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    settle(db, actor, &id, Settle::Release).await
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    hold_loyalty_points,
    hold_loyalty_points_by_external_id,
    get_loyalty_hold,
    capture_loyalty_hold,
    release_loyalty_hold,
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{id}/loyalty/holds").route(web::post().to(hold_loyalty_points)))
        .service(
            web::resource("/customers/by-external-id/{external_id}/loyalty/holds")
                .route(web::post().to(hold_loyalty_points_by_external_id)),
        )
        .service(web::resource("/loyalty/holds/{id}").route(web::get().to(get_loyalty_hold)))
        .service(web::resource("/loyalty/holds/{id}/capture").route(web::post().to(capture_loyalty_hold)))
        .service(web::resource("/loyalty/holds/{id}/release").route(web::post().to(release_loyalty_hold)));
}
