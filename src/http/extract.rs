//! Request extractors that answer bad input with problem+json naming the field.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::api::people::PageQuery;
use crate::domain::pagination::PageRequest;
use crate::error::{AppError, FieldError};

/// Largest JSON body accepted.
pub const MAX_BODY: usize = 256 * 1024;

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

/// Parses JSON bytes, reporting the path of the failing field.
///
/// # Errors
/// `Validation` or `BadRequest` as described on [`Json`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| json_error(e.path().to_string(), e.inner()))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(AppError::BadRequest("Content-Type must be application/json".into()));
            }
            let bytes = body
                .await
                .map_err(|e| AppError::BadRequest(format!("unreadable body: {e}")))?;
            if bytes.len() > MAX_BODY {
                return Err(AppError::BadRequest(format!("body larger than {MAX_BODY} bytes")));
            }
            parse_json(&bytes).map(Json)
        })
    }
}

/// A query string, with the same error shape as [`Json`].
pub struct Query<T>(pub T);

/// Parses a query string into `T`, naming the failing parameter.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
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

/// A list's filters and its page (`limit`, `cursor`) from one query string.
pub struct Filtered<F>(pub F, pub PageRequest);

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
