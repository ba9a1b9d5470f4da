//! `/surveys`, their invitations, results and responses; `/settings/surveys`;
//! answering by token at `/public/survey-invitations/{token}`; and the
//! signed-in customer's `/me/surveys`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Query, parse_id};
use super::problem::Problem;
use super::{Db, ErrorResponses, ReadDb, created};
use crate::auth::BearerAuth;
use crate::contract::surveys::{
    AnswersInput, FinishInput, InvitationFilter, InvitationReport, InvitationView, IssuedToken, MySurvey,
    NewInvitations, NewSurvey, PublicInvitation, ReminderReport, ResponseFilter, ResponseView, ResultsQuery,
    SurveyFilter, SurveyPatch, SurveyResults, SurveySettings, SurveyView,
};
use crate::contract::{Page, PageQuery};
use crate::error::AppResult;
use crate::service::surveys;

/// Creates a survey (a draft). NPS, CSAT and CES surveys ask their score
/// and a comment; custom surveys give 1–50 questions.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", request_body = NewSurvey,
    responses((status = 201, body = SurveyView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn create_survey(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewSurvey>,
) -> AppResult<HttpResponse> {
    let view = surveys::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/surveys/{}", view.id), view))
}

/// Lists surveys, newest first.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", params(SurveyFilter, PageQuery),
    responses((status = 200, body = Page<SurveyView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn list_surveys(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<SurveyFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::list(&db, &actor, &filter, &page).await?))
}

/// Reads a survey.
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = SurveyView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_survey(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::get(&db, &actor, id).await?))
}

/// Changes a survey: name, fatigue, expiry, reminders, trigger, status
/// (draft → active → closed), and questions while no response exists.
#[utoipa::path(patch, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = uuid::Uuid, Path)),
    request_body = SurveyPatch,
    responses((status = 200, body = SurveyView),
        (status = 409, description = "A move the lifecycle does not allow, or questions changed after a response",
            body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn update_survey(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<SurveyPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::update(&db, &actor, id, patch).await?))
}

/// Invites customers to an active survey: a segment's members, customers by
/// id or by external id, each once. Customers the fatigue rules hold back
/// are skipped and counted by reason. The tokens come back once, here.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/invitations", tag = "surveys", params(("id" = uuid::Uuid, Path)),
    request_body = NewInvitations,
    responses((status = 200, body = InvitationReport),
        (status = 409, description = "The survey is not active", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn send_invitations(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewInvitations>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::send(&db, &actor, id, input).await?))
}

/// Lists a survey's invitations, newest first; agents see those of their customers.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/invitations", tag = "surveys",
    params(("id" = uuid::Uuid, Path), InvitationFilter, PageQuery),
    responses((status = 200, body = Page<InvitationView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_invitations(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(filter, page): Filtered<InvitationFilter>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::list_invitations(&db, &actor, id, &filter, &page).await?))
}

/// Reminds the unfinished, unexpired invitations that have not had the
/// survey's `max_reminders` yet; reminders count as sends for fatigue.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/invitations/remind", tag = "surveys",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ReminderReport),
        (status = 409, description = "The survey is not active", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn remind_invitations(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::remind(&db, &actor, id).await?))
}

/// Issues a new token for an unfinished invitation (a triggered one, or a
/// lost link); the old token stops working.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/invitations/{invitation_id}/token", tag = "surveys",
    params(("id" = uuid::Uuid, Path), ("invitation_id" = uuid::Uuid, Path)),
    responses((status = 200, body = IssuedToken),
        (status = 409, description = "The invitation is answered or expired", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn issue_invitation_token(
    db: Db,
    BearerAuth(actor): BearerAuth,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&path.0, "survey")?;
    let invitation = parse_id(&path.1, "survey invitation")?;
    Ok(HttpResponse::Ok().json(surveys::issue_token(&db, &actor, id, invitation).await?))
}

/// A survey's results: responses and rate, NPS / CSAT / mean with 95%
/// adjusted-Wald intervals, the trend with significant changes flagged, a
/// breakdown, and each question's distribution. Partners and analysts see
/// groups under the settings' `min_group_size` suppressed; agents see their
/// customers' responses.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "surveys",
    params(("id" = uuid::Uuid, Path), ResultsQuery),
    responses((status = 200, body = SurveyResults), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn survey_results(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Query(q): Query<ResultsQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::results(&db, &actor, id, q).await?))
}

/// A survey's responses, newest first; comments masked for analysts.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/responses", tag = "surveys",
    params(("id" = uuid::Uuid, Path), ResponseFilter, PageQuery),
    responses((status = 200, body = Page<ResponseView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_responses(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(filter, page): Filtered<ResponseFilter>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    Ok(HttpResponse::Ok().json(surveys::list_responses(&db, &actor, id, &filter, &page).await?))
}

/// The survey rules in force: fatigue windows, the follow-up survey, what a
/// low follow-up score does, and the results' thresholds.
#[utoipa::path(get, path = "/api/v1/settings/surveys", tag = "surveys",
    responses((status = 200, body = SurveySettings), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_survey_settings(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::get_settings(&db, &actor).await?))
}

/// Replaces the survey rules.
#[utoipa::path(put, path = "/api/v1/settings/surveys", tag = "surveys", request_body = SurveySettings,
    responses((status = 200, body = SurveySettings), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_survey_settings(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<SurveySettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::put_settings(&db, &actor, input).await?))
}

