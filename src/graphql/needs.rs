//! The needs register: needs, their history, the success plan, the
//! settings and the report.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use super::customers::parse_uuid;
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::needs::{
    MyNeedView, NeedEventView, NeedFilter, NeedLinkInput, NeedLinkView, NeedPatch, NeedReport, NeedReportQuery,
    NeedSettings, NeedTaskInput, NeedTransition, NeedView, NewNeed, SuccessPlan,
};
use crate::contract::tasks::TaskView;
use crate::service::needs;

#[derive(Default)]
pub struct NeedsQuery;

#[Object]
impl NeedsQuery {
    async fn need(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<NeedView> {
        let (actor, db) = ctx(c)?;
        gql(needs::get(db, actor, parse_uuid(&id, "need")?).await)
    }

    /// Needs, newest first: one customer's when `customer_id` is given,
    /// else across customers (an agent's: of the customers it owns).
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn needs(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        filter: Option<NeedFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, NeedView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let result = match customer_id {
            Some(id) => needs::list_for_customer(db, actor, parse_uuid(&id, "customer")?, &filter, &request).await,
            None => needs::list(db, actor, &filter, &request).await,
        };
        Ok(connection(&request, gql(result)?))
    }

    /// A need's history, newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn need_history(
        &self,
        c: &Context<'_>,
        id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, NeedEventView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(needs::history(db, actor, parse_uuid(&id, "need")?, &request).await)?;
        Ok(connection(&request, result))
    }

    async fn need_links(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<Vec<NeedLinkView>> {
        let (actor, db) = ctx(c)?;
        gql(needs::links(db, actor, parse_uuid(&id, "need")?).await)
    }

    /// A customer's success plan: open needs as objectives with their tasks.
    async fn success_plan(&self, c: &Context<'_>, customer_id: ID) -> async_graphql::Result<SuccessPlan> {
        let (actor, db) = ctx(c)?;
        gql(needs::success_plan(db, actor, parse_uuid(&customer_id, "customer")?).await)
    }

    /// The caller's confirmed needs (customers).
    async fn my_needs(&self, c: &Context<'_>) -> async_graphql::Result<Vec<MyNeedView>> {
        let (actor, db) = ctx(c)?;
        gql(needs::mine(db, actor).await)
    }

    async fn need_settings(&self, c: &Context<'_>) -> async_graphql::Result<NeedSettings> {
        let (actor, db) = ctx(c)?;
        gql(needs::get_settings(db, actor).await)
    }

    /// The needs report (every live customer's needs are weighed).
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn need_report(&self, c: &Context<'_>, query: Option<NeedReportQuery>) -> async_graphql::Result<NeedReport> {
        let (actor, db) = ctx(c)?;
        gql(needs::report(db, actor, &query.unwrap_or_default()).await)
    }
}

#[derive(Default)]
pub struct NeedsMutation;

#[Object]
impl NeedsMutation {
    async fn create_need(&self, c: &Context<'_>, customer_id: ID, input: NewNeed) -> async_graphql::Result<NeedView> {
        let (actor, db) = ctx(c)?;
        gql(needs::create(db, actor, parse_uuid(&customer_id, "customer")?, input).await)
    }

    async fn update_need(&self, c: &Context<'_>, id: ID, patch: NeedPatch) -> async_graphql::Result<NeedView> {
        let (actor, db) = ctx(c)?;
        gql(needs::update(db, actor, parse_uuid(&id, "need")?, patch).await)
    }

    async fn transition_need(&self, c: &Context<'_>, id: ID, input: NeedTransition) -> async_graphql::Result<NeedView> {
        let (actor, db) = ctx(c)?;
        gql(needs::transition(db, actor, parse_uuid(&id, "need")?, input).await)
    }

    async fn link_need(&self, c: &Context<'_>, id: ID, input: NeedLinkInput) -> async_graphql::Result<NeedLinkView> {
        let (actor, db) = ctx(c)?;
        gql(needs::link(db, actor, parse_uuid(&id, "need")?, input).await)
    }

    async fn create_need_task(&self, c: &Context<'_>, id: ID, input: NeedTaskInput) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(needs::spawn_task(db, actor, parse_uuid(&id, "need")?, input).await)
    }

    async fn update_need_settings(&self, c: &Context<'_>, input: NeedSettings) -> async_graphql::Result<NeedSettings> {
        let (actor, db) = ctx(c)?;
        gql(needs::put_settings(db, actor, input).await)
    }
}
