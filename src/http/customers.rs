//! `/customers` with contacts, interactions, overview and timeline.

use actix_web::{HttpResponse, web};

use super::extract::{Filtered, Json, Paged, parse_id};
use super::{Db, ErrorResponses, created};
use crate::auth::BearerAuth;
use crate::contract::PageQuery;
use crate::contract::contacts::{ContactPatch, ContactView, NewContact};
use crate::contract::customers::{CustomerListQuery, CustomerOverview, CustomerPatch, CustomerView, NewCustomer};
use crate::contract::interactions::{InteractionView, NewInteraction};
use crate::contract::privacy::{CustomerExport, ErasureView};
use crate::contract::{Page, orders::TimelineEntry};
use crate::error::AppResult;
use crate::service::{contacts, customer_list, customers, interactions, overview, privacy};

/// Creates a customer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer,
    responses((status = 201, body = CustomerView), (status = 409, description = "external_id taken", body = super::problem::Problem), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_customer(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<NewCustomer>,
) -> AppResult<HttpResponse> {
    let view = customers::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/customers/{}", view.id), view))
}

/// Lists customers with filters, sorting and cursor pagination.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerListQuery, PageQuery),
    responses((status = 200, body = Page<CustomerView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_customers(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(q, page): Filtered<CustomerListQuery>,
) -> AppResult<HttpResponse> {
    let (filter, sort) = q.into_parts();
    Ok(HttpResponse::Ok().json(customer_list::list(&db, &actor, &filter, sort, &page).await?))
}

/// Reads a customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CustomerView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_customer(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(customers::get(&db, &actor, id).await?))
}

/// Reads a customer by the integration's external id.
#[utoipa::path(get, path = "/api/v1/customers/by-external-id/{external_id}", tag = "customers",
    params(("external_id" = String, Path)),
    responses((status = 200, body = CustomerView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_customer_by_external_id(
    db: Db,
    BearerAuth(actor): BearerAuth,
    ext: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(customers::get_by_external_id(&db, &actor, &ext).await?))
}

/// Partially updates a customer: absent fields are kept, `null` clears.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = uuid::Uuid, Path)),
    request_body = CustomerPatch,
    responses((status = 200, body = CustomerView), (status = 409, description = "The external id is taken", body = super::problem::Problem), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn update_customer(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<CustomerPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(customers::update(&db, &actor, id, patch).await?))
}

/// Soft-deletes a customer.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted"), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn delete_customer(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    customers::delete(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything held about a customer, as JSON (a data subject's access
/// request); deleted and erased customers included.
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CustomerExport), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn export_customer(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(privacy::export(&db, &actor, id).await?))
}

/// Erases a customer's personal data in every table that holds it,
/// irreversibly: the record stays, deleted and anonymised, with its orders,
/// aggregates and history; `customer.erased` is emitted and the erasure
/// recorded (so `rapport erase --replay` can repeat it after a restore).
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ErasureView), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn erase_customer(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(privacy::erase(&db, &actor, id).await?))
}

/// The customer 360: profile, contacts, recent interactions, order summary.
#[utoipa::path(get, path = "/api/v1/customers/{id}/overview", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CustomerOverview), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_customer_overview(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(overview::overview(&db, &actor, id).await?))
}

/// Orders and interactions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<TimelineEntry>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_customer_timeline(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(overview::timeline(&db, &actor, id, &page).await?))
}

/// Adds a contact to a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "contacts", params(("id" = uuid::Uuid, Path)),
    request_body = NewContact,
    responses((status = 201, body = ContactView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_contact(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewContact>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    let view = contacts::create(&db, &actor, id, input).await?;
    Ok(created(format!("/api/v1/contacts/{}", view.id), view))
}

/// A customer's contacts, primary first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "contacts", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Page<ContactView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_contacts(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    let items = contacts::list(&db, &actor, id).await?;
    Ok(HttpResponse::Ok().json(Page::whole(items)))
}

/// Reads a contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ContactView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_contact(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "contact")?;
    Ok(HttpResponse::Ok().json(contacts::get(&db, &actor, id).await?))
}

/// Updates a contact; `active: false` records that the person left.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = uuid::Uuid, Path)),
    request_body = ContactPatch,
    responses((status = 200, body = ContactView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn update_contact(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(patch): Json<ContactPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "contact")?;
    Ok(HttpResponse::Ok().json(contacts::update(&db, &actor, id, patch).await?))
}

/// Deletes a contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted"), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn delete_contact(db: Db, BearerAuth(actor): BearerAuth, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "contact")?;
    contacts::delete(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Logs an interaction; the customer's `last_contacted_at` follows.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "interactions",
    params(("id" = uuid::Uuid, Path)), request_body = NewInteraction,
    responses((status = 201, body = InteractionView), ErrorResponses), security(("bearer" = ["admin", "manager", "agent"])))]
pub async fn create_interaction(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<NewInteraction>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    let view = interactions::create(&db, &actor, id, input).await?;
    Ok(created(
        format!("/api/v1/customers/{id}/interactions/{}", view.id),
        view,
    ))
}

/// A customer's interactions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "interactions",
    params(("id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = Page<InteractionView>), ErrorResponses), security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_interactions(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "customer")?;
    Ok(HttpResponse::Ok().json(interactions::list(&db, &actor, id, &page).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    export_customer,
    erase_customer,
    create_customer,
    list_customers,
    get_customer,
    get_customer_by_external_id,
    update_customer,
    delete_customer,
    get_customer_overview,
    list_customer_timeline,
    create_contact,
    list_contacts,
    get_contact,
    update_contact,
    delete_contact,
    create_interaction,
    list_interactions
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers")
            .route(web::post().to(create_customer))
            .route(web::get().to(list_customers)),
    )
    .service(web::resource("/customers/by-external-id/{ext}").route(web::get().to(get_customer_by_external_id)))
    .service(
        web::resource("/customers/{id}")
            .route(web::get().to(get_customer))
            .route(web::patch().to(update_customer))
            .route(web::delete().to(delete_customer)),
    )
    .service(web::resource("/customers/{id}/export").route(web::get().to(export_customer)))
    .service(web::resource("/customers/{id}/erase").route(web::post().to(erase_customer)))
    .service(web::resource("/customers/{id}/overview").route(web::get().to(get_customer_overview)))
    .service(web::resource("/customers/{id}/timeline").route(web::get().to(list_customer_timeline)))
    .service(
        web::resource("/customers/{id}/contacts")
            .route(web::post().to(create_contact))
            .route(web::get().to(list_contacts)),
    )
    .service(
        web::resource("/customers/{id}/interactions")
            .route(web::post().to(create_interaction))
            .route(web::get().to(list_interactions)),
    )
    .service(
        web::resource("/contacts/{id}")
            .route(web::get().to(get_contact))
            .route(web::patch().to(update_contact))
            .route(web::delete().to(delete_contact)),
    );
}
