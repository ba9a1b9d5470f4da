//! `/orders`: record (idempotent by external id), read, list, refund.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, OptionalJson, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::orders::{NewOrder, OrderListQuery, OrderView, RefundInput};
use crate::contract::{Page, PageQuery};
use crate::error::AppResult;
use crate::service::orders::{self, Recorded};

/// Records an order; re-sending an `external_id` answers 200 with the existing order.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = NewOrder,
    responses((status = 201, body = OrderView), (status = 200, description = "Already recorded", body = OrderView),
        (status = 409, description = "external_id used by another customer's order", body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn record_order(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewOrder>,
) -> AppResult<HttpResponse> {
    Ok(match orders::record(&db, &actor, input).await? {
        Recorded::Created(view) => created(format!("/api/v1/orders/{}", view.id), view),
        Recorded::Existing(view) => HttpResponse::Ok().json(view),
    })
}

/// Lists orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderListQuery, PageQuery),
    responses((status = 200, body = Page<OrderView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_orders(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(q, page): Filtered<OrderListQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orders::list(&db, &actor, &q, &page).await?))
}

/// Reads an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = OrderView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_order(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "order")?;
    Ok(HttpResponse::Ok().json(orders::get(&db, &actor, id).await?))
}

/// Refunds an order in full (no body) or `amount_minor` of it; refunds add
/// up, and once all is refunded the order stops counting towards spend.
/// Loyalty takes back the refunded share of the order's points.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", params(("id" = uuid::Uuid, Path)),
    request_body(content = Option<RefundInput>, description = "Leave out to refund what is left in full."),
    responses((status = 200, body = OrderView), (status = 409, description = "Already refunded", body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn refund_order(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    OptionalJson(input): OptionalJson<RefundInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "order")?;
    Ok(HttpResponse::Ok().json(orders::refund(&db, &actor, id, input.unwrap_or_default()).await?))
}

/// Completes an order refunded in full again: it counts towards spend and
/// earns its points again.
#[utoipa::path(post, path = "/api/v1/orders/{id}/reinstate", tag = "orders", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = OrderView),
        (status = 409, description = "Not refunded in full", body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn reinstate_order(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "order")?;
    Ok(HttpResponse::Ok().json(orders::reinstate(&db, &actor, id).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(record_order, list_orders, get_order, refund_order, reinstate_order))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::post().to(record_order))
            .route(web::get().to(list_orders)),
    )
    .service(web::resource("/orders/{id}").route(web::get().to(get_order)))
    .service(web::resource("/orders/{id}/refund").route(web::post().to(refund_order)))
    .service(web::resource("/orders/{id}/reinstate").route(web::post().to(reinstate_order)));
}
