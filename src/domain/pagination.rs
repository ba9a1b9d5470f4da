//! Cursor pagination: opaque cursors that encode the last row's sort key and id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u64 = 200;

/// The position after the last row of a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort key of the last row, as text.
    pub key: String,
    pub id: Uuid,
}

impl Cursor {
    /// Encodes the cursor for a client.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a cursor a client sent back.
    ///
    /// # Errors
    /// A validation error on `cursor` when it is not one of ours.
    pub fn decode(raw: &str) -> AppResult<Self> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| AppError::field("cursor", "is not a valid cursor"))
    }
}

/// A validated page request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Parses `limit` and `cursor` query parameters.
    ///
    /// # Errors
    /// A validation error naming `limit` or `cursor`.
    pub fn parse(limit: Option<u64>, cursor: Option<&str>) -> AppResult<Self> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => return Err(AppError::field("limit", format!("must be between 1 and {MAX_LIMIT}"))),
        };
        let after = cursor.filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
        Ok(Self { limit, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_a_round_trip() {
        let c = Cursor {
            key: "2026-01-01T00:00:00Z".into(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(201), None).is_err());
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(DEFAULT_LIMIT)
        );
    }

    #[test]
    fn garbage_cursors_are_a_validation_error() {
        assert!(matches!(Cursor::decode("nope!"), Err(AppError::Validation(_))));
    }
}
