//! Failed payments: `/customers/{id}/payment-failures` and
//! `/payment-failures/{id}/recover`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, NoFilter, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::payments::{NewPaymentFailure, PaymentFailureView};
use crate::error::AppResult;
use crate::service::payments;

/// Records a failed payment of a customer, as the shop or billing system
/// reports it (agents: customers they own); emits `payment.failed`. An
/// outstanding failure of the last 90 days shows as the `payment_failed`
/// risk on the customer's health.
#[utoipa::path(post, path = "/api/v1/customers/{id}/payment-failures", tag = "orders",
    params(("id" = uuid::Uuid, Path)), request_body = NewPaymentFailure,
    responses((status = 201, body = PaymentFailureView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn record_payment_failure(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewPaymentFailure>,
) -> AppResult<HttpResponse> {
    let customer_id = parse_id(&id, "customer")?;
    let view = payments::record(&db, &actor, customer_id, input).await?;
    Ok(created(
        format!("/api/v1/customers/{customer_id}/payment-failures"),
        view,
    ))
}

/// A customer's failed payments, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/payment-failures", tag = "orders",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<PaymentFailureView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_payment_failures(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(NoFilter {}, page): Filtered<NoFilter>,
) -> AppResult<HttpResponse> {
    let customer_id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(payments::list(&db, &actor, customer_id, &page).await?))
}

/// Marks a failed payment recovered: the money came in after all. Emits
/// `payment.recovered` once; calling it again changes nothing.
#[utoipa::path(post, path = "/api/v1/payment-failures/{id}/recover", tag = "orders",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = PaymentFailureView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn recover_payment_failure(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "payment failure")?;
    Ok(HttpResponse::Ok().json(payments::recover(&db, &actor, id).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(record_payment_failure, list_payment_failures, recover_payment_failure))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/{id}/payment-failures")
            .route(web::post().to(record_payment_failure))
            .route(web::get().to(list_payment_failures)),
    )
    .service(web::resource("/payment-failures/{id}/recover").route(web::post().to(recover_payment_failure)));
}
