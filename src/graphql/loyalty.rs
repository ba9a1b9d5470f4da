//! Loyalty: the program, accounts, ledgers, statements and the audit; the
//! moves take their idempotency key as an argument (required, as in REST).

use async_graphql::connection::Connection;
use async_graphql::{Context, ErrorExtensions, ID, Object};

use super::customers::parse_uuid;
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::loyalty::{
    AccountView, AdjustInput, AuditReport, EarnInput, EntryFilter, EntryView, HoldInput, HoldResult, HoldView,
    LiabilityQuery, LiabilityReport, LoyaltyProgram, MoveResult, RedeemInput, ReferralCandidate, RewardInput,
    RewardRedemption, RewardView, Statement, StatementQuery, TierInput, TierView,
};
use crate::error::AppError;
use crate::service::loyalty::holds::{self, Settle};
use crate::service::loyalty::moves::{self, MoveOptions};
use crate::service::loyalty::{self, Holder, audit, referrals, rewards, tiers};

/// The account a query or move names: `customerId`, or `externalId` (partners).
fn holder(customer_id: Option<ID>, external_id: Option<String>) -> async_graphql::Result<Holder> {
    match (customer_id, external_id) {
        (Some(id), None) => Ok(Holder::Id(parse_uuid(&id, "customer")?)),
        (None, Some(ext)) => Ok(Holder::ExternalId(ext)),
        _ => Err(AppError::field("customerId", "give customerId or externalId, not both").extend()),
    }
}

fn options(idempotency_key: String, simulate: Option<bool>) -> MoveOptions {
    MoveOptions {
        key: Some(idempotency_key),
        simulate: simulate.unwrap_or(false),
    }
}

#[derive(Default)]
pub struct LoyaltyQuery;

#[Object]
impl LoyaltyQuery {
    async fn loyalty_program(&self, c: &Context<'_>) -> async_graphql::Result<LoyaltyProgram> {
        let (actor, db) = ctx(c)?;
        gql(loyalty::get_program(db, actor).await)
    }

    /// A customer's points, by `customerId` or `externalId`.
    async fn loyalty_account(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        external_id: Option<String>,
    ) -> async_graphql::Result<AccountView> {
        let (actor, db) = ctx(c)?;
        gql(loyalty::get_account(db, actor, &holder(customer_id, external_id)?).await)
    }

    /// The signed-in customer's points.
    async fn my_loyalty_account(&self, c: &Context<'_>) -> async_graphql::Result<AccountView> {
        let (actor, db) = ctx(c)?;
        gql(loyalty::get_account(db, actor, &Holder::Me).await)
    }

    /// A customer's ledger (the signed-in customer's without `customerId`), newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn loyalty_entries(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        filter: Option<EntryFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EntryView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let holder = match customer_id {
            Some(id) => Holder::Id(parse_uuid(&id, "customer")?),
            None => Holder::Me,
        };
        let result = gql(loyalty::list_entries(db, actor, &holder, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }

    /// A customer's statement for a period (the signed-in customer's without `customerId`).
    #[graphql(complexity = "super::SET_WIDE_READ / 4 + child_complexity")]
    async fn loyalty_statement(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        period: StatementQuery,
    ) -> async_graphql::Result<Statement> {
        let (actor, db) = ctx(c)?;
        let holder = match customer_id {
            Some(id) => Holder::Id(parse_uuid(&id, "customer")?),
            None => Holder::Me,
        };
        gql(audit::statement(db, actor, &holder, &period).await)
    }

    /// The tiers, lowest first.
    async fn loyalty_tiers(&self, c: &Context<'_>) -> async_graphql::Result<Vec<TierView>> {
        let (actor, db) = ctx(c)?;
        gql(tiers::list(db, actor).await)
    }

    /// The rewards catalogue, cheapest first.
    async fn loyalty_rewards(&self, c: &Context<'_>) -> async_graphql::Result<Vec<RewardView>> {
        let (actor, db) = ctx(c)?;
        gql(rewards::list(db, actor).await)
    }

    /// What the program owes at an instant (default now).
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn loyalty_liability(
        &self,
        c: &Context<'_>,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> async_graphql::Result<LiabilityReport> {
        let (actor, db) = ctx(c)?;
        gql(audit::liability(db, actor, &LiabilityQuery { as_of }).await)
    }

    /// Checks the ledger's invariants over every account (admin).
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn loyalty_audit(&self, c: &Context<'_>) -> async_graphql::Result<AuditReport> {
        let (actor, db) = ctx(c)?;
        gql(audit::audit(db, actor).await)
    }

    /// Promoters to ask for referrals, newest candidates first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn loyalty_referral_candidates(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ReferralCandidate>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(referrals::candidates(db, actor, &request).await)?;
        Ok(connection(&request, result))
    }

    /// A checkout's hold on points.
    async fn loyalty_hold(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<HoldView> {
        let (actor, db) = ctx(c)?;
        gql(holds::get(db, actor, parse_uuid(&id, "loyalty hold")?).await)
    }
}

#[derive(Default)]
pub struct LoyaltyMutation;

