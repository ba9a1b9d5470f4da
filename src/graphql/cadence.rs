//! Contact cadence: the settings and the overdue list.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object};

use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::cadence::{CadenceSettings, OverdueCustomer, OverdueFilter};
use crate::service::cadence;

#[derive(Default)]
pub struct CadenceQuery;

#[Object]
impl CadenceQuery {
    /// Days between contacts per tier, the per-owner task cap, quarterly
    /// reviews and care moments.
    async fn cadence_settings(&self, c: &Context<'_>) -> async_graphql::Result<CadenceSettings> {
        let (actor, db) = ctx(c)?;
        gql(cadence::get_settings(db, actor).await)
    }

    /// Customers past their contact cadence, most overdue first (every
    /// live customer is weighed for each page).
    #[graphql(complexity = "super::SET_WIDE_READ + super::page_weight(first, child_complexity)")]
    async fn overdue_customers(
        &self,
        c: &Context<'_>,
        filter: Option<OverdueFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, OverdueCustomer>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(cadence::overdue(db, actor, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }
}

#[derive(Default)]
pub struct CadenceMutation;

#[Object]
impl CadenceMutation {
    async fn update_cadence_settings(
        &self,
        c: &Context<'_>,
        input: CadenceSettings,
    ) -> async_graphql::Result<CadenceSettings> {
        let (actor, db) = ctx(c)?;
        gql(cadence::put_settings(db, actor, input).await)
    }
}
