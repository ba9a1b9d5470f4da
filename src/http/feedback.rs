//! `/feedback`, `/me/feedback` and the feedback report.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Paged, Query, parse_id};
use super::{Db, ErrorResponses, ReadDb, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::feedback::{
    FeedbackEventView, FeedbackFilter, FeedbackPatch, FeedbackReport, FeedbackReportQuery, FeedbackView,
    MyFeedbackView, NewComment, NewFeedback, Transition,
};
use crate::contract::needs::{AdoptSuggestion, Adoption};
use crate::domain::pagination::PageRequest;
use crate::error::AppResult;
use crate::service::feedback::History;
use crate::service::{feedback, feedback_report};

/// Files feedback for a customer. Without `severity` the classification
/// rules decide (the item's `severity_rule` says which); both SLA clocks start.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "feedback", request_body = NewFeedback,
    responses((status = 201, body = FeedbackView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewFeedback>,
) -> AppResult<HttpResponse> {
    let view = feedback::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/feedback/{}", view.id), view))
}

/// Lists feedback, newest first.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "feedback", params(FeedbackFilter, PageQuery),
    responses((status = 200, body = Page<FeedbackView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<FeedbackFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(feedback::list(&db, &actor, &filter, &page).await?))
}

/// Reads a feedback item with its SLA clocks.
#[utoipa::path(get, path = "/api/v1/feedback/{id}", tag = "feedback", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = FeedbackView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_feedback(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::get(&db, &actor, id).await?))
}

/// Changes severity (the SLA targets follow) or assignment (admin/manager).
#[utoipa::path(patch, path = "/api/v1/feedback/{id}", tag = "feedback", params(("id" = uuid::Uuid, Path)),
    request_body = FeedbackPatch,
    responses((status = 200, body = FeedbackView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn update_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<FeedbackPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::update(&db, &actor, id, patch).await?))
}

/// Moves an item: new → acknowledged → in_progress ⇄ waiting_customer →
/// resolved → closed; resolved or closed → in_progress reopens. Agents move
/// only items assigned to them.
#[utoipa::path(post, path = "/api/v1/feedback/{id}/transitions", tag = "feedback",
    params(("id" = uuid::Uuid, Path)), request_body = Transition,
    responses((status = 200, body = FeedbackView),
        (status = 409, description = "Not allowed from the current state; the detail lists the allowed ones",
            body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn transition_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<Transition>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::transition(&db, &actor, id, input).await?))
}

/// Adopts a suggestion: the customer receives the configured bonus points
/// once (`/settings/needs`), `feedback.suggestion_adopted` is emitted, and a
/// need is recorded when the settings ask. Adopting again answers the
/// adoption already made and credits nothing.
#[utoipa::path(post, path = "/api/v1/feedback/{id}/adopt", tag = "feedback",
    params(("id" = uuid::Uuid, Path)), request_body = AdoptSuggestion,
    responses((status = 200, body = Adoption),
        (status = 409, description = "The item is no suggestion", body = super::problem::Problem),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn adopt_suggestion(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<AdoptSuggestion>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::adopt(&db, &actor, id, input).await?))
}

async fn history(
    db: Db,
    actor: crate::auth::Actor,
    id: &str,
    which: History,
    page: PageRequest,
) -> AppResult<HttpResponse> {
    let id = parse_id(id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::events(&db, &actor, id, which, &page).await?))
}

/// The item's history, oldest first: every state, assignment, severity and
/// SLA change and every comment, with actor and time.
#[utoipa::path(get, path = "/api/v1/feedback/{id}/events", tag = "feedback",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<FeedbackEventView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_feedback_events(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    history(db, actor, &id, History::All, page).await
}

/// The item's comments, oldest first.
#[utoipa::path(get, path = "/api/v1/feedback/{id}/comments", tag = "feedback",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<FeedbackEventView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_feedback_comments(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    history(db, actor, &id, History::Comments, page).await
}

/// Comments on an item.
#[utoipa::path(post, path = "/api/v1/feedback/{id}/comments", tag = "feedback",
    params(("id" = uuid::Uuid, Path)), request_body = NewComment,
    responses((status = 201, body = FeedbackEventView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_feedback_comment(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewComment>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    let view = feedback::comment(&db, &actor, id, input).await?;
    Ok(created(format!("/api/v1/feedback/{id}/comments"), view))
}

/// Files feedback as the signed-in customer.
#[utoipa::path(post, path = "/api/v1/me/feedback", tag = "me", request_body = NewFeedback,
    responses((status = 201, body = MyFeedbackView), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn create_my_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewFeedback>,
) -> AppResult<HttpResponse> {
    let view = feedback::create_mine(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/me/feedback/{}", view.id), view))
}

/// The signed-in customer's feedback, newest first.
#[utoipa::path(get, path = "/api/v1/me/feedback", tag = "me", params(PageQuery),
    responses((status = 200, body = Page<MyFeedbackView>), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn list_my_feedback(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(feedback::list_mine(&db, &actor, &page).await?))
}

/// One of the signed-in customer's items.
#[utoipa::path(get, path = "/api/v1/me/feedback/{id}", tag = "me", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = MyFeedbackView), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn get_my_feedback(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "feedback")?;
    Ok(HttpResponse::Ok().json(feedback::get_mine(&db, &actor, id).await?))
}

/// Volumes, response and resolution times (median, p90), SLA attainment,
/// top keywords and weekly sentiment of the items created in a window.
#[utoipa::path(get, path = "/api/v1/analytics/feedback", tag = "feedback", params(FeedbackReportQuery),
    responses((status = 200, body = FeedbackReport), ErrorResponses), security(("bearer" = ["admin", "manager", "analyst", "partner"])))]
pub async fn get_feedback_report(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Query(q): Query<FeedbackReportQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(feedback_report::report(&db, &actor, q).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_feedback,
    list_feedback,
    get_feedback,
    update_feedback,
    transition_feedback,
    adopt_suggestion,
    list_feedback_events,
    list_feedback_comments,
    create_feedback_comment,
    create_my_feedback,
    list_my_feedback,
    get_my_feedback,
    get_feedback_report
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/feedback")
            .route(web::post().to(create_feedback))
            .route(web::get().to(list_feedback)),
    )
    .service(
        web::resource("/feedback/{id}")
            .route(web::get().to(get_feedback))
            .route(web::patch().to(update_feedback)),
    )
    .service(web::resource("/feedback/{id}/transitions").route(web::post().to(transition_feedback)))
    .service(web::resource("/feedback/{id}/adopt").route(web::post().to(adopt_suggestion)))
    .service(web::resource("/feedback/{id}/events").route(web::get().to(list_feedback_events)))
    .service(
        web::resource("/feedback/{id}/comments")
            .route(web::get().to(list_feedback_comments))
            .route(web::post().to(create_feedback_comment)),
    )
    .service(
        web::resource("/me/feedback")
            .route(web::post().to(create_my_feedback))
            .route(web::get().to(list_my_feedback)),
    )
    .service(web::resource("/me/feedback/{id}").route(web::get().to(get_my_feedback)))
    .service(web::resource("/analytics/feedback").route(web::get().to(get_feedback_report)));
}
