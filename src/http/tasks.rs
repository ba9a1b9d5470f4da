//! `/tasks`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::tasks::{NewTask, TaskFilter, TaskPatch, TaskReassign, TaskReassigned, TaskView};
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

/// Hands open tasks to someone else (admin/manager): the ones named in
/// `task_ids` (1–500), or every open task of `from_assignee_id` — one of
/// the two. Closed tasks are left as they are.
#[utoipa::path(post, path = "/api/v1/tasks/reassign", tag = "tasks", request_body = TaskReassign,
    responses((status = 200, body = TaskReassigned), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn reassign_tasks(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<TaskReassign>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tasks::reassign(&db, &actor, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_task, list_tasks, get_task, update_task, reassign_tasks))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tasks/reassign").route(web::post().to(reassign_tasks)))
        .service(
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