#[Object]
impl LoyaltyMutation {
    async fn replace_loyalty_program(
        &self,
        c: &Context<'_>,
        input: LoyaltyProgram,
    ) -> async_graphql::Result<LoyaltyProgram> {
        let (actor, db) = ctx(c)?;
        gql(loyalty::put_program(db, actor, input).await)
    }

    async fn create_loyalty_tier(&self, c: &Context<'_>, input: TierInput) -> async_graphql::Result<TierView> {
        let (actor, db) = ctx(c)?;
        gql(tiers::create(db, actor, input).await)
    }

    async fn replace_loyalty_tier(&self, c: &Context<'_>, id: ID, input: TierInput) -> async_graphql::Result<TierView> {
        let (actor, db) = ctx(c)?;
        gql(tiers::replace(db, actor, parse_uuid(&id, "loyalty tier")?, input).await)
    }

    /// Deletes a tier no account holds; true when deleted.
    async fn delete_loyalty_tier(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let (actor, db) = ctx(c)?;
        gql(tiers::delete(db, actor, parse_uuid(&id, "loyalty tier")?).await).map(|()| true)
    }

    async fn create_loyalty_reward(&self, c: &Context<'_>, input: RewardInput) -> async_graphql::Result<RewardView> {
        let (actor, db) = ctx(c)?;
        gql(rewards::create(db, actor, input).await)
    }

    async fn replace_loyalty_reward(
        &self,
        c: &Context<'_>,
        id: ID,
        input: RewardInput,
    ) -> async_graphql::Result<RewardView> {
        let (actor, db) = ctx(c)?;
        gql(rewards::replace(db, actor, parse_uuid(&id, "loyalty reward")?, input).await)
    }

    /// Redeems a reward: one item of stock and its points, together.
    async fn redeem_loyalty_reward(
        &self,
        c: &Context<'_>,
        id: ID,
        input: RewardRedemption,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<MoveResult> {
        let (actor, db) = ctx(c)?;
        let opts = options(idempotency_key, simulate);
        let id = parse_uuid(&id, "loyalty reward")?;
        gql(rewards::redeem(db, actor, id, input, &opts).await).map(moves::Moved::into_inner)
    }

    /// Credits points (a purchase, a recorded order, or a bonus).
    async fn earn_loyalty_points(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        external_id: Option<String>,
        input: EarnInput,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<MoveResult> {
        let (actor, db) = ctx(c)?;
        let holder = holder(customer_id, external_id)?;
        let opts = options(idempotency_key, simulate);
        gql(moves::earn(db, actor, &holder, input, &opts).await).map(moves::Moved::into_inner)
    }

    /// Spends points; `insufficient_points` when the spendable balance is short.
    async fn redeem_loyalty_points(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        external_id: Option<String>,
        input: RedeemInput,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<MoveResult> {
        let (actor, db) = ctx(c)?;
        let holder = holder(customer_id, external_id)?;
        let opts = options(idempotency_key, simulate);
        gql(moves::redeem(db, actor, &holder, input, &opts).await).map(moves::Moved::into_inner)
    }

    /// A correction by staff, with a reason code.
    async fn adjust_loyalty_points(
        &self,
        c: &Context<'_>,
        customer_id: ID,
        input: AdjustInput,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<MoveResult> {
        let (actor, db) = ctx(c)?;
        let holder = Holder::Id(parse_uuid(&customer_id, "customer")?);
        let opts = options(idempotency_key, simulate);
        gql(moves::adjust(db, actor, &holder, input, &opts).await).map(moves::Moved::into_inner)
    }

    /// Cancels a redemption: its points go back into their lots.
    async fn cancel_loyalty_entry(
        &self,
        c: &Context<'_>,
        id: ID,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<MoveResult> {
        let (actor, db) = ctx(c)?;
        let opts = options(idempotency_key, simulate);
        gql(moves::cancel(db, actor, parse_uuid(&id, "loyalty entry")?, &opts).await).map(moves::Moved::into_inner)
    }

    /// Holds points for a checkout until it is captured or released (or expires).
    async fn hold_loyalty_points(
        &self,
        c: &Context<'_>,
        customer_id: Option<ID>,
        external_id: Option<String>,
        input: HoldInput,
        idempotency_key: String,
        simulate: Option<bool>,
    ) -> async_graphql::Result<HoldResult> {
        let (actor, db) = ctx(c)?;
        let holder = holder(customer_id, external_id)?;
        let opts = options(idempotency_key, simulate);
        gql(holds::hold(db, actor, &holder, input, &opts).await).map(moves::Moved::into_inner)
    }

    /// Captures a hold: its redemption stands.
    async fn capture_loyalty_hold(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<HoldResult> {
        let (actor, db) = ctx(c)?;
        gql(holds::settle(db, actor, parse_uuid(&id, "loyalty hold")?, Settle::Capture).await)
    }

    /// Releases a hold: its points go back into their lots.
    async fn release_loyalty_hold(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<HoldResult> {
        let (actor, db) = ctx(c)?;
        gql(holds::settle(db, actor, parse_uuid(&id, "loyalty hold")?, Settle::Release).await)
    }
}
