//! `/loyalty/program`, a customer's `/loyalty` account, ledger and statement
//! (by our id, by external id for partners, and `/me/loyalty`), the moving
//! operations (which require `Idempotency-Key` unless `?simulate=true`),
//! `/loyalty/entries/{id}` and its cancel, checkout holds (in `holds`), and
//! `/loyalty/audit`.

pub mod holds;

use actix_web::{HttpRequest, HttpResponse, web};

use super::edge::IDEMPOTENCY_KEY;
use super::extract::{Filtered, Json, Paged, Query, parse_id};
use super::problem::Problem;
use super::{Db, ErrorResponses, ReadDb, created};
use crate::auth::BearerAuth;
use crate::contract::loyalty::{
    AccountView, AdjustInput, AuditReport, EarnInput, EntryFilter, EntryView, LiabilityQuery, LiabilityReport,
    LoyaltyProgram, LoyaltyTierChange, MoveQuery, MoveResult, RedeemInput, ReferralCandidate, RewardInput,
    RewardRedemption, RewardView, Statement, StatementQuery, TierInput, TierView,
};
use crate::contract::{Page, PageQuery};
use crate::error::AppResult;
use crate::service::loyalty::moves::{self, MoveOptions, Moved};
use crate::service::loyalty::{self, Holder, audit, referrals, rewards, tiers};

/// Reads the loyalty program.
#[utoipa::path(get, path = "/api/v1/loyalty/program", tag = "loyalty",
    responses((status = 200, body = LoyaltyProgram), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn get_loyalty_program(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::get_program(&db, &actor).await?))
}

/// Replaces the loyalty program: earn rates, rounding, minimum redemption,
/// expiry (months, end of day or month, time zone), pending days, debt limit.
#[utoipa::path(put, path = "/api/v1/loyalty/program", tag = "loyalty", request_body = LoyaltyProgram,
    responses((status = 200, body = LoyaltyProgram), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn replace_loyalty_program(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<LoyaltyProgram>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::put_program(&db, &actor, input).await?))
}

pub(super) fn by_id(raw: &str) -> AppResult<Holder> {
    Ok(Holder::Id(parse_id(raw, "customer")?))
}

/// A customer's points: spendable, pending, debt, lifetime earned, expiring
/// in the next 30 days, referral code.
#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = AccountView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_loyalty_account(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::get_account(&db, &actor, &by_id(&id)?).await?))
}

/// A customer's points, by the integration's external id.
#[utoipa::path(get, path = "/api/v1/customers/by-external-id/{external_id}/loyalty", tag = "loyalty",
    params(("external_id" = String, Path)),
    responses((status = 200, body = AccountView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_loyalty_account_by_external_id(
    db: Db,
    BearerAuth(actor): BearerAuth,
    ext: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::get_account(&db, &actor, &Holder::ExternalId(ext.into_inner())).await?))
}

/// The signed-in customer's points.
#[utoipa::path(get, path = "/api/v1/me/loyalty", tag = "loyalty",
    responses((status = 200, body = AccountView), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn get_my_loyalty_account(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::get_account(&db, &actor, &Holder::Me).await?))
}

/// A customer's ledger, newest first, each entry with the lots it moved.
#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty/entries", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), EntryFilter, PageQuery),
    responses((status = 200, body = Page<EntryView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn list_loyalty_entries(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Filtered(filter, page): Filtered<EntryFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::list_entries(&db, &actor, &by_id(&id)?, &filter, &page).await?))
}

/// The signed-in customer's ledger, newest first.
#[utoipa::path(get, path = "/api/v1/me/loyalty/entries", tag = "loyalty", params(EntryFilter, PageQuery),
    responses((status = 200, body = Page<EntryView>), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn list_my_loyalty_entries(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(filter, page): Filtered<EntryFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(loyalty::list_entries(&db, &actor, &Holder::Me, &filter, &page).await?))
}

/// A customer's statement for a period: opening balance, every movement with
/// the lots it drew on, closing balance.
#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty/statement", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), StatementQuery),
    responses((status = 200, body = Statement), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_loyalty_statement(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Query(q): Query<StatementQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(audit::statement(&db, &actor, &by_id(&id)?, &q).await?))
}

/// The signed-in customer's statement for a period.
#[utoipa::path(get, path = "/api/v1/me/loyalty/statement", tag = "loyalty", params(StatementQuery),
    responses((status = 200, body = Statement), ErrorResponses), security(("bearer" = ["customer"])))]
pub async fn get_my_loyalty_statement(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Query(q): Query<StatementQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(audit::statement(&db, &actor, &Holder::Me, &q).await?))
}

