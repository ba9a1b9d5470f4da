//! `/tasks` and `/staff`.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Query, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::Page;
use crate::contract::PageQuery;
use crate::contract::staff::{StaffInput, StaffView};
use crate::contract::tasks::{NewTask, TaskFilter, TaskPatch, TaskView};
use crate::domain::pagination::PageRequest;
use crate::error::AppResult;
use crate::service::{staff, tasks};

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

/// The staff directory, by id.
#[utoipa::path(get, path = "/api/v1/staff", tag = "tasks", params(PageQuery),
    responses((status = 200, body = Page<StaffView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_staff(db: Db, BearerAuth(actor): BearerAuth, Query(q): Query<PageQuery>) -> AppResult<HttpResponse> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(HttpResponse::Ok().json(staff::list(&db, &actor, &page).await?))
}

/// A staff member (by token subject).
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = StaffView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_staff_member(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::get(&db, &actor, &id).await?))
}

/// Creates or replaces a staff member's entry (admin/manager); `manager_id`
/// decides where escalations go.
#[utoipa::path(put, path = "/api/v1/staff/{id}", tag = "tasks", params(("id" = String, Path)),
    request_body = StaffInput,
    responses((status = 200, body = StaffView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_staff_member(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<StaffInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(staff::put(&db, &actor, &id, input).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_task,
    list_tasks,
    get_task,
    update_task,
    list_staff,
    get_staff_member,
    replace_staff_member
))]
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
    )
    .service(web::resource("/staff").route(web::get().to(list_staff)))
    .service(
        web::resource("/staff/{id}")
            .route(web::get().to(get_staff_member))
            .route(web::put().to(replace_staff_member)),
    );
}
