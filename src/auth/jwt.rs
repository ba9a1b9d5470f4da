//! Token verification and (for development) minting.

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, Role};
use crate::config::{AuthSettings, JwtAlgorithm};
use crate::error::AppError;

/// The claims Rapport reads from a token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
}

/// Verification keys and rules, built once at start-up.
#[derive(Clone)]
pub struct JwtKeys {
    decoding: DecodingKey,
    validation: Validation,
}

fn algorithm(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
    }
}

impl JwtKeys {
    /// Builds keys from settings; the algorithm is pinned to the configured one.
    ///
    /// # Errors
    /// Fails when the secret or public key is missing or unreadable.
    pub fn from_settings(auth: &AuthSettings) -> anyhow::Result<Self> {
        let decoding = match auth.algorithm {
            JwtAlgorithm::HS256 => {
                let secret = auth
                    .jwt_secret
                    .as_ref()
                    .context("auth.jwt_secret is required for HS256")?;
                if secret.expose().len() < 32 {
                    bail!("auth.jwt_secret must be at least 32 bytes");
                }
                DecodingKey::from_secret(secret.expose().as_bytes())
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                let key = auth
                    .public_key
                    .as_ref()
                    .context("auth.public_key is required for RS256/ES256")?;
                let pem = if key.contains("-----BEGIN") {
                    key.clone()
                } else {
                    std::fs::read_to_string(key).with_context(|| format!("reading public key {key}"))?
                };
                if auth.algorithm == JwtAlgorithm::RS256 {
                    DecodingKey::from_rsa_pem(pem.as_bytes())?
                } else {
                    DecodingKey::from_ec_pem(pem.as_bytes())?
                }
            }
        };
        let mut validation = Validation::new(algorithm(auth.algorithm));
        validation.set_issuer(&[&auth.issuer]);
        validation.set_audience(&[&auth.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = auth.leeway_secs.min(30);
        validation.validate_nbf = true;
        Ok(Self { decoding, validation })
    }

    /// Verifies a token and returns the caller.
    ///
    /// # Errors
    /// `Unauthorized` for any bad token: signature, algorithm, expiry, issuer,
    /// audience, not yet valid (`nbf`), issued in the future (`iat`), empty
    /// `sub`, missing or unknown role, customer token without `customer_id`.
    pub fn verify(&self, token: &str) -> Result<Actor, AppError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AppError::Unauthorized(format!("token rejected: {e}")))?;
        let claims = data.claims;
        if claims.sub.trim().is_empty() {
            return Err(AppError::Unauthorized("token with an empty sub".into()));
        }
        if claims.iat > jsonwebtoken::get_current_timestamp() as i64 + self.validation.leeway as i64 {
            return Err(AppError::Unauthorized("token issued in the future".into()));
        }
        if claims.role == Role::Customer && claims.customer_id.is_none() {
            return Err(AppError::Unauthorized("customer token without customer_id".into()));
        }
        Ok(Actor {
            sub: claims.sub,
            role: claims.role,
            customer_id: claims.customer_id,
            partner_id: claims.partner_id,
        })
    }
}

/// Signs a development token with an HS256 secret.
///
/// # Errors
/// Fails only if signing fails.
pub fn mint_token(secret: &str, claims: &Claims) -> anyhow::Result<String> {
    Ok(encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}