pub(super) fn options(req: &HttpRequest, q: &MoveQuery) -> MoveOptions {
    MoveOptions {
        key: req
            .headers()
            .get(IDEMPOTENCY_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        simulate: q.simulate.unwrap_or(false),
    }
}

/// 201 with the entry's address for a new entry; 200 for one the key (or
/// the order) already made, and for a simulation.
fn answer(moved: Moved) -> HttpResponse {
    match moved {
        Moved::Created(r) if !r.simulated => created(format!("/api/v1/loyalty/entries/{}", r.entry.id), r),
        other => HttpResponse::Ok().json(other.into_inner()),
    }
}

/// Credits points: for a purchase (`amount_minor` and `currency`, at the
/// program's rate and the tier's multiplier), for a recorded order
/// (`order_id`; it earns once however often sent), or as a bonus (`points`).
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/earn", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery), request_body = EarnInput,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key or for this order, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn earn_loyalty_points(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<EarnInput>,
) -> AppResult<HttpResponse> {
    let holder = by_id(&id)?;
    Ok(answer(
        moves::earn(&db, &actor, &holder, input, &options(&req, &q)).await?,
    ))
}

/// Credits points to a customer named by external id.
#[utoipa::path(post, path = "/api/v1/customers/by-external-id/{external_id}/loyalty/earn", tag = "loyalty",
    params(("external_id" = String, Path), MoveQuery), request_body = EarnInput,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key or for this order, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn earn_loyalty_points_by_external_id(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    ext: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<EarnInput>,
) -> AppResult<HttpResponse> {
    let holder = Holder::ExternalId(ext.into_inner());
    Ok(answer(
        moves::earn(&db, &actor, &holder, input, &options(&req, &q)).await?,
    ))
}

/// Spends points the customer can spend now, oldest-expiring first; asking
/// for more is a 409 `insufficient_points` stating the spendable balance.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/redeem", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery), request_body = RedeemInput,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, or the key still running", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn redeem_loyalty_points(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<RedeemInput>,
) -> AppResult<HttpResponse> {
    let holder = by_id(&id)?;
    Ok(answer(
        moves::redeem(&db, &actor, &holder, input, &options(&req, &q)).await?,
    ))
}

/// Spends points of a customer named by external id.
#[utoipa::path(post, path = "/api/v1/customers/by-external-id/{external_id}/loyalty/redeem", tag = "loyalty",
    params(("external_id" = String, Path), MoveQuery), request_body = RedeemInput,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, or the key still running", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn redeem_loyalty_points_by_external_id(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    ext: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<RedeemInput>,
) -> AppResult<HttpResponse> {
    let holder = Holder::ExternalId(ext.into_inner());
    Ok(answer(
        moves::redeem(&db, &actor, &holder, input, &options(&req, &q)).await?,
    ))
}

/// A correction by staff with a reason code: up makes a lot, down draws on
/// spendable points and never overdraws.
#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/adjust", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery), request_body = AdjustInput,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, or the key still running", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn adjust_loyalty_points(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<AdjustInput>,
) -> AppResult<HttpResponse> {
    let holder = by_id(&id)?;
    Ok(answer(
        moves::adjust(&db, &actor, &holder, input, &options(&req, &q)).await?,
    ))
}

/// Reads one ledger entry with the lots it moved.
#[utoipa::path(get, path = "/api/v1/loyalty/entries/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = EntryView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner", "customer"])))]
pub async fn get_loyalty_entry(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty entry")?;
    Ok(HttpResponse::Ok().json(loyalty::get_entry(&db, &actor, id).await?))
}

/// Cancels a redemption (the order it paid for was cancelled): the points go
/// back into the lots they came from, with their expiry; points of a lot
/// already expired come back for the program's grace period. Once per
/// redemption.
#[utoipa::path(post, path = "/api/v1/loyalty/entries/{id}/cancel", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery),
    responses((status = 201, body = MoveResult), (status = 200, description = "Simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a redemption, or already cancelled", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn cancel_loyalty_entry(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty entry")?;
    Ok(answer(moves::cancel(&db, &actor, id, &options(&req, &q)).await?))
}

/// Checks the ledger over every account: balance = the ledger's sum, points
/// = what the lots hold, each lot = its moves, last balance = the account's.
#[utoipa::path(get, path = "/api/v1/loyalty/audit", tag = "loyalty",
    responses((status = 200, body = AuditReport), ErrorResponses), security(("bearer" = ["admin"])))]
pub async fn audit_loyalty(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(audit::audit(&db, &actor).await?))
}

/// The tiers, lowest first.
#[utoipa::path(get, path = "/api/v1/loyalty/tiers", tag = "loyalty",
    responses((status = 200, body = Vec<TierView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner", "customer"])))]
pub async fn list_loyalty_tiers(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tiers::list(&db, &actor).await?))
}

