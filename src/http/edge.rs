//! Checks every request passes before any handler or extractor sees it, in
//! this order: the body cap (413), the method (405 with `Allow`), the caller's
//! role (401/403), and NUL characters in the path or query (422 naming the
//! parameter). Routes, methods and roles come from the OpenAPI document: each
//! operation's `security` lists the roles that may call it as the bearer
//! scheme's scopes, so the document and the gate cannot disagree, and a new
//! area gets all of this by declaring its paths.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use serde_json::Value;

use crate::auth::{Actor, Role, actor_from_request};
use crate::error::{AppError, FieldError};

/// The request-body cap, shared by the edge and the body readers.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

enum Segment {
    Literal(String),
    Param(String),
}

struct Operation {
    method: &'static str,
    /// `None`: no token needed. `Some(empty)`: any valid token. Otherwise the roles.
    roles: Option<Vec<Role>>,
    /// Whether the operation takes an `Idempotency-Key` header, and must have one.
    idempotency: Option<bool>,
}

/// An operation that takes an `Idempotency-Key`: its route template, and
/// whether the key is required. Left in the request for the idempotency
/// middleware.
#[derive(Clone, Debug)]
pub struct IdempotentRoute {
    pub template: String,
    pub required: bool,
}

struct Route {
    template: String,
    segments: Vec<Segment>,
    operations: Vec<Operation>,
}

/// Every documented path with its methods and the roles allowed on each.
pub struct RouteTable {
    routes: Vec<Route>,
}

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];

