//! `application/problem+json` responses (RFC 9457) for every [`AppError`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};

tokio::task_local! {
    /// The id of the request being served, for error bodies.
    pub static REQUEST_ID: String;
}

/// The error body of every REST endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the problem kind, `urn:rapport:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code; GraphQL errors carry the same in `extensions.code`.
    pub code: String,
    /// The failing fields, for validation errors and conflicts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Quote this when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    /// The problem body of an error.
    pub fn from_error(err: &AppError) -> Self {
        Self {
            kind: format!("urn:rapport:problem:{}", err.code()),
            title: err.title().into(),
            status: err.status(),
            detail: err.detail(),
            code: err.code().into(),
            errors: err.field_errors(),
            request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::Unauthorized(reason) => tracing::info!(%reason, "unauthorized"),
            Self::DatabaseUnavailable { cause, .. } => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if matches!(self, Self::Unauthorized(_)) {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rapport\""),
            ));
        }
        if let Self::RateLimited(secs) = self {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(*secs)));
        }
        if matches!(self, Self::DatabaseUnavailable { .. }) {
            res.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from(crate::error::UNAVAILABLE_RETRY_AFTER_SECS),
            ));
        }
        if let Self::MethodNotAllowed(allowed) = self
            && let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
        {
            res.insert_header((header::ALLOW, value));
        }
        res.json(Problem::from_error(self))
    }
}
