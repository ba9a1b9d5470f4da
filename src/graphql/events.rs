//! The event feed as a connection.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object};

use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::events::{EventType, EventView};
use crate::service::events;

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// Events in commit order after a position (admins and partners); the
    /// same rows as `GET /api/v1/events`.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn events(
        &self,
        c: &Context<'_>,
        types: Option<Vec<EventType>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EventView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(events::feed_page(db, actor, &types.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }
}
