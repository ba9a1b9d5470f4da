//! One error type for the whole application. REST turns it into
//! `application/problem+json`; GraphQL puts the same `code` in `extensions`.

use serde::Serialize;
use utoipa::ToSchema;

/// A failing input field: where it is and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `tags[3]` or `email`.
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every way a request can fail. Each variant documents its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422: the input parsed but broke a rule; each failing field is named.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 400: the body could not be read at all (e.g. malformed JSON).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no usable credentials. Carries a reason for the logs only.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// 404: the named resource does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists but not with this method; carries the allowed ones.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    /// 413: the body is larger than the configured cap (bytes).
    #[error("payload too large")]
    PayloadTooLarge(usize),
    /// 409: the request conflicts with the current state; `field` names the
    /// input that collides, when there is one.
    #[error("conflict: {detail}")]
    Conflict { detail: String, field: Option<String> },
    /// 500: anything unexpected. Logged in full, shown to clients as a neutral message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 422 for one field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(path, message)])
    }

    /// A 409 that names the colliding field.
    pub fn conflict_on(field: &str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// The stable machine-readable code, shared by REST and GraphQL.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 422,
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::Internal(_) => 500,
        }
    }

    /// A short human title.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Validation failed",
            Self::BadRequest(_) => "Bad request",
            Self::Unauthorized(_) => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound(_) => "Not found",
            Self::Conflict { .. } => "Conflict",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::PayloadTooLarge(_) => "Payload too large",
            Self::Internal(_) => "Internal error",
        }
    }

    /// The message shown to clients: never internal details.
    pub fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.path, one.message),
                _ => format!("{} fields are invalid", errors.len()),
            },
            Self::BadRequest(msg) => msg.clone(),
            Self::Unauthorized(_) => "a valid bearer token is required".into(),
            Self::Forbidden => "your role may not do this".into(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::Conflict { detail, .. } => detail.clone(),
            Self::MethodNotAllowed(allowed) => format!("this path accepts {}", allowed.join(", ")),
            Self::PayloadTooLarge(limit) => format!("the body must be at most {limit} bytes"),
            Self::Internal(_) => "an unexpected error occurred".into(),
        }
    }

    /// The field errors to list in the body.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Validation(errors) => errors.clone(),
            Self::Conflict {
                field: Some(field),
                detail,
            } => vec![FieldError::new(field, detail)],
            _ => Vec::new(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        // Unique violations reach here only when a service did not map them
        // to a field first; they are still conflicts, not server faults.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return Self::Conflict {
                detail: unique_detail(&msg),
                field: unique_field(&msg),
            };
        }
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// Picks the column out of a unique-violation message from either database:
/// SQLite says `UNIQUE constraint failed: customer.external_id`, PostgreSQL
/// names the constraint, e.g. `customer_external_id_key`.
fn unique_field(msg: &str) -> Option<String> {
    for known in ["external_id", "email", "tag"] {
        if msg.contains(known) {
            return Some(known.to_owned());
        }
    }
    None
}

fn unique_detail(msg: &str) -> String {
    match unique_field(msg) {
        Some(field) => format!("{field} is already taken"),
        None => "a record with these values already exists".into(),
    }
}

/// Result alias used across services.
pub type AppResult<T> = Result<T, AppError>;
