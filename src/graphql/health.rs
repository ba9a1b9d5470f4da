//! Health: a customer's score with why, the manual factor, the recompute.

use async_graphql::{Context, ID, Object};

use super::customers::parse_uuid;
use super::{ctx, gql};
use crate::contract::health::{HealthRecomputeResult, HealthView, OverrideInput, OverrideView};
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

    /// Scores every customer now and stores the scores as history.
    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn recompute_health(&self, c: &Context<'_>) -> async_graphql::Result<HealthRecomputeResult> {
        let (actor, db) = ctx(c)?;
        gql(health::recompute(db, actor).await)
    }
}
