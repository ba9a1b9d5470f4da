//! The outer contract: the wire types (inputs, views, value enums) both doors
//! share — REST through serde and utoipa, GraphQL through async-graphql
//! derives. Entities never leave the service layer; these types do. Routes
//! live in `http/` and `graphql/`; rules in `domain/`, which may use the value
//! enums here but not the structs.

pub mod bulk;
pub mod cadence;
pub mod contacts;
pub mod customers;
pub mod events;
pub mod feedback;
pub mod health;
pub mod interactions;
pub mod jobs;
pub mod loyalty;
pub mod needs;
pub mod orders;
mod patch;
pub mod payments;
pub mod privacy;
pub mod segments;
pub mod settings;
pub mod staff;
pub mod surveys;
pub mod tasks;
pub mod webhooks;

pub use patch::Patch;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Declares a closed set of string values with its wire name per variant.
macro_rules! value_enum {
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
pub(crate) use value_enum;

/// An amount of money in minor units (cents). REST carries it as a JSON
/// integer; GraphQL as the `MinorUnits` scalar, a string of decimal digits
/// (with an optional `-`) in the 64-bit range, because GraphQL's `Int` is
/// 32-bit. GraphQL inputs also take an integer literal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MinorUnits(pub i64);

/// A string-encoded 64-bit count of minor units (cents); also accepts an integer literal.
#[async_graphql::Scalar(name = "MinorUnits")]
impl async_graphql::ScalarType for MinorUnits {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        let parsed = match &value {
            async_graphql::Value::String(s) => s.trim().parse::<i64>().ok(),
            async_graphql::Value::Number(n) => n.as_i64(),
            _ => None,
        };
        parsed.map(MinorUnits).ok_or_else(|| {
            async_graphql::InputValueError::custom("expected a whole number of minor units, as a string")
        })
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_string())
    }
}

/// A page of items and the cursor for the next page (absent on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Each item's own cursor (for GraphQL edges); not sent over REST.
    #[serde(skip)]
    pub cursors: Vec<String>,
}

impl<T> Page<T> {
    /// A list that is never paged, as one page.
    pub fn whole(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
            cursors: Vec::new(),
        }
    }

    /// The same page with each item shaped by `f`; cursors stay.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            cursors: self.cursors,
        }
    }
}

/// Paging of a customer's sub-lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
