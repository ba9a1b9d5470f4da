//! `/webhooks`: subscriptions, their deliveries and log, tests, redelivery,
//! secret rotation and replays (admin).

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Paged, parse_id};
use super::problem::Problem;
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::webhooks::{
    AttemptView, DeliveryFilter, DeliveryView, NewWebhook, ReplayRequest, ReplayView, WebhookPatch, WebhookView,
};
use crate::contract::{Page, PageQuery};
use crate::error::AppResult;
use crate::service::jobs::JobContext;
use crate::service::webhooks::{self, delivery};

type Ctx = web::Data<JobContext>;

/// Subscribes a URL to event types; the answer carries the signing secret
/// (`whsec_…`), shown again only on rotation.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn create_webhook(
    ctx: Ctx,
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewWebhook>,
) -> AppResult<HttpResponse> {
    let view = webhooks::create(&db, &ctx.webhooks, &actor, input).await?;
    Ok(created(format!("/api/v1/webhooks/{}", view.id), view))
}

/// Subscriptions, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = Page<WebhookView>), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn list_webhooks(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(webhooks::list(&db, &actor, &page).await?))
}

/// A subscription.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = WebhookView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn get_webhook(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(webhooks::get(&db, &actor, id).await?))
}

/// Changes URL, types, description or the active flag; turning a
/// subscription on again clears what turned it off.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn update_webhook(
    ctx: Ctx,
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<WebhookPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(webhooks::update(&db, &ctx.webhooks, &actor, id, patch).await?))
}

/// Deletes a subscription, its deliveries and its log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted"), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn delete_webhook(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    webhooks::delete(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret; the old one keeps signing beside it (a second signature in
/// `webhook-signature`) for `RAPPORT__WEBHOOKS__SECRET_OVERLAP_SECS`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = WebhookView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn rotate_webhook_secret(
    ctx: Ctx,
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(webhooks::rotate_secret(&db, &ctx.webhooks, &actor, id).await?))
}

/// Sends a `webhook.test` message now and answers with the delivery after
/// its first attempt (`last_status_code`; the log has the answer).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = DeliveryView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn test_webhook(ctx: Ctx, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(delivery::send_test(&ctx.db, &ctx.webhooks, &actor, id).await?))
}

/// A subscription's deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = uuid::Uuid, Path), DeliveryFilter, PageQuery),
    responses((status = 200, body = Page<DeliveryView>), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn list_webhook_deliveries(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(filter, page): Filtered<DeliveryFilter>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(webhooks::deliveries(&db, &actor, id, &filter, &page).await?))
}

/// The delivery log: every attempt, newest first, with status, latency and
/// up to 1 kB of the answer.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/attempts", tag = "webhooks",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<AttemptView>), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn list_webhook_attempts(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    Ok(HttpResponse::Ok().json(webhooks::attempts(&db, &actor, id, &page).await?))
}

/// Sends one finished delivery once more, now.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = uuid::Uuid, Path), ("delivery_id" = uuid::Uuid, Path)),
    responses((status = 200, body = DeliveryView), ErrorResponses,
        (status = 409, description = "Still pending", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn redeliver_webhook_delivery(
    db: Db,
    BearerAuth(actor): BearerAuth,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&path.0, "webhook")?;
    let delivery = parse_id(&path.1, "delivery")?;
    Ok(HttpResponse::Ok().json(webhooks::redeliver(&db, &actor, id, delivery).await?))
}

/// Queues the deliveries made in `[since, until)` in one state (default
/// `failed`; with it, the events of the range the subscription never got)
/// to be sent again, as a background job.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = uuid::Uuid, Path)),
    request_body = ReplayRequest,
    responses((status = 202, body = ReplayView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn replay_webhook(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<ReplayRequest>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    let view = webhooks::replay(&db, &actor, id, input).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/webhooks/{id}/replays/{}", view.id),
        ))
        .json(view))
}

/// How a replay went.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/replays/{replay_id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path), ("replay_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ReplayView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn get_webhook_replay(
    db: Db,
    BearerAuth(actor): BearerAuth,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&path.0, "webhook")?;
    let replay = parse_id(&path.1, "replay")?;
    Ok(HttpResponse::Ok().json(webhooks::get_replay(&db, &actor, id, replay).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_webhook_secret,
    test_webhook,
    list_webhook_deliveries,
    list_webhook_attempts,
    redeliver_webhook_delivery,
    replay_webhook,
    get_webhook_replay
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks")
            .route(web::post().to(create_webhook))
            .route(web::get().to(list_webhooks)),
    )
    .service(
        web::resource("/webhooks/{id}")
            .route(web::get().to(get_webhook))
            .route(web::patch().to(update_webhook))
            .route(web::delete().to(delete_webhook)),
    )
    .service(web::resource("/webhooks/{id}/rotate-secret").route(web::post().to(rotate_webhook_secret)))
    .service(web::resource("/webhooks/{id}/test").route(web::post().to(test_webhook)))
    .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(list_webhook_deliveries)))
    .service(web::resource("/webhooks/{id}/attempts").route(web::get().to(list_webhook_attempts)))
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}/redeliver")
            .route(web::post().to(redeliver_webhook_delivery)),
    )
    .service(web::resource("/webhooks/{id}/replay").route(web::post().to(replay_webhook)))
    .service(web::resource("/webhooks/{id}/replays/{replay_id}").route(web::get().to(get_webhook_replay)));
}
