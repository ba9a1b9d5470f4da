//! Order queries and mutations.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use super::{ctx, gql};
use crate::contract::orders::{NewOrder, OrderView, RefundInput};
use crate::error::AppError;
use crate::service::orders::{self, Recorded};

fn order_id(id: &ID) -> async_graphql::Result<Uuid> {
    gql(Uuid::parse_str(id).map_err(|_| AppError::NotFound("order")))
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order.
    async fn order(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<OrderView> {
        let (actor, db) = ctx(c)?;
        gql(orders::get(db, actor, order_id(&id)?).await)
    }
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Records an order; the same `externalId` returns the order already recorded.
    async fn record_order(&self, c: &Context<'_>, input: NewOrder) -> async_graphql::Result<OrderView> {
        let (actor, db) = ctx(c)?;
        Ok(match gql(orders::record(db, actor, input).await)? {
            Recorded::Created(v) | Recorded::Existing(v) => v,
        })
    }

    /// Refunds an order in full, or `amountMinor` of it.
    async fn refund_order(
        &self,
        c: &Context<'_>,
        id: ID,
        input: Option<RefundInput>,
    ) -> async_graphql::Result<OrderView> {
        let (actor, db) = ctx(c)?;
        gql(orders::refund(db, actor, order_id(&id)?, input.unwrap_or_default()).await)
    }

    /// Completes an order refunded in full again.
    async fn reinstate_order(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<OrderView> {
        let (actor, db) = ctx(c)?;
        gql(orders::reinstate(db, actor, order_id(&id)?).await)
    }
}
