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

/// A service page as a Relay connection, each edge with the cursor the
/// service gave its item.
pub(crate) fn connection<T: async_graphql::OutputType>(request: &PageRequest, page: Page<T>) -> Connection<String, T> {
    let mut conn = Connection::new(request.after.is_some(), page.next_cursor.is_some());
    conn.edges.extend(
        page.cursors
            .into_iter()
            .zip(page.items)
            .map(|(cursor, v)| Edge::new(cursor, v)),
    );
    conn
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
