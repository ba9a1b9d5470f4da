//! `/jobs`: the background jobs, their last runs, and running one now.

use actix_web::{HttpResponse, web};

use super::ErrorResponses;
use crate::auth::BearerAuth;
use crate::contract::jobs::{JobTrigger, JobView};
use crate::error::AppResult;
use crate::service::jobs::{self, JobContext};

/// Every job: schedule, whether it runs now, last run and outcome.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations",
    responses((status = 200, body = Vec<JobView>), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn list_jobs(ctx: web::Data<JobContext>, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(jobs::list(&ctx, &actor).await?))
}

/// Runs a job now and answers when it has finished, with the run's outcome
/// (a failed run is `200` with `last_outcome: failed`); `409` while another
/// instance runs it.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/run", tag = "operations",
    params(("name" = crate::contract::jobs::JobName, Path)),
    responses((status = 200, body = JobView), ErrorResponses,
        (status = 409, description = "Running on another instance", body = crate::http::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn run_job(
    ctx: web::Data<JobContext>,
    BearerAuth(actor): BearerAuth,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    crate::auth::policy::administer(&actor)?;
    let job = jobs::parse_name(&name)?;
    Ok(HttpResponse::Ok().json(jobs::run_now(&ctx, &actor, job, JobTrigger::Api).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_jobs, run_job))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/jobs").route(web::get().to(list_jobs)))
        .service(web::resource("/jobs/{name}/run").route(web::post().to(run_job)));
}
