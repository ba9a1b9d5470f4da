//! `/events`: the pull feed over the event log.

use actix_web::{HttpResponse, web};

use super::extract::Query;
use super::{Db, ErrorResponses};
use crate::auth::BearerAuth;
use crate::contract::events::{EventFeed, EventQuery};
use crate::error::AppResult;
use crate::service::events;

/// Events in commit order after a position, for integrations catching up.
/// Poll with `next_cursor`; each event's `id` is the `webhook-id` of its
/// deliveries, so a consumer of both de-duplicates by it.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = EventFeed), ErrorResponses), security(("bearer" = ["admin", "partner"])))]
pub async fn list_events(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Query(query): Query<EventQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(events::feed(&db, &actor, &query).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_events))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/events").route(web::get().to(list_events)));
}