/// Creates a tier: a name, the qualifying points (earned in a rolling 12
/// months) that reach it, an earn multiplier and its benefits.
#[utoipa::path(post, path = "/api/v1/loyalty/tiers", tag = "loyalty", request_body = TierInput,
    responses((status = 201, body = TierView),
        (status = 409, description = "Another tier has the name or the threshold", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn create_loyalty_tier(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<TierInput>,
) -> AppResult<HttpResponse> {
    let view = tiers::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/loyalty/tiers/{}", view.id), view))
}

/// Replaces a tier's definition.
#[utoipa::path(put, path = "/api/v1/loyalty/tiers/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    request_body = TierInput,
    responses((status = 200, body = TierView),
        (status = 409, description = "Another tier has the name or the threshold", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn replace_loyalty_tier(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<TierInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty tier")?;
    Ok(HttpResponse::Ok().json(tiers::replace(&db, &actor, id, input).await?))
}

/// Deletes a tier no account holds.
#[utoipa::path(delete, path = "/api/v1/loyalty/tiers/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "Accounts hold the tier", body = Problem, content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn delete_loyalty_tier(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty tier")?;
    tiers::delete(&db, &actor, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A customer's moves between tiers, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty/tier-history", tag = "loyalty",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<LoyaltyTierChange>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner"])))]
pub async fn get_loyalty_tier_history(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tiers::history(&db, &actor, &by_id(&id)?).await?))
}

/// The rewards catalogue, cheapest first.
#[utoipa::path(get, path = "/api/v1/loyalty/rewards", tag = "loyalty",
    responses((status = 200, body = Vec<RewardView>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner", "customer"])))]
pub async fn list_loyalty_rewards(db: Db, BearerAuth(actor): BearerAuth) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rewards::list(&db, &actor).await?))
}

/// Adds a reward: cost in points, optional stock and availability window.
#[utoipa::path(post, path = "/api/v1/loyalty/rewards", tag = "loyalty", request_body = RewardInput,
    responses((status = 201, body = RewardView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn create_loyalty_reward(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Json(input): Json<RewardInput>,
) -> AppResult<HttpResponse> {
    let view = rewards::create(&db, &actor, input).await?;
    Ok(created(format!("/api/v1/loyalty/rewards/{}", view.id), view))
}

/// Reads a reward.
#[utoipa::path(get, path = "/api/v1/loyalty/rewards/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RewardView), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst", "partner", "customer"])))]
pub async fn get_loyalty_reward(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty reward")?;
    Ok(HttpResponse::Ok().json(rewards::get(&db, &actor, id).await?))
}

/// Replaces a reward's definition, its stock included.
#[utoipa::path(put, path = "/api/v1/loyalty/rewards/{id}", tag = "loyalty", params(("id" = uuid::Uuid, Path)),
    request_body = RewardInput,
    responses((status = 200, body = RewardView), ErrorResponses), security(("bearer" = ["admin", "manager"])))]
pub async fn replace_loyalty_reward(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Json(input): Json<RewardInput>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty reward")?;
    Ok(HttpResponse::Ok().json(rewards::replace(&db, &actor, id, input).await?))
}

/// Redeems a reward for a customer: one item of stock and its cost in
/// points, together or not at all (never oversold).
#[utoipa::path(post, path = "/api/v1/loyalty/rewards/{id}/redeem", tag = "loyalty",
    params(("id" = uuid::Uuid, Path), MoveQuery), request_body = RewardRedemption,
    responses((status = 201, body = MoveResult),
        (status = 200, description = "Already recorded under this key, or simulated", body = MoveResult),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Out of stock, not available now, or `insufficient_points`", body = Problem,
            content_type = "application/problem+json"),
        ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "partner"])))]
pub async fn redeem_loyalty_reward(
    db: Db,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
    id: web::Path<String>,
    Query(q): Query<MoveQuery>,
    Json(input): Json<RewardRedemption>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "loyalty reward")?;
    Ok(answer(
        rewards::redeem(&db, &actor, id, input, &options(&req, &q)).await?,
    ))
}

/// What the program owes at an instant (default now): points outstanding by
/// the month they expire, pending, debt, unrecovered, and expired points
/// ("breakage") by the month they were due — rebuilt from the ledger, so a
/// past instant reports as it stood.
#[utoipa::path(get, path = "/api/v1/loyalty/liability", tag = "loyalty", params(LiabilityQuery),
    responses((status = 200, body = LiabilityReport), ErrorResponses),
    security(("bearer" = ["admin", "manager", "analyst", "partner"])))]