/// Errors of answering by token.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum TokenErrors {
    /// No invitation has this token.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The invitation has been answered; its response is final.
    #[response(status = 409, content_type = "application/problem+json")]
    Answered(Problem),
    /// The invitation expired (`code` `invitation_expired`) or the survey
    /// closed (`survey_closed`).
    #[response(status = 410, content_type = "application/problem+json")]
    Gone(Problem),
    /// An answer failed its question's rules; `errors[].path` is `answers.<question id>`.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// The invitation behind a link's token, in the customer's language, with
/// the answers saved so far. No login: the token is the credential.
#[utoipa::path(get, path = "/api/v1/public/survey-invitations/{token}", tag = "surveys",
    params(("token" = String, Path)),
    responses((status = 200, body = PublicInvitation), TokenErrors))]
pub async fn open_invitation(db: Db, token: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::open_by_token(&db, &token).await?))
}

/// Saves answers while the response is partial: a score clicked in an
/// e-mail counts at once, a comment can follow on the same token. Answers
/// not named stay; `null` clears one.
#[utoipa::path(put, path = "/api/v1/public/survey-invitations/{token}/response", tag = "surveys",
    params(("token" = String, Path)), request_body = AnswersInput,
    responses((status = 200, body = PublicInvitation), TokenErrors))]
pub async fn save_invitation_response(
    db: Db,
    token: web::Path<String>,
    Json(input): Json<AnswersInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::save_by_token(&db, &token, input).await?))
}

/// Finishes the response (with any last answers): required questions must
/// be answered; the response is then final.
#[utoipa::path(post, path = "/api/v1/public/survey-invitations/{token}/response/finish", tag = "surveys",
    params(("token" = String, Path)), request_body = FinishInput,
    responses((status = 200, body = PublicInvitation), TokenErrors))]
pub async fn finish_invitation_response(
    db: Db,
    token: web::Path<String>,
    Json(input): Json<FinishInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::finish_by_token(&db, &token, input).await?))
}

/// The signed-in customer's survey invitations, newest first.
#[utoipa::path(get, path = "/api/v1/me/surveys", tag = "me",
    responses((status = 200, body = Vec<MySurvey>), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn list_my_surveys(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(surveys::list_mine(&db, &actor).await?))
}

/// One of the signed-in customer's invitations, to answer.
#[utoipa::path(get, path = "/api/v1/me/surveys/{id}", tag = "me", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = PublicInvitation), TokenErrors, ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn open_my_survey(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey invitation")?;
    Ok(HttpResponse::Ok().json(surveys::open_mine(&db, &actor, id).await?))
}

/// Saves the signed-in customer's answers while partial.
#[utoipa::path(put, path = "/api/v1/me/surveys/{id}/response", tag = "me", params(("id" = uuid::Uuid, Path)),
    request_body = AnswersInput,
    responses((status = 200, body = PublicInvitation), TokenErrors, ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn save_my_survey_response(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<AnswersInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey invitation")?;
    Ok(HttpResponse::Ok().json(surveys::save_mine(&db, &actor, id, input).await?))
}

/// Finishes the signed-in customer's response.
#[utoipa::path(post, path = "/api/v1/me/surveys/{id}/response/finish", tag = "me", params(("id" = uuid::Uuid, Path)),
    request_body = FinishInput,
    responses((status = 200, body = PublicInvitation), TokenErrors, ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn finish_my_survey_response(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<FinishInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey invitation")?;
    Ok(HttpResponse::Ok().json(surveys::finish_mine(&db, &actor, id, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_survey,
    list_surveys,
    get_survey,
    update_survey,
    send_invitations,
    list_invitations,
    remind_invitations,
    issue_invitation_token,
    survey_results,
    list_responses,
    get_survey_settings,
    replace_survey_settings,
    open_invitation,
    save_invitation_response,
    finish_invitation_response,
    list_my_surveys,
    open_my_survey,
    save_my_survey_response,
    finish_my_survey_response
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/surveys")
            .route(web::post().to(create_survey))
            .route(web::get().to(list_surveys)),
    )
    .service(
        web::resource("/surveys/{id}")
            .route(web::get().to(get_survey))
            .route(web::patch().to(update_survey)),
    )
    .service(
        web::resource("/surveys/{id}/invitations")
            .route(web::post().to(send_invitations))
            .route(web::get().to(list_invitations)),
    )
    .service(web::resource("/surveys/{id}/invitations/remind").route(web::post().to(remind_invitations)))
    .service(
        web::resource("/surveys/{id}/invitations/{invitation_id}/token").route(web::post().to(issue_invitation_token)),
    )
    .service(web::resource("/surveys/{id}/results").route(web::get().to(survey_results)))
    .service(web::resource("/surveys/{id}/responses").route(web::get().to(list_responses)))
    .service(
        web::resource("/settings/surveys")
            .route(web::get().to(get_survey_settings))
            .route(web::put().to(replace_survey_settings)),
    )
    .service(web::resource("/public/survey-invitations/{token}").route(web::get().to(open_invitation)))
    .service(
        web::resource("/public/survey-invitations/{token}/response").route(web::put().to(save_invitation_response)),
    )
    .service(
        web::resource("/public/survey-invitations/{token}/response/finish")
            .route(web::post().to(finish_invitation_response)),
    )
    .service(web::resource("/me/surveys").route(web::get().to(list_my_surveys)))
    .service(web::resource("/me/surveys/{id}").route(web::get().to(open_my_survey)))
    .service(web::resource("/me/surveys/{id}/response").route(web::put().to(save_my_survey_response)))
    .service(web::resource("/me/surveys/{id}/response/finish").route(web::post().to(finish_my_survey_response)));
}
