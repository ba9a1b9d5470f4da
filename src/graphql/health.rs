//! Health: a customer's score with why, the manual factor, the recompute.

use async_graphql::{Context, ID, Object};

use super::customers::parse_uuid;
use super::{ctx, gql};
use crate::contract::health::{
    HealthBacktest, HealthBacktestInput, HealthPreview, HealthPreviewInput, HealthRecomputeResult, HealthReport,
    HealthReportQuery, HealthSettings, HealthView, OverrideInput, OverrideView,
};
use crate::service::health;

#[derive(Default)]
pub struct HealthQuery;

#[Object]
impl HealthQuery {
    /// A customer's health now, with each factor's contribution and the stored history.
    async fn customer_health(&self, c: &Context<'_>, customer_id: ID) -> async_graphql::Result<HealthView> {
        let (actor, db) = ctx(c)?;
        gql(health::get(db, actor, parse_uuid(&customer_id, "customer")?).await)
    }

    /// The weights and cut-offs scores are computed with.
    async fn health_settings(&self, c: &Context<'_>) -> async_graphql::Result<HealthSettings> {
        let (actor, db) = ctx(c)?;
        gql(health::settings::get(db, actor).await)
    }

    /// What other weights and cut-offs would do to every customer's level, saving nothing.
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn health_preview(
        &self,
        c: &Context<'_>,
        #[graphql(default)] input: HealthPreviewInput,
    ) -> async_graphql::Result<HealthPreview> {
        let (actor, db) = ctx(c)?;
        gql(health::settings::preview(db, actor, input).await)
    }

    /// Replays the stored factor history with the settings in force and proposed ones.
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn health_backtest(
        &self,
        c: &Context<'_>,
        #[graphql(default)] input: HealthBacktestInput,
    ) -> async_graphql::Result<HealthBacktest> {
        let (actor, db) = ctx(c)?;
        gql(health::backtest::run(db, actor, input).await)
    }

    /// The monthly health report (`month` as `YYYY-MM`; the current month by default).
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn health_report(&self, c: &Context<'_>, month: Option<String>) -> async_graphql::Result<HealthReport> {
        let (actor, db) = ctx(c)?;
        gql(health::report::monthly(db, actor, &HealthReportQuery { month }).await)
    }
}

#[derive(Default)]
pub struct HealthMutation;

#[Object]
impl HealthMutation {
    /// Sets (or replaces) a customer's manual health factor.
    async fn set_health_override(
        &self,
        c: &Context<'_>,
        customer_id: ID,
        input: OverrideInput,
    ) -> async_graphql::Result<OverrideView> {
        let (actor, db) = ctx(c)?;
        gql(health::set_override(db, actor, parse_uuid(&customer_id, "customer")?, input).await)
    }

    /// Removes a customer's manual health factor.
    async fn clear_health_override(&self, c: &Context<'_>, customer_id: ID) -> async_graphql::Result<bool> {
        let (actor, db) = ctx(c)?;
        gql(health::clear_override(db, actor, parse_uuid(&customer_id, "customer")?).await).map(|()| true)
    }

    /// Replaces the health weights and cut-offs.
    async fn update_health_settings(
        &self,
        c: &Context<'_>,
        input: HealthSettings,
    ) -> async_graphql::Result<HealthSettings> {
        let (actor, db) = ctx(c)?;
        gql(health::settings::put(db, actor, input).await)
    }

    /// Scores every customer now and stores the scores as history.
    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn recompute_health(&self, c: &Context<'_>) -> async_graphql::Result<HealthRecomputeResult> {
        let (actor, db) = ctx(c)?;
        gql(health::recompute(db, actor).await)
    }
}
