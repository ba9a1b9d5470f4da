//! The needs register: `/customers/{id}/needs`, `/needs/{id}` with its
//! transitions, history, links and tasks, `/customers/{id}/success-plan`,
//! `/me/needs`, `/settings/needs` and `/analytics/needs`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, NoFilter, Query, parse_id};
use super::{Db, ErrorResponses, ReadDb, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::needs::{
    MyNeedView, NeedEventView, NeedFilter, NeedLinkInput, NeedLinkView, NeedPatch, NeedReport, NeedReportQuery,
    NeedSettings, NeedTaskInput, NeedTransition, NeedView, NewNeed, SuccessPlan,
};
use crate::contract::tasks::TaskView;
use crate::error::AppResult;
use crate::service::needs;

/// Records a need of a customer (agents: customers they own). The quadrant
/// follows from urgency and importance; the owner defaults to the
/// customer's owner, else the caller.
#[utoipa::path(post, path = "/api/v1/customers/{id}/needs", tag = "needs", params(("id" = uuid::Uuid, Path)),
    request_body = NewNeed,
    responses((status = 201, body = NeedView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_need(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewNeed>,
) -> AppResult<HttpResponse> {
    let customer_id = parse_id(&id, "customer")?;
    let view = needs::create(&db, &actor, customer_id, input).await?;
    Ok(created(format!("/api/v1/needs/{}", view.id), view))
}

/// A customer's needs, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/needs", tag = "needs",
    params(("id" = uuid::Uuid, Path), NeedFilter, PageQuery),
    responses((status = 200, body = Page<NeedView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_customer_needs(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(filter, page): Filtered<NeedFilter>,
) -> AppResult<HttpResponse> {
    let customer_id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(needs::list_for_customer(&db, &actor, customer_id, &filter, &page).await?))
}

/// Needs across customers, newest first (agents: of the customers they own).
#[utoipa::path(get, path = "/api/v1/needs", tag = "needs", params(NeedFilter, PageQuery),
    responses((status = 200, body = Page<NeedView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_needs(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<NeedFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(needs::list(&db, &actor, &filter, &page).await?))
}

/// Reads a need.
#[utoipa::path(get, path = "/api/v1/needs/{id}", tag = "needs", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = NeedView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_need(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::get(&db, &actor, id).await?))
}

/// Changes a need's description fields (not its status); `409` once it is
/// delivered, declined or withdrawn.
#[utoipa::path(patch, path = "/api/v1/needs/{id}", tag = "needs", params(("id" = uuid::Uuid, Path)),
    request_body = NeedPatch,
    responses((status = 200, body = NeedView),
        (status = 409, description = "The need is delivered, declined or withdrawn", body = super::problem::Problem),
        ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn update_need(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<NeedPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::update(&db, &actor, id, patch).await?))
}

/// Moves a need's status; a move the status does not allow is `409`.
#[utoipa::path(post, path = "/api/v1/needs/{id}/transitions", tag = "needs", params(("id" = uuid::Uuid, Path)),
    request_body = NeedTransition,
    responses((status = 200, body = NeedView),
        (status = 409, description = "Not allowed from the current status; the detail lists the allowed ones",
            body = super::problem::Problem),
        ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn transition_need(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NeedTransition>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::transition(&db, &actor, id, input).await?))
}

/// A need's history, newest first: every change with actor and time.
#[utoipa::path(get, path = "/api/v1/needs/{id}/history", tag = "needs", params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<NeedEventView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_need_history(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(NoFilter {}, page): Filtered<NoFilter>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::history(&db, &actor, id, &page).await?))
}

/// A need's links to tasks and interactions, oldest first.
#[utoipa::path(get, path = "/api/v1/needs/{id}/links", tag = "needs", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<NeedLinkView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_need_links(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::links(&db, &actor, id).await?))
}