pub async fn get_loyalty_liability(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    Query(q): Query<LiabilityQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(audit::liability(&db, &actor, &q).await?))
}

/// Promoters to ask for referrals, newest candidates first: customers whose
/// promoter answer made them candidates and whose latest NPS answer is still
/// a promoter's, with their referral code and how many they have referred.
#[utoipa::path(get, path = "/api/v1/loyalty/referral-candidates", tag = "loyalty", params(PageQuery),
    responses((status = 200, body = Page<ReferralCandidate>), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn list_referral_candidates(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Filtered(_no_filter, page): Paged,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(referrals::candidates(&db, &actor, &page).await?))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_loyalty_program,
    replace_loyalty_program,
    get_loyalty_account,
    get_loyalty_account_by_external_id,
    get_my_loyalty_account,
    list_loyalty_entries,
    list_my_loyalty_entries,
    get_loyalty_statement,
    get_my_loyalty_statement,
    earn_loyalty_points,
    earn_loyalty_points_by_external_id,
    redeem_loyalty_points,
    redeem_loyalty_points_by_external_id,
    adjust_loyalty_points,
    get_loyalty_entry,
    cancel_loyalty_entry,
    audit_loyalty,
    list_loyalty_tiers,
    create_loyalty_tier,
    replace_loyalty_tier,
    delete_loyalty_tier,
    get_loyalty_tier_history,
    list_loyalty_rewards,
    create_loyalty_reward,
    get_loyalty_reward,
    replace_loyalty_reward,
    redeem_loyalty_reward,
    get_loyalty_liability,
    list_referral_candidates,
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    holds::configure(cfg);
    cfg.service(
        web::resource("/loyalty/program")
            .route(web::get().to(get_loyalty_program))
            .route(web::put().to(replace_loyalty_program)),
    )
    .service(web::resource("/loyalty/audit").route(web::get().to(audit_loyalty)))
    .service(web::resource("/loyalty/liability").route(web::get().to(get_loyalty_liability)))
    .service(web::resource("/loyalty/referral-candidates").route(web::get().to(list_referral_candidates)))
    .service(
        web::resource("/loyalty/tiers")
            .route(web::get().to(list_loyalty_tiers))
            .route(web::post().to(create_loyalty_tier)),
    )
    .service(
        web::resource("/loyalty/tiers/{id}")
            .route(web::put().to(replace_loyalty_tier))
            .route(web::delete().to(delete_loyalty_tier)),
    )
    .service(
        web::resource("/loyalty/rewards")
            .route(web::get().to(list_loyalty_rewards))
            .route(web::post().to(create_loyalty_reward)),
    )
    .service(
        web::resource("/loyalty/rewards/{id}")
            .route(web::get().to(get_loyalty_reward))
            .route(web::put().to(replace_loyalty_reward)),
    )
    .service(web::resource("/loyalty/rewards/{id}/redeem").route(web::post().to(redeem_loyalty_reward)))
    .service(web::resource("/customers/{id}/loyalty/tier-history").route(web::get().to(get_loyalty_tier_history)))
    .service(web::resource("/loyalty/entries/{id}").route(web::get().to(get_loyalty_entry)))
    .service(web::resource("/loyalty/entries/{id}/cancel").route(web::post().to(cancel_loyalty_entry)))
    .service(web::resource("/customers/{id}/loyalty").route(web::get().to(get_loyalty_account)))
    .service(web::resource("/customers/{id}/loyalty/entries").route(web::get().to(list_loyalty_entries)))
    .service(web::resource("/customers/{id}/loyalty/statement").route(web::get().to(get_loyalty_statement)))
    .service(web::resource("/customers/{id}/loyalty/earn").route(web::post().to(earn_loyalty_points)))
    .service(web::resource("/customers/{id}/loyalty/redeem").route(web::post().to(redeem_loyalty_points)))
    .service(web::resource("/customers/{id}/loyalty/adjust").route(web::post().to(adjust_loyalty_points)))
    .service(
        web::resource("/customers/by-external-id/{external_id}/loyalty")
            .route(web::get().to(get_loyalty_account_by_external_id)),
    )
    .service(
        web::resource("/customers/by-external-id/{external_id}/loyalty/earn")
            .route(web::post().to(earn_loyalty_points_by_external_id)),
    )
    .service(
        web::resource("/customers/by-external-id/{external_id}/loyalty/redeem")
            .route(web::post().to(redeem_loyalty_points_by_external_id)),
    )
    .service(web::resource("/me/loyalty").route(web::get().to(get_my_loyalty_account)))
    .service(web::resource("/me/loyalty/entries").route(web::get().to(list_my_loyalty_entries)))
    .service(web::resource("/me/loyalty/statement").route(web::get().to(get_my_loyalty_statement)));
}
