//! The actix extractor that turns an `Authorization: Bearer` header into an [`Actor`].

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{Actor, JwtKeys};
use crate::error::AppError;

/// An authenticated caller; extracting it fails with 401 when the token is
/// missing or invalid.
pub struct BearerAuth(pub Actor);

/// Reads and verifies the bearer token of a request, if there is one.
///
/// # Errors
/// `Unauthorized` when the header is missing, malformed or the token invalid.
pub fn actor_from_request(req: &HttpRequest) -> Result<Actor, AppError> {
    let keys = req
        .app_data::<web::Data<JwtKeys>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("JWT keys not configured")))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("missing Authorization header".into()))?;
    let value = header
        .to_str()
        .map_err(|_| AppError::Unauthorized("unreadable Authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| AppError::Unauthorized("Authorization is not a bearer token".into()))?;
    keys.verify(token.trim())
}

impl FromRequest for BearerAuth {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let actor = match crate::http::edge::verified_actor(req) {
            Some(actor) => Ok(actor),
            None => actor_from_request(req),
        };
        ready(actor.map(BearerAuth))
    }
}