impl RouteTable {
    /// Reads the table from an OpenAPI document.
    pub fn from_openapi(doc: &Value) -> Self {
        let mut routes = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let segments = split(path)
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Literal(s.to_owned()),
                })
                .collect();
            let operations = METHODS
                .iter()
                .filter_map(|method| {
                    let op = item.get(method.to_ascii_lowercase())?;
                    Some(Operation {
                        method,
                        roles: roles_of(op),
                        idempotency: idempotency_of(op),
                    })
                })
                .collect();
            routes.push(Route {
                template: path.clone(),
                segments,
                operations,
            });
        }
        Self { routes }
    }

    /// Adds a route the document does not describe (GraphQL, the docs UI).
    pub fn with_extra(mut self, path: &str, methods: &[&'static str]) -> Self {
        self.routes.push(Route {
            template: path.to_owned(),
            segments: split(path).map(|s| Segment::Literal(s.to_owned())).collect(),
            operations: methods
                .iter()
                .map(|method| Operation {
                    method,
                    roles: None,
                    idempotency: None,
                })
                .collect(),
        });
        self
    }

    /// The template of the route a path matches (`unmatched` for none), the
    /// label requests are counted under.
    pub fn template(&self, path: &str) -> &str {
        self.find(path).map_or("unmatched", |r| r.template.as_str())
    }

    /// The route matching a path, preferring literal segments over parameters.
    fn find(&self, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = split(path).collect();
        self.routes
            .iter()
            .filter(|r| r.segments.len() == parts.len())
            .filter_map(|r| {
                let mut literals = 0;
                for (seg, part) in r.segments.iter().zip(&parts) {
                    match seg {
                        Segment::Literal(l) if l == part => literals += 1,
                        Segment::Literal(_) => return None,
                        Segment::Param(_) => {}
                    }
                }
                Some((literals, r))
            })
            .max_by_key(|(literals, _)| *literals)
            .map(|(_, r)| r)
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The name of the idempotency header.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

fn idempotency_of(op: &Value) -> Option<bool> {
    op.get("parameters")?
        .as_array()?
        .iter()
        .find(|p| p["in"] == "header" && p["name"] == IDEMPOTENCY_KEY)
        .map(|p| p["required"] == true)
}

fn roles_of(op: &Value) -> Option<Vec<Role>> {
    let requirements = op.get("security")?.as_array()?;
    let mut roles = Vec::new();
    let mut needs_token = false;
    for req in requirements {
        if let Some(scopes) = req.get("bearer").and_then(Value::as_array) {
            needs_token = true;
            roles.extend(scopes.iter().filter_map(Value::as_str).filter_map(Role::parse));
        }
    }
    needs_token.then_some(roles)
}

/// Percent-decodes one path segment.
fn decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn check(req: &ServiceRequest, table: &RouteTable, limit: usize) -> Result<(), AppError> {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > limit as u64) {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let path = req.uri().path();
    let Some(route) = table.find(path) else {
        return Ok(());
    };
    let method = req.method().as_str();
    let Some(op) = route.operations.iter().find(|o| o.method == method) else {
        return Err(AppError::MethodNotAllowed(
            route.operations.iter().map(|o| o.method).collect(),
        ));
    };
    if let Some(roles) = &op.roles {
        let actor = actor_from_request(req.request())?;
        if !roles.is_empty() && !roles.contains(&actor.role) {
            return Err(AppError::Forbidden);
        }
        req.extensions_mut().insert(actor);
    }
    if let Some(required) = op.idempotency {
        req.extensions_mut().insert(IdempotentRoute {
            template: route.template.clone(),
            required,
        });
    }
    let mut errors = Vec::new();
    for (seg, part) in route.segments.iter().zip(split(path)) {
        if let Segment::Param(name) = seg
            && decode(part).contains('\0')
        {
            errors.push(FieldError::new(name.clone(), NUL_MESSAGE));
        }
    }
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if key.contains('\0') || value.contains('\0') {
            errors.push(FieldError::new(key.replace('\0', "\\u0000"), NUL_MESSAGE));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The message for a string holding a NUL character.
pub const NUL_MESSAGE: &str = "must not contain NUL characters";

/// The actor the edge already verified for this request, if any.
pub fn verified_actor(req: &actix_web::HttpRequest) -> Option<Actor> {
    req.extensions().get::<Actor>().cloned()
}

/// The middleware: answers a failed check itself, else passes the request on.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let imports = req.path().starts_with("/api/v1/imports/") && req.method() == actix_web::http::Method::POST;
    let limit = match req.app_data::<web::Data<super::bulk::ImportLimit>>() {
        Some(l) if imports => l.0,
        _ => req
            .app_data::<web::Data<BodyLimit>>()
            .map_or(crate::config::DEFAULT_MAX_BODY_BYTES, |l| l.0),
    };
    let outcome = match req.app_data::<web::Data<RouteTable>>() {
        Some(table) => check(&req, table, limit),
        None => Ok(()),
    };
    match outcome {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(err) => Ok(req.error_response(err).map_into_right_body()),
    }
}

/// Finds the first string (or object key) in a JSON value that holds a NUL
/// character, and returns its path (`custom_attributes.a`, `tags[2]`).
pub fn find_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.replace('\0', "\\u0000"));
                let found = k.contains('\0') || walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| if path.is_empty() { "body".into() } else { path })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table() -> RouteTable {
        RouteTable::from_openapi(&json!({"paths": {
            "/api/v1/segments/{id}": {"get": {"security": [{"bearer": ["admin"]}]}},
            "/api/v1/segments/preview": {"post": {"security": [{"bearer": []}]}},
            "/healthz": {"get": {}},
        }}))
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let t = table();
        let route = t.find("/api/v1/segments/preview").expect("route");
        assert_eq!(route.operations[0].method, "POST");
        assert_eq!(route.operations[0].roles.as_deref(), Some(&[][..]));
        let route = t.find("/api/v1/segments/abc").expect("route");
        assert_eq!(route.operations[0].roles.as_deref(), Some(&[Role::Admin][..]));
        assert!(t.find("/healthz").expect("route").operations[0].roles.is_none());
        assert!(t.find("/api/v1/nothing").is_none());
    }

    #[test]
    fn nul_characters_are_found_with_their_path() {
        assert_eq!(find_nul(&json!({"a": {"b": ["x", "y\u{0}"]}})), Some("a.b[1]".into()));
        assert_eq!(find_nul(&json!({"k\u{0}": 1})), Some("k\\u0000".into()));
        assert_eq!(find_nul(&json!({"a": "fine"})), None);
        assert_eq!(decode("a%00b"), "a\0b");
    }
}
