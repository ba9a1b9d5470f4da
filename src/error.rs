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
    /// 409: a debit asks for more points than the account can spend now;
    /// carries the spendable balance.
    #[error("insufficient points")]
    InsufficientPoints(i64),
    /// 410: the resource existed but is no longer usable (an expired
    /// survey invitation); `code` says which way.
    #[error("gone: {detail}")]
    Gone { code: &'static str, detail: String },
    /// 415: the body is in a format the route does not take; names the ones it does.
    #[error("unsupported media type")]
    UnsupportedMediaType(&'static str),
    /// 429: the caller's quota is used up; retry after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// 503: the database cannot be reached, dropped the connection, or will
    /// not take writes now; the request may be retried shortly. Carries the
    /// cause for the logs only.
    #[error("database unavailable ({outage:?}): {cause}")]
    DatabaseUnavailable {
        outage: crate::database::Outage,
        cause: String,
    },
    /// 500: anything unexpected. Logged in full, shown to clients as a neutral message.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Seconds a client is asked to wait before retrying a `DatabaseUnavailable`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

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

    /// A 409 for a status move that `allowed` (the moves from `from`) does not hold.
    pub fn illegal_move(from: &str, to: &str, allowed: &[&str]) -> Self {
        let allowed = if allowed.is_empty() {
            "none".into()
        } else {
            allowed.join(", ")
        };
        Self::conflict_on("to", format!("cannot move from {from} to {to}; allowed: {allowed}"))
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
            Self::Gone { code, .. } => code,
            Self::InsufficientPoints(_) => "insufficient_points",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited(_) => "rate_limited",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::DatabaseUnavailable { .. } => "database_unavailable",
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
            Self::Conflict { .. } | Self::InsufficientPoints(_) => 409,
            Self::Gone { .. } => 410,
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimited(_) => 429,
            Self::UnsupportedMediaType(_) => 415,
            Self::DatabaseUnavailable { .. } => 503,
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
            Self::InsufficientPoints(_) => "Insufficient points",
            Self::Gone { .. } => "Gone",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::PayloadTooLarge(_) => "Payload too large",
            Self::RateLimited(_) => "Too many requests",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::DatabaseUnavailable { .. } => "Service unavailable",
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
            Self::Conflict { detail, .. } | Self::Gone { detail, .. } => detail.clone(),
            Self::InsufficientPoints(spendable) => format!("the spendable balance is {spendable} points"),
            Self::MethodNotAllowed(allowed) => format!("this path accepts {}", allowed.join(", ")),
            Self::PayloadTooLarge(limit) => format!("the body must be at most {limit} bytes"),
            Self::RateLimited(secs) => format!("the request quota is used up; retry in {secs} s"),
            Self::UnsupportedMediaType(takes) => format!("the body must be {takes}"),
            Self::DatabaseUnavailable { .. } => format!(
                "the database cannot be reached or is not taking writes now; nothing was changed unless a retry \
                 with the same Idempotency-Key says so; retry in {UNAVAILABLE_RETRY_AFTER_SECS} s"
            ),
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
            Self::InsufficientPoints(spendable) => vec![FieldError::new(
                "points",
                format!("exceeds the spendable balance of {spendable}"),
            )],
            _ => Vec::new(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        // Unique violations reach here only when a service did not map them
        // to a field first; they are still conflicts, not server faults.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return unique_conflict(&msg);
        }
        if let Some(outage) = crate::database::outage(&err) {
            return Self::DatabaseUnavailable {
                outage,
                cause: err.to_string(),
            };
        }
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<anyhow::Error> for AppError {
    /// An error a service wrapped with context is still an outage when a
    /// database error in its chain says so.
    fn from(err: anyhow::Error) -> Self {
        let outage = err
            .chain()
            .filter_map(|e| e.downcast_ref::<sea_orm::DbErr>())
            .find_map(crate::database::outage);
        match outage {
            Some(outage) => Self::DatabaseUnavailable {
                outage,
                cause: format!("{err:#}"),
            },
            None => Self::Internal(err),
        }
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

/// A unique key of the schema, and the request field a violation of it names.
#[derive(Clone, Copy, Debug)]
pub struct UniqueKey {
    pub table: &'static str,
    pub column: &'static str,
    /// The detail a violation answers with.
    pub detail: &'static str,
}

pub const CUSTOMER_EXTERNAL_ID: UniqueKey = UniqueKey {
    table: "customer",
    column: "external_id",
    detail: "a customer with this external_id already exists",
};
pub const ORDER_EXTERNAL_ID: UniqueKey = UniqueKey {
    table: "customer_order",
    column: "external_id",
    detail: "an order with this external_id already exists",
};
pub const SEGMENT_NAME: UniqueKey = UniqueKey {
    table: "segment",
    column: "name",
    detail: "a segment with this name already exists",
};
/// Every single-column unique key a request can collide with.
const UNIQUE_KEYS: [UniqueKey; 3] = [CUSTOMER_EXTERNAL_ID, ORDER_EXTERNAL_ID, SEGMENT_NAME];

impl UniqueKey {
    /// Whether a unique-violation message is about this key. PostgreSQL names
    /// the constraint (`"customer_external_id_key"`, the name a column's
    /// `UNIQUE` gets); SQLite names the columns (`customer.external_id`).
    pub fn is_violated_by(&self, msg: &str) -> bool {
        let constraint = format!("\"{}_{}_key\"", self.table, self.column);
        let columns = format!("UNIQUE constraint failed: {}.{}", self.table, self.column);
        msg.contains(&constraint) || msg.trim_end().ends_with(&columns)
    }

    /// The key a unique-violation message is about, if it is a known one.
    fn of(msg: &str) -> Option<Self> {
        UNIQUE_KEYS.into_iter().find(|k| k.is_violated_by(msg))
    }

    /// Maps a violation of this key to a 409 naming its field; any other
    /// error converts as usual.
    pub fn map(self) -> impl Fn(sea_orm::DbErr) -> AppError {
        move |err| match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) if self.is_violated_by(&msg) => {
                AppError::conflict_on(self.column, self.detail)
            }
            _ => err.into(),
        }
    }
}

fn unique_conflict(msg: &str) -> AppError {
    match UniqueKey::of(msg) {
        Some(key) => AppError::conflict_on(key.column, key.detail),
        None => AppError::Conflict {
            detail: "a record with these values already exists".into(),
            field: None,
        },
    }
}

/// Result alias used across services.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::{CUSTOMER_EXTERNAL_ID, SEGMENT_NAME, UniqueKey};

    #[test]
    fn unique_violations_are_told_apart_by_key_not_by_substring() {
        let pg =
            "error returned from database: duplicate key value violates unique constraint \"customer_external_id_key\"";
        let sqlite = "error returned from database: (code: 2067) UNIQUE constraint failed: customer.external_id";
        for msg in [pg, sqlite] {
            assert!(CUSTOMER_EXTERNAL_ID.is_violated_by(msg), "{msg}");
            assert!(!SEGMENT_NAME.is_violated_by(msg), "{msg}");
        }
        let order = "UNIQUE constraint failed: customer_order.external_id";
        assert!(!CUSTOMER_EXTERNAL_ID.is_violated_by(order));
        assert_eq!(UniqueKey::of(order).map(|k| k.table), Some("customer_order"));
        // A tag's composite key is none of these, whatever its message mentions.
        assert!(UniqueKey::of("UNIQUE constraint failed: customer_tag.customer_id, customer_tag.tag").is_none());
    }
}