/// Links a need to a task or an interaction of the same customer (a second
/// link to the same item keeps one).
#[utoipa::path(post, path = "/api/v1/needs/{id}/links", tag = "needs", params(("id" = uuid::Uuid, Path)),
    request_body = NeedLinkInput,
    responses((status = 200, body = NeedLinkView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn link_need(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NeedLinkInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    Ok(HttpResponse::Ok().json(needs::link(&db, &actor, id, input).await?))
}

/// Spawns a follow-up task from a need, linked to it.
#[utoipa::path(post, path = "/api/v1/needs/{id}/tasks", tag = "needs", params(("id" = uuid::Uuid, Path)),
    request_body = NeedTaskInput,
    responses((status = 201, body = TaskView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_need_task(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NeedTaskInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "need")?;
    let view = needs::spawn_task(&db, &actor, id, input).await?;
    Ok(created(format!("/api/v1/tasks/{}", view.id), view))
}

/// The customer's success plan: open needs as objectives, most pressing
/// quadrant first, with their linked tasks, progress and next due date.
#[utoipa::path(get, path = "/api/v1/customers/{id}/success-plan", tag = "needs", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SuccessPlan), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_success_plan(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let customer_id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(needs::success_plan(&db, &actor, customer_id).await?))
}

/// The caller's needs it has confirmed, and their status (customers).
#[utoipa::path(get, path = "/api/v1/me/needs", tag = "needs",
    responses((status = 200, body = Vec<MyNeedView>), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn list_my_needs(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(needs::mine(&db, &actor).await?))
}

/// How long an open need of each quadrant may stay open before it is
/// unmet (days; `null`: no limit).
#[utoipa::path(get, path = "/api/v1/settings/needs", tag = "needs",
    responses((status = 200, body = NeedSettings), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_need_settings(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(needs::get_settings(&db, &actor).await?))
}

/// Replaces the needs settings: each limit 1–3650 days or `null`; a field
/// left out takes its default.
#[utoipa::path(put, path = "/api/v1/settings/needs", tag = "needs", request_body = NeedSettings,
    responses((status = 200, body = NeedSettings), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_need_settings(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NeedSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(needs::put_settings(&db, &actor, input).await?))
}

/// The needs report: by quadrant, status, owner and tier with unmet counts,
/// ages of open needs, deliveries per month, and key-tier customers with
/// unmet do-now needs (names masked for analysts).
#[utoipa::path(get, path = "/api/v1/analytics/needs", tag = "needs", params(NeedReportQuery),
    responses((status = 200, body = NeedReport), ErrorResponses), security(("bearer" = ["admin", "manager", "analyst"])))]
pub async fn get_need_report(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Query(q): Query<NeedReportQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(needs::report(&db, &actor, &q).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_need,
    list_customer_needs,
    list_needs,
    get_need,
    update_need,
    transition_need,
    list_need_history,
    list_need_links,
    link_need,
    create_need_task,
    get_success_plan,
    list_my_needs,
    get_need_settings,
    replace_need_settings,
    get_need_report
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/{id}/needs")
            .route(web::post().to(create_need))
            .route(web::get().to(list_customer_needs)),
    )
    .service(web::resource("/customers/{id}/success-plan").route(web::get().to(get_success_plan)))
    .service(web::resource("/needs").route(web::get().to(list_needs)))
    .service(
        web::resource("/needs/{id}")
            .route(web::get().to(get_need))
            .route(web::patch().to(update_need)),
    )
    .service(web::resource("/needs/{id}/transitions").route(web::post().to(transition_need)))
    .service(web::resource("/needs/{id}/history").route(web::get().to(list_need_history)))
    .service(
        web::resource("/needs/{id}/links")
            .route(web::get().to(list_need_links))
            .route(web::post().to(link_need)),
    )
    .service(web::resource("/needs/{id}/tasks").route(web::post().to(create_need_task)))
    .service(web::resource("/me/needs").route(web::get().to(list_my_needs)))
    .service(
        web::resource("/settings/needs")
            .route(web::get().to(get_need_settings))
            .route(web::put().to(replace_need_settings)),
    )
    .service(web::resource("/analytics/needs").route(web::get().to(get_need_report)));
}
