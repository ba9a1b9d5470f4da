//! The staff directory.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object};

use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::staff::{StaffInput, StaffView};
use crate::service::staff;

#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The staff directory, by id.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn staff(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, StaffView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(staff::list(db, actor, &request).await)?;
        Ok(connection(&request, result))
    }
}

#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Creates or replaces a staff directory entry.
    async fn put_staff(&self, c: &Context<'_>, id: String, input: StaffInput) -> async_graphql::Result<StaffView> {
        let (actor, db) = ctx(c)?;
        gql(staff::put(db, actor, &id, input).await)
    }
}
