//! The API contract: input and view types shared by REST (serde + utoipa) and
//! GraphQL (async-graphql derives). Entities never leave the service layer;
//! these types do.

pub mod customer;
pub mod feedback;
pub mod orders;
pub mod people;
pub mod segments;

use serde::Serialize;
use utoipa::ToSchema;

/// Declares a closed set of string values with its wire name per variant.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema, async_graphql::Enum,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire and database name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Reads a stored value; unknown values (never written by this
            /// code) fall back to the first variant and are logged.
            pub fn from_db(value: &str) -> Self {
                Self::ALL.iter().copied().find(|v| v.as_str() == value).unwrap_or_else(|| {
                    tracing::warn!(value, kind = stringify!($name), "unknown stored enum value");
                    Self::ALL[0]
                })
            }
        }
    };
}
pub(crate) use api_enum;

/// A page of items and the cursor for the next page (absent on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
