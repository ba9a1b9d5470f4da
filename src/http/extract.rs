//! Request extractors that answer bad input with problem+json naming the field.

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::edge::{BodyLimit, NUL_MESSAGE, find_nul};

use crate::contract::PageQuery;
use crate::domain::pagination::PageRequest;
use crate::error::{AppError, FieldError};

/// A JSON body. Unknown fields, wrong types and missing fields are a 422 whose
/// `errors[].path` is the JSON path; unreadable JSON is a 400.
pub struct Json<T>(pub T);

/// Turns a serde error at `path` into an application error.
pub fn json_error(path: String, err: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => {
            let message = err.to_string();
            // serde_json appends " at line L column C"; the path says where.
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            let path = if path == "." {
                missing_field(&message).unwrap_or_default()
            } else {
                path
            };
            AppError::Validation(vec![FieldError::new(
                if path.is_empty() { "body".into() } else { path },
                message,
            )])
        }
        Category::Syntax | Category::Eof | Category::Io => AppError::BadRequest(format!("malformed JSON: {err}")),
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Parses a JSON object body, reporting the path of the failing field: the
/// top level must be an object, no string or key may hold a NUL character,
/// and a number with a zero fraction (`6.0`) counts as the integer it is, as
/// JSON Schema says.
///
/// # Errors
/// `Validation` or `BadRequest` as described on [`Json`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| json_error(String::new(), &e))?;
    if !value.is_object() {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    if let Some(path) = find_nul(&value) {
        return Err(AppError::field(path, NUL_MESSAGE));
    }
    integral_floats_to_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| json_error(e.path().to_string(), e.inner()))
}

/// Rewrites `6.0` as `6` throughout a value (within the 64-bit range).
pub fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f > i64::MIN as f64
                && f < i64::MAX as f64
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

/// Reads a request body up to the configured cap.
///
/// # Errors
/// `PayloadTooLarge` over the cap; `BadRequest` when the body cannot be read.
pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::Bytes, AppError> {
    let limit = req
        .app_data::<web::Data<BodyLimit>>()
        .map_or(crate::config::DEFAULT_MAX_BODY_BYTES, |l| l.0);
    let body = web::Bytes::from_request(req, payload).await;
    match body {
        Ok(bytes) if bytes.len() > limit => Err(AppError::PayloadTooLarge(limit)),
        Ok(bytes) => Ok(bytes),
        Err(e) if matches!(e.as_error::<PayloadError>(), Some(PayloadError::Overflow)) => {
            Err(AppError::PayloadTooLarge(limit))
        }
        Err(e) => Err(AppError::BadRequest(format!("unreadable body: {e}"))),
    }
}

/// Whether a request says its body is JSON.
pub fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("application/json") || ct.split(';').next().is_some_and(|t| t.trim_end().ends_with("+json"))
        })
}

/// Reads and parses a JSON body under the body cap; with `optional`, a blank
/// body is `None` (whatever its content type), and so is a JSON `null` (the
/// document lets an optional body be `null`).
fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> LocalBoxFuture<'static, Result<Option<T>, AppError>> {
    let json = is_json(req);
    let req = req.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let wrong_type = || AppError::BadRequest("Content-Type must be application/json".into());
        if !json && !optional {
            return Err(wrong_type());
        }
        let bytes = read_body(&req, &mut payload).await?;
        if optional && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !json {
            return Err(wrong_type());
        }
        if optional && bytes.trim_ascii() == b"null" {
            return Ok(None);
        }
        parse_json(&bytes).map(Some)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, false);
        Box::pin(async move {
            body.await?
                .map(Json)
                .ok_or_else(|| AppError::BadRequest("a JSON body is required".into()))
        })
    }
}

/// A JSON body that may be left out (an empty body is `None`).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, true);
        Box::pin(async move { body.await.map(OptionalJson) })
    }
}

/// A query string, with the same error shape as [`Json`].
pub struct Query<T>(pub T);

/// Parses a query string into `T`, naming the failing parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let path = if path == "." {
            missing_field(&message).unwrap_or_else(|| "query".into())
        } else {
            path
        };
        AppError::Validation(vec![FieldError::new(path, message)])
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// A list's filters and its page (`limit`, `cursor`) from one query string:
/// the one way a REST list reads its query.
pub struct Filtered<F>(pub F, pub PageRequest);

/// The filter of a list that has none: any parameter but the page's is refused.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

/// A list without filters: its page alone.
pub type Paged = Filtered<NoFilter>;

impl<F: DeserializeOwned + 'static> FromRequest for Filtered<F> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (paging, rest): (Vec<_>, Vec<_>) =
            form_urlencoded_parse(req.query_string()).partition(|(k, _)| k == "limit" || k == "cursor");
        let encode = |pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let result = parse_query::<F>(&encode(rest)).and_then(|filter| {
            let page: PageQuery = parse_query(&encode(paging))?;
            Ok(Filtered(
                filter,
                PageRequest::parse(page.limit, page.cursor.as_deref())?,
            ))
        });
        std::future::ready(result)
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// A path segment that must be a UUID; anything else is a 404, not a 500.
pub fn parse_id(raw: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound(what))
}
