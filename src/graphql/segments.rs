//! Segment and RFM queries and mutations.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, Json, Object};
use serde_json::Value;

use super::customers::{customer_connection, parse_uuid};
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::customers::{CustomerFilter, CustomerView};
use crate::contract::segments::{
    AnalyticsSettings, MemberChange, NewSegment, RfmDistribution, RfmRecompute, RfmRecomputeResult, SegmentKind,
    SegmentPatch, SegmentPreview, SegmentRefresh, SegmentView,
};
use crate::service::segments::Membership;
use crate::service::{rfm, segments, settings};

#[ComplexObject]
impl SegmentView {
    /// Members as of the last refresh, in the customers list's order.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn members(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, CustomerView>> {
        let (actor, db) = ctx(c)?;
        let filter = CustomerFilter {
            segment_id: Some(self.id),
            ..Default::default()
        };
        customer_connection(c, db, actor, &filter, None, first, after).await
    }
}

#[derive(Default)]
pub struct SegmentQuery;

#[Object]
impl SegmentQuery {
    /// One segment.
    async fn segment(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<SegmentView> {
        let (actor, db) = ctx(c)?;
        gql(segments::get(db, actor, parse_uuid(&id, "segment")?).await)
    }

    /// Segments, newest first: `first` (1–200, default 50) after a cursor.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn segments(
        &self,
        c: &Context<'_>,
        kind: Option<SegmentKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SegmentView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        Ok(connection(
            &request,
            gql(segments::list(db, actor, kind, &request).await)?,
        ))
    }

    /// How many customers a rule matches and 20 of them, without saving.
    /// The rule is the JSON rule language of the REST API; errors name their
    /// path (`rule.all[2].op`) in `extensions.errors`.
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn segment_preview(&self, c: &Context<'_>, rule: Json<Value>) -> async_graphql::Result<SegmentPreview> {
        let (actor, db) = ctx(c)?;
        gql(segments::preview(db, actor, &rule.0).await)
    }

    /// Customers and spend per RFM label and cell.
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn rfm_distribution(&self, c: &Context<'_>) -> async_graphql::Result<RfmDistribution> {
        let (actor, db) = ctx(c)?;
        gql(rfm::distribution(db, actor).await)
    }

    /// The RFM window, tier cut-offs and lifetime-value projection in force.
    async fn analytics_settings(&self, c: &Context<'_>) -> async_graphql::Result<AnalyticsSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::get_analytics(db, actor).await)
    }
}

#[derive(Default)]
pub struct SegmentMutation;

#[Object]
impl SegmentMutation {
    async fn create_segment(&self, c: &Context<'_>, input: NewSegment) -> async_graphql::Result<SegmentView> {
        let (actor, db) = ctx(c)?;
        gql(segments::create(db, actor, input).await)
    }

    async fn update_segment(&self, c: &Context<'_>, id: ID, patch: SegmentPatch) -> async_graphql::Result<SegmentView> {
        let (actor, db) = ctx(c)?;
        gql(segments::update(db, actor, parse_uuid(&id, "segment")?, patch).await)
    }

    /// Deletes a segment with its members and history; returns the id.
    async fn delete_segment(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let (actor, db) = ctx(c)?;
        gql(segments::delete(db, actor, parse_uuid(&id, "segment")?).await)?;
        Ok(id)
    }

    /// Re-evaluates a dynamic segment's rule.
    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn refresh_segment(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<SegmentRefresh> {
        let (actor, db) = ctx(c)?;
        gql(segments::refresh(db, actor, parse_uuid(&id, "segment")?).await)
    }

    /// Adds customers to a static segment.
    async fn add_segment_members(
        &self,
        c: &Context<'_>,
        id: ID,
        input: MemberChange,
    ) -> async_graphql::Result<SegmentView> {
        let (actor, db) = ctx(c)?;
        gql(segments::change_members(db, actor, parse_uuid(&id, "segment")?, input, Membership::Add).await)
    }

    /// Removes customers from a static segment.
    async fn remove_segment_members(
        &self,
        c: &Context<'_>,
        id: ID,
        input: MemberChange,
    ) -> async_graphql::Result<SegmentView> {
        let (actor, db) = ctx(c)?;
        gql(segments::change_members(db, actor, parse_uuid(&id, "segment")?, input, Membership::Remove).await)
    }

    /// Recomputes RFM scores, lifetime value and value tiers now.
    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn recompute_rfm(
        &self,
        c: &Context<'_>,
        input: Option<RfmRecompute>,
    ) -> async_graphql::Result<RfmRecomputeResult> {
        let (actor, db) = ctx(c)?;
        gql(rfm::recompute(db, actor, input.unwrap_or_default()).await)
    }

    async fn update_analytics_settings(
        &self,
        c: &Context<'_>,
        input: AnalyticsSettings,
    ) -> async_graphql::Result<AnalyticsSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::put_analytics(db, actor, input).await)
    }
}
