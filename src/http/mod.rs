//! REST under `/api/v1`: thin handlers over the service layer, documented
//! with utoipa. Each area module ends with its `configure`.

pub mod bulk;
pub mod cadence;
pub mod customers;
pub mod db;
pub mod docs;
pub mod edge;
pub mod events;
pub mod extract;
pub mod feedback;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod loyalty;
pub mod me;
pub mod metrics;
pub mod needs;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod problem;
pub mod rate_limit;
pub mod retry;
pub mod segments;
pub mod settings;
pub mod staff;
pub mod surveys;
pub mod tasks;
pub mod webhooks;
pub mod wire;

use actix_web::{HttpResponse, http::header, web};
use serde::Serialize;
use utoipa::IntoResponses;

use problem::Problem;

pub use db::{Db, ReadDb};

/// `201 Created` with a `Location` header.
pub fn created(location: String, body: impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// Errors every authenticated endpoint can answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// Missing, expired or otherwise invalid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The caller's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// A field failed validation; `errors[].path` names it.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// Mounts every REST area under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(customers::configure)
            .configure(orders::configure)
            .configure(segments::configure)
            .configure(feedback::configure)
            .configure(tasks::configure)
            .configure(staff::configure)
            .configure(settings::configure)
            .configure(me::configure)
            .configure(events::configure)
            .configure(jobs::configure)
            .configure(webhooks::configure)
            .configure(bulk::configure)
            .configure(surveys::configure)
            .configure(loyalty::configure)
            .configure(health::configure)
            .configure(cadence::configure)
            .configure(needs::configure)
            .configure(payments::configure),
    );
}
