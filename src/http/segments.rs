//! `/segments` (dynamic and static segments, preview, refresh, members) and
//! `/analytics/rfm` (RFM scores, labels and tiers).

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, OptionalJson, Paged, parse_id};
use super::{Db, ErrorResponses, ReadDb, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::customers::CustomerView;
use crate::contract::segments::{
    MemberChange, NewSegment, PreviewRequest, SegmentListQuery, SegmentPatch, SegmentPreview, SegmentRefresh,
    SegmentView,
};
use crate::contract::segments::{RfmDistribution, RfmRecompute, RfmRecomputeResult};
use crate::error::AppResult;
use crate::service::segments::Membership;
use crate::service::{rfm, segments};

/// Creates a segment. A dynamic segment is empty until its first refresh.
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = NewSegment,
    responses((status = 201, body = SegmentView), (status = 409, description = "name taken", body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn create_segment(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewSegment>,
) -> AppResult<HttpResponse> {
    let view = segments::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/segments/{}", view.id), view))
}

/// Lists segments, newest first.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", params(SegmentListQuery, PageQuery),
    responses((status = 200, body = Page<SegmentView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_segments(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(q, page): Filtered<SegmentListQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(segments::list(&db, &actor, q.kind, &page).await?))
}

/// Counts the customers a rule matches and shows 20 of them, without saving.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments", request_body = PreviewRequest,
    responses((status = 200, body = SegmentPreview), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn preview_segment(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<PreviewRequest>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(segments::preview(&db, &actor, &input.rule).await?))
}

/// Reads a segment.
#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SegmentView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_segment(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "segment")?;
    Ok(HttpResponse::Ok().json(segments::get(&db, &actor, id).await?))
}

/// Renames, describes or changes the rule of a segment (members follow at the next refresh).
#[utoipa::path(patch, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = uuid::Uuid, Path)),
    request_body = SegmentPatch,
    responses((status = 200, body = SegmentView),
        (status = 409, description = "The name is taken, or a rule was given to a static segment", body = super::problem::Problem),
        ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn update_segment(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<SegmentPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "segment")?;
    Ok(HttpResponse::Ok().json(segments::update(&db, &actor, id, patch).await?))
}

/// Deletes a segment with its members and history.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted"), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn delete_segment(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "segment")?;
    segments::delete(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Re-evaluates a dynamic segment: who entered and who left is recorded.
#[utoipa::path(post, path = "/api/v1/segments/{id}/refresh", tag = "segments", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SegmentRefresh),
        (status = 409, description = "A static segment", body = super::problem::Problem), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn refresh_segment(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "segment")?;
    Ok(HttpResponse::Ok().json(segments::refresh(&db, &actor, id).await?))
}

/// The segment's members, paginated like the customers list.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "segments",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<CustomerView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_segment_members(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "segment")?;
    Ok(HttpResponse::Ok().json(segments::members(&db, &actor, id, &page).await?))
}

async fn change(
    db: Db,
    actor: crate::auth::Actor,
    id: &str,
    input: MemberChange,
    membership: Membership,
) -> AppResult<HttpResponse> {
    let id = parse_id(id, "segment")?;
    Ok(HttpResponse::Ok().json(segments::change_members(&db, &actor, id, input, membership).await?))
}

/// Adds customers, by id or external id, to a static segment.
#[utoipa::path(post, path = "/api/v1/segments/{id}/members", tag = "segments", params(("id" = uuid::Uuid, Path)),
    request_body = MemberChange,
    responses((status = 200, body = SegmentView),
        (status = 409, description = "A dynamic segment", body = super::problem::Problem), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn add_segment_members(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<MemberChange>,
) -> AppResult<HttpResponse> {
    change(db, actor, &id, input, Membership::Add).await
}

/// Removes customers, by id or external id, from a static segment.
#[utoipa::path(post, path = "/api/v1/segments/{id}/members/remove", tag = "segments",
    params(("id" = uuid::Uuid, Path)), request_body = MemberChange,
    responses((status = 200, body = SegmentView),
        (status = 409, description = "A dynamic segment", body = super::problem::Problem), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn remove_segment_members(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<MemberChange>,
) -> AppResult<HttpResponse> {
    change(db, actor, &id, input, Membership::Remove).await
}

/// Customers and spend per RFM label and per (R, F, M) cell, as of the last recompute.
#[utoipa::path(get, path = "/api/v1/analytics/rfm", tag = "analytics",
    responses((status = 200, body = RfmDistribution), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_rfm_distribution(ReadDb(db): ReadDb, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rfm::distribution(&db, &actor).await?))
}

/// Recomputes RFM scores, labels, lifetime value and value tiers for every customer now.
/// The body is optional.
#[utoipa::path(post, path = "/api/v1/analytics/rfm/recompute", tag = "analytics", request_body(content = Option<RfmRecompute>, description = "Optional: an empty body uses the configured window"),
    responses((status = 200, body = RfmRecomputeResult), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn recompute_rfm(
    db: Db,
    BearerAuth(actor): BearerAuth,
    OptionalJson(input): OptionalJson<RfmRecompute>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rfm::recompute(&db, &actor, input.unwrap_or_default()).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_segment,
    list_segments,
    preview_segment,
    get_segment,
    update_segment,
    delete_segment,
    refresh_segment,
    list_segment_members,
    add_segment_members,
    remove_segment_members,
    get_rfm_distribution,
    recompute_rfm
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/segments")
            .route(web::post().to(create_segment))
            .route(web::get().to(list_segments)),
    )
    .service(web::resource("/segments/preview").route(web::post().to(preview_segment)))
    .service(
        web::resource("/segments/{id}")
            .route(web::get().to(get_segment))
            .route(web::patch().to(update_segment))
            .route(web::delete().to(delete_segment)),
    )
    .service(web::resource("/segments/{id}/refresh").route(web::post().to(refresh_segment)))
    .service(
        web::resource("/segments/{id}/members")
            .route(web::get().to(list_segment_members))
            .route(web::post().to(add_segment_members)),
    )
    .service(web::resource("/segments/{id}/members/remove").route(web::post().to(remove_segment_members)))
    .service(web::resource("/analytics/rfm").route(web::get().to(get_rfm_distribution)))
    .service(web::resource("/analytics/rfm/recompute").route(web::post().to(recompute_rfm)));
}
