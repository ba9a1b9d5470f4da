//! `/tasks`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::tasks::{NewTask, TaskFilter, TaskPatch, TaskView};
use crate::error::AppResult;
use crate::service::tasks;

/// Creates a task (assigned to the caller unless `assignee_id` says otherwise;
/// agents only for themselves).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = TaskView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_task(db: Db, BearerAuth(actor): BearerAuth, Json(input): Json<NewTask>) -> AppResult<HttpResponse> {
    let view = tasks::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/tasks/{}", view.id), view))
}

/// Lists tasks, newest first; agents see their own.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskFilter, PageQuery),
    responses((status = 200, body = Page<TaskView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_tasks(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<TaskFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tasks::list(&db, &actor, &filter, &page).await?))
}

/// Reads a task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TaskView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_task(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "task")?;
    Ok(HttpResponse::Ok().json(tasks::get(&db, &actor, id).await?))
}

/// Works a task: status, outcome, title, due time; reassignment by admin/manager.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = uuid::Uuid, Path)),
    request_body = TaskPatch,
    responses((status = 200, body = TaskView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn update_task(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<TaskPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "task")?;
    Ok(HttpResponse::Ok().json(tasks::update(&db, &actor, id, patch).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_task, list_tasks, get_task, update_task))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tasks")
            .route(web::post().to(create_task))
            .route(web::get().to(list_tasks)),
    )
    .service(
        web::resource("/tasks/{id}")
            .route(web::get().to(get_task))
            .route(web::patch().to(update_task)),
    );
}
