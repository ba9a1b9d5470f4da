//! Relay connections over the services' pages: one way to turn `first`/`after`
//! into a page request and a page into a connection.

use async_graphql::connection::{Connection, Edge};

use crate::contract::Page;
use crate::domain::pagination::PageRequest;

/// A connection's `first`/`after` as a service page request.
pub(crate) fn page(first: Option<i32>, after: Option<&str>) -> async_graphql::Result<PageRequest> {
    let limit = first.map(|f| u64::try_from(f).unwrap_or(0));
    super::gql(PageRequest::parse(limit, after))
}

/// A service page as a Relay connection; `cursor` gives each item's cursor.
pub(crate) fn connection<T: async_graphql::OutputType>(
    request: &PageRequest,
    page: Page<T>,
    cursor: impl Fn(&T) -> String,
) -> Connection<String, T> {
    let mut conn = Connection::new(request.after.is_some(), page.next_cursor.is_some());
    conn.edges
        .extend(page.items.into_iter().map(|v| Edge::new(cursor(&v), v)));
    conn
}

/// The cursor of an item kept in (time, id) order.
pub(crate) fn time_cursor(at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> String {
    crate::domain::pagination::Cursor {
        key: at.to_rfc3339(),
        id,
    }
    .encode()
}

/// Largest `limit` of a customer's nested lists.
pub(super) const MAX_NESTED: u64 = 100;

/// Default `limit` of a customer's nested lists.
pub(super) const DEFAULT_NESTED: i32 = 20;

/// A nested list's `limit`, checked.
pub(super) fn nested_limit(limit: i32) -> async_graphql::Result<u64> {
    u64::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_NESTED).contains(l))
        .ok_or_else(|| async_graphql::Error::new(format!("limit must be between 1 and {MAX_NESTED}")))
}
