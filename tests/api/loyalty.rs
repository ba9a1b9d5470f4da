//! Loyalty points as their users meet them: a shop whose orders earn, a
//! checkout that redeems (once, however often it retries, never more than
//! the customer holds), refunds that take points back, expiry, cancelled
//! redemptions, statements that reconcile, an audit that catches a bad row,
//! and who may do what.

use crate::access::{Expect, Route, answers_as_the_matrix_says};
use crate::common::TestApp;
use rapport::auth::Role;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Turns the program on: 1 point per EUR, rounding down, the given debt limit.
pub(crate) async fn enable(app: &TestApp, debt_limit: i64) {
    let program = json!({
        "enabled": true, "earn_rates": [{"currency": "EUR", "points_per_unit": 1.0}], "rounding": "down",
        "min_redemption": 1, "expiry_months": 12, "expiry_at": "end_of_day", "time_zone": "Europe/Paris",
        "pending_days": 0, "debt_limit": debt_limit, "restore_grace_days": 30
    });
    let saved = app
        .put("/api/v1/loyalty/program", &app.token(Role::Admin), program)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// A POST with an Idempotency-Key; returns (status, body).
pub(crate) async fn keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let res = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A statement period from a day ago to a day ahead.
fn around_now() -> String {
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        "from={}&to={}",
        at(now - chrono::Duration::days(1)),
        at(now + chrono::Duration::days(1))
    )
}

pub(crate) fn key() -> String {
    format!("k-{}", uuid::Uuid::now_v7())
}

pub(crate) async fn order(app: &TestApp, customer: &str, amount_minor: i64) -> String {
    let made = app
        .post(
            "/api/v1/orders",
            &app.token(Role::Admin),
            json!({"customer_id": customer, "amount_minor": amount_minor, "currency": "EUR"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.id()
}

pub(crate) async fn account(app: &TestApp, customer: &str) -> Value {
    let read = app
        .get(
            &format!("/api/v1/customers/{customer}/loyalty"),
            &app.token(Role::Admin),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    read.body
}

pub(crate) async fn entries(app: &TestApp, customer: &str) -> Vec<Value> {
    let read = app
        .get(
            &format!("/api/v1/customers/{customer}/loyalty/entries?limit=200"),
            &app.token(Role::Admin),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    read.body["items"].as_array().cloned().unwrap_or_default()
}

async fn redeem(app: &TestApp, customer: &str, points: i64) -> (StatusCode, Value) {
    keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/redeem"),
        &app.token(Role::Agent),
        &key(),
        json!({"points": points}),
    )
    .await
}

pub(crate) async fn assert_audit_clean(app: &TestApp) {
    let audit = app.get("/api/v1/loyalty/audit", &app.token(Role::Admin)).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert_eq!(audit.body["clean"], true, "{}", audit.body);
}

/// Runs one statement with a customer's id and perhaps a time bound to it
/// (`$1` the time or absent, then the id), on either database.
pub(crate) async fn exec_for(app: &TestApp, sql: &str, at: Option<chrono::DateTime<chrono::Utc>>, customer: &str) {
    let backend = app.db.get_database_backend();
    let id = uuid::Uuid::parse_str(customer).expect("uuid");
    let mut values: Vec<sea_orm::Value> = at.into_iter().map(Into::into).collect();
    values.push(id.into());
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace("$1", "?").replace("$2", "?"),
    };
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("statement");
}

/// Moves every lot of a customer's to expire at `at`.
async fn age_lots(app: &TestApp, customer: &str, at: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(at).expect("time").to_utc();
    exec_for(
        app,
        "UPDATE loyalty_lot SET expires_at = $1 WHERE customer_id = $2",
        Some(at),
        customer,
    )
    .await;
}

async fn run_expiry(app: &TestApp) {
    let run = app
        .post("/api/v1/jobs/loyalty_expiry/run", &app.token(Role::Admin), json!({}))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
}

async fn orders_earn_and_checkouts_redeem_once(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Ada"})).await;
    // An order of 100.99 EUR earns 100 points by itself.
    order(app, &customer, 10_099).await;
    let acct = account(app, &customer).await;
    assert_eq!(
        (
            acct["balance"].as_i64(),
            acct["spendable"].as_i64(),
            acct["lifetime_earned"].as_i64()
        ),
        (Some(100), Some(100), Some(100)),
        "{acct}"
    );
    assert_eq!(acct["expiring_soon"], 0);
    assert_eq!(acct["referral_code"].as_str().map(str::len), Some(8));

    let path = format!("/api/v1/customers/{customer}/loyalty/redeem");
    let agent = app.token(Role::Agent);
    // A key is required, simulations included; a simulation writes nothing.
    let unkeyed = app.post(&path, &agent, json!({"points": 30})).await;
    unkeyed.assert_problem(400, None);
    app.post(&format!("{path}?simulate=true"), &agent, json!({"points": 30}))
        .await
        .assert_problem(400, None);
    let (status, simulated) = keyed(
        app,
        &format!("{path}?simulate=true"),
        &agent,
        &key(),
        json!({"points": 30}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{simulated}");
    assert_eq!(simulated["simulated"], true);
    assert_eq!(simulated["account"]["balance"], 70);
    assert_eq!(entries(app, &customer).await.len(), 1, "a simulation writes nothing");

    let k = key();
    let (first, body) = keyed(app, &path, &agent, &k, json!({"points": 30})).await;
    assert_eq!(first, StatusCode::CREATED, "{body}");
    assert_eq!(body["entry"]["kind"], "redeem");
    assert_eq!(body["entry"]["points"], -30);
    assert_eq!(body["entry"]["balance_after"], 70);
    assert_eq!(body["entry"]["lots"].as_array().map(Vec::len), Some(1));
    let (again, replay) = keyed(app, &path, &agent, &k, json!({"points": 30})).await;
    assert_eq!(
        (again, &replay["entry"]["id"]),
        (StatusCode::CREATED, &body["entry"]["id"])
    );
    let (changed, _) = keyed(app, &path, &agent, &k, json!({"points": 31})).await;
    assert_eq!(changed, StatusCode::UNPROCESSABLE_ENTITY);

    // Asking for more than is spendable says how much is.
    let (short, problem) = redeem(app, &customer, 1_000).await;
    assert_eq!(short, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "insufficient_points");
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains("70"),
        "{problem}"
    );
    // Below the program's minimum, and nonsense, are named.
    let (zero, problem) = redeem(app, &customer, 0).await;
    assert_eq!(zero, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "points");

    // A bonus, and a purchase outside the orders table at the program's rate.
    let earn = format!("/api/v1/customers/{customer}/loyalty/earn");
    let (bonus, b) = keyed(
        app,
        &earn,
        &agent,
        &key(),
        json!({"points": 5, "reason_code": "birthday"}),
    )
    .await;
    assert_eq!(
        (bonus, b["entry"]["kind"].as_str()),
        (StatusCode::CREATED, Some("bonus"))
    );
    let (bought, p) = keyed(
        app,
        &earn,
        &agent,
        &key(),
        json!({"amount_minor": 2_550, "currency": "EUR"}),
    )
    .await;
    assert_eq!((bought, p["entry"]["points"].as_i64()), (StatusCode::CREATED, Some(25)));
    let (usd, problem) = keyed(
        app,
        &earn,
        &agent,
        &key(),
        json!({"amount_minor": 100, "currency": "USD"}),
    )
    .await;
    assert_eq!(usd, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["path"], "currency");
    // Adjustments are staff corrections with a reason; agents may not.
    let adjust = format!("/api/v1/customers/{customer}/loyalty/adjust");
    let (denied, _) = keyed(app, &adjust, &agent, &key(), json!({"points": -5, "reason_code": "x"})).await;
    assert_eq!(denied, StatusCode::FORBIDDEN);
    let manager = app.token(Role::Manager);
    let (down, d) = keyed(
        app,
        &adjust,
        &manager,
        &key(),
        json!({"points": -5, "reason_code": "goodwill_fix"}),
    )
    .await;
    assert_eq!(
        (down, d["account"]["balance"].as_i64()),
        (StatusCode::CREATED, Some(95))
    );

    // The statement reconciles: opening + movements = closing = balance.
    let statement = app
        .get(
            &format!("/api/v1/customers/{customer}/loyalty/statement?{}", around_now()),
            &app.token(Role::Analyst),
        )
        .await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    let moved: i64 = statement.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(statement.body["opening_balance"], 0);
    assert_eq!(statement.body["closing_balance"].as_i64(), Some(moved));
    assert_eq!(moved, 95);
    // Events, one per movement.
    assert_eq!(app.event_types("loyalty.points_changed").await.len(), 5);
    assert_audit_clean(app).await;

    // GraphQL takes the key as an argument; the same key answers the same entry.
    let mutation = "mutation($c: ID!, $k: String!) { redeemLoyaltyPoints(customerId: $c, input: {points: 5}, idempotencyKey: $k) { entry { id points balanceAfter } account { balance } } }";
    let vars = json!({"c": customer, "k": "gql-key-1"});
    let a = app.graphql(Some(&agent), mutation, vars.clone()).await;
    let b = app.graphql(Some(&agent), mutation, vars).await;
    assert_eq!(a["data"]["redeemLoyaltyPoints"]["account"]["balance"], 90, "{a}");
    assert_eq!(
        a["data"]["redeemLoyaltyPoints"]["entry"]["id"],
        b["data"]["redeemLoyaltyPoints"]["entry"]["id"]
    );
    assert_eq!(account(app, &customer).await["balance"], 90);
    // The timeline shows each movement; the 360 the balance.
    let timeline = app
        .get(
            &format!("/api/v1/customers/{customer}/timeline?limit=50"),
            &app.token(Role::Analyst),
        )
        .await;
    let moves: Vec<i64> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "loyalty")
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    assert_eq!(moves, vec![-5, -5, 25, 5, -30, 100], "{}", timeline.body);
    let overview = app
        .get(
            &format!("/api/v1/customers/{customer}/overview"),
            &app.token(Role::Agent),
        )
        .await;
    assert_eq!(overview.body["loyalty"]["balance"], 90, "{}", overview.body);
}

async fn refunds_take_back_their_share_and_spent_points_become_debt(app: &TestApp) {
    enable(app, 50).await;
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Bea"})).await;
    let first = order(app, &customer, 10_000).await;
    // A quarter refunded: a quarter of the 100 points goes back.
    let part = app
        .post(
            &format!("/api/v1/orders/{first}/refund"),
            &admin,
            json!({"amount_minor": 2_500}),
        )
        .await;
    assert_eq!(part.status, StatusCode::OK, "{}", part.body);
    assert_eq!(
        (part.body["status"].as_str(), part.body["refunded_minor"].as_i64()),
        (Some("completed"), Some(2_500))
    );
    assert_eq!(account(app, &customer).await["balance"], 75);
    // Spend it all, then the rest is refunded: the 75 points are gone, so
    // the debt limit (50) becomes debt and the rest is recorded unrecovered.
    assert_eq!(redeem(app, &customer, 75).await.0, StatusCode::CREATED);
    let rest = app
        .post(&format!("/api/v1/orders/{first}/refund"), &admin, json!({}))
        .await;
    assert_eq!(
        (rest.status, rest.body["status"].as_str()),
        (StatusCode::OK, Some("refunded"))
    );
    let acct = account(app, &customer).await;
    assert_eq!(
        (acct["balance"].as_i64(), acct["debt"].as_i64()),
        (Some(-50), Some(50)),
        "{acct}"
    );
    let reversal = entries(app, &customer).await.into_iter().next().unwrap();
    assert_eq!(
        (
            reversal["kind"].as_str(),
            reversal["points"].as_i64(),
            reversal["unrecovered"].as_i64()
        ),
        (Some("reverse"), Some(-50), Some(25)),
        "{reversal}"
    );
    // A refunded order cannot be refunded again.
    app.post(&format!("/api/v1/orders/{first}/refund"), &admin, json!({}))
        .await
        .assert_problem(409, None);
    // The next earn settles the debt first.
    order(app, &customer, 8_000).await;
    let acct = account(app, &customer).await;
    assert_eq!(
        (
            acct["balance"].as_i64(),
            acct["debt"].as_i64(),
            acct["spendable"].as_i64()
        ),
        (Some(30), Some(0), Some(30)),
        "{acct}"
    );
    let earn = entries(app, &customer).await.into_iter().next().unwrap();
    assert_eq!(
        (earn["points"].as_i64(), earn["debt_change"].as_i64()),
        (Some(80), Some(-50))
    );
    // Refunding more than is left is named.
    let second = order(app, &customer, 1_000).await;
    app.post(
        &format!("/api/v1/orders/{second}/refund"),
        &admin,
        json!({"amount_minor": 1_001}),
    )
    .await
    .assert_problem(422, Some("amount_minor"));
    assert_audit_clean(app).await;
}

async fn toggles_and_replays_net_exactly_once(app: &TestApp) {
    enable(app, 10_000).await;
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Cy"})).await;
    let id = order(app, &customer, 4_000).await;
    // The order's earn asked for five more times: still one earn.
    let earn = format!("/api/v1/customers/{customer}/loyalty/earn");
    for _ in 0..5 {
        let (status, body) = keyed(app, &earn, &admin, &key(), json!({"order_id": id})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["entry"]["points"], 40);
    }
    // Completed, refunded, completed again: earn, reverse, earn.
    assert_eq!(
        app.post(&format!("/api/v1/orders/{id}/refund"), &admin, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let back = app
        .post(&format!("/api/v1/orders/{id}/reinstate"), &admin, json!({}))
        .await;
    assert_eq!(
        (back.status, back.body["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{}",
        back.body
    );
    app.post(&format!("/api/v1/orders/{id}/reinstate"), &admin, json!({}))
        .await
        .assert_problem(409, None);
    for _ in 0..5 {
        keyed(app, &earn, &admin, &key(), json!({"order_id": id})).await;
    }
    let kinds: Vec<(String, i64)> = entries(app, &customer)
        .await
        .iter()
        .rev()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("earn".into(), 40), ("reverse".into(), -40), ("earn".into(), 40)]
    );
    assert_eq!(account(app, &customer).await["balance"], 40);
    // Another customer's order is not this customer's to earn on.
    let other = app.create_customer(json!({"name": "Other"})).await;
    let (status, problem) = keyed(
        app,
        &format!("/api/v1/customers/{other}/loyalty/earn"),
        &admin,
        &key(),
        json!({"order_id": id}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_audit_clean(app).await;
}

async fn lots_are_drawn_oldest_first_and_expire_only_their_remainder(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Dee"})).await;
    order(app, &customer, 10_000).await;
    let (_, redeemed) = redeem(app, &customer, 60).await;
    assert_eq!(redeemed["account"]["balance"], 40);
    // Ten days before expiry the lot is announced, once however often the job runs.
    let soon = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    age_lots(app, &customer, &soon).await;
    assert_eq!(account(app, &customer).await["expiring_soon"], 40);
    run_expiry(app).await;
    run_expiry(app).await;
    assert_eq!(app.event_types("loyalty.points_expiring").await.len(), 1);
    // A year on, what is left of the lot (40) expires as one entry.
    age_lots(app, &customer, "2026-01-01T00:00:00Z").await;
    assert_eq!(
        account(app, &customer).await["spendable"],
        0,
        "an expired lot is not spendable"
    );
    assert_eq!(redeem(app, &customer, 1).await.0, StatusCode::CONFLICT);
    run_expiry(app).await;
    run_expiry(app).await;
    let all = entries(app, &customer).await;
    let expired: Vec<&Value> = all.iter().filter(|e| e["kind"] == "expire").collect();
    assert_eq!(expired.len(), 1, "{all:?}");
    assert_eq!(expired[0]["points"], -40);
    assert_eq!(expired[0]["balance_after"], 0);

    // Every kind of credit makes a lot that expires: earn, bonus, adjustment.
    let admin = app.token(Role::Admin);
    order(app, &customer, 1_000).await;
    let earn = format!("/api/v1/customers/{customer}/loyalty/earn");
    keyed(app, &earn, &admin, &key(), json!({"points": 7})).await;
    keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/adjust"),
        &admin,
        &key(),
        json!({"points": 3, "reason_code": "fix"}),
    )
    .await;
    assert_eq!(account(app, &customer).await["balance"], 20);
    age_lots(app, &customer, "2026-01-01T00:00:00Z").await;
    run_expiry(app).await;
    assert_eq!(account(app, &customer).await["balance"], 0);

    // Two lots: a redemption takes the one expiring first.
    order(app, &customer, 5_000).await;
    age_lots(app, &customer, "2099-06-01T00:00:00Z").await;
    order(app, &customer, 5_000).await;
    let (_, r) = redeem(app, &customer, 70).await;
    let lots = r["entry"]["lots"].as_array().cloned().unwrap_or_default();
    let drawn: Vec<i64> = lots.iter().map(|l| l["points"].as_i64().unwrap()).collect();
    assert_eq!(drawn, vec![-50, -20], "{lots:?}");
    assert!(lots[0]["expires_at"].as_str() < lots[1]["expires_at"].as_str());
    assert_audit_clean(app).await;
}

async fn a_cancelled_redemption_goes_back_into_its_lots(app: &TestApp) {
    enable(app, 10_000).await;
    let agent = app.token(Role::Agent);
    let customer = app.create_customer(json!({"name": "Eve"})).await;
    order(app, &customer, 3_000).await;
    order(app, &customer, 3_000).await;
    let (_, r) = redeem(app, &customer, 50).await;
    let redemption = r["entry"]["id"].as_str().unwrap().to_owned();
    let drawn = r["entry"]["lots"].clone();
    let cancel = format!("/api/v1/loyalty/entries/{redemption}/cancel");
    let (status, c) = keyed(app, &cancel, &agent, &key(), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["entry"]["kind"], "restore");
    assert_eq!(c["entry"]["points"], 50);
    assert_eq!(c["entry"]["reverses_entry_id"].as_str(), Some(redemption.as_str()));
    // The same lots, the same expiry, the points the other way.
    let back: Vec<(Value, Value, i64)> = c["entry"]["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lot_id"].clone(),
                l["expires_at"].clone(),
                -l["points"].as_i64().unwrap(),
            )
        })
        .collect();
    let took: Vec<(Value, Value, i64)> = drawn
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lot_id"].clone(),
                l["expires_at"].clone(),
                l["points"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(back, took);
    assert_eq!(account(app, &customer).await["balance"], 60);
    // Once only; and only redemptions.
    keyed(app, &cancel, &agent, &key(), json!({})).await;
    let again = app
        .client
        .post(format!("{}{cancel}", app.address))
        .bearer_auth(&agent)
        .header("Idempotency-Key", key())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let earn_entry = entries(app, &customer).await.last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (not_redeem, _) = keyed(
        app,
        &format!("/api/v1/loyalty/entries/{earn_entry}/cancel"),
        &agent,
        &key(),
        json!({}),
    )
    .await;
    assert_eq!(not_redeem, StatusCode::CONFLICT);

    // A redemption whose lot has expired since comes back for the grace period.
    let (_, r) = redeem(app, &customer, 10).await;
    let redemption = r["entry"]["id"].as_str().unwrap().to_owned();
    age_lots(app, &customer, "2026-01-01T00:00:00Z").await;
    let (status, c) = keyed(
        app,
        &format!("/api/v1/loyalty/entries/{redemption}/cancel"),
        &agent,
        &key(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let lot = &c["entry"]["lots"][0];
    assert_eq!(lot["points"], 10);
    assert!(lot["expires_at"].as_str().unwrap_or_default() > "2026-12-01", "{lot}");
    assert_eq!(account(app, &customer).await["spendable"], 10);
    assert_audit_clean(app).await;
}

async fn concurrent_redemptions_never_overdraw(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Fay"})).await;
    order(app, &customer, 100_000).await;
    assert_eq!(account(app, &customer).await["spendable"], 1_000);
    let path = format!("/api/v1/customers/{customer}/loyalty/redeem");
    let token = app.token(Role::Agent);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = app.client.clone();
            let url = format!("{}{path}", app.address);
            let token = token.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", format!("race-{i}"))
                    .json(&json!({"points": 10}))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, refused), (100, 100));
    let acct = account(app, &customer).await;
    assert_eq!(
        (acct["balance"].as_i64(), acct["spendable"].as_i64()),
        (Some(0), Some(0))
    );
    assert_audit_clean(app).await;
}

async fn one_key_sent_twenty_times_at_once_makes_one_entry(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Gil"})).await;
    order(app, &customer, 10_000).await;
    let url = format!("{}/api/v1/customers/{customer}/loyalty/redeem", app.address);
    let token = app.token(Role::Partner);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = app.client.clone();
            let url = url.clone();
            let token = token.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", "one-checkout")
                    .json(&json!({"points": 10}))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    for t in tasks {
        let status = t.await.unwrap().unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    let redeemed: Vec<Value> = entries(app, &customer)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "redeem")
        .collect();
    assert_eq!(redeemed.len(), 1);
    assert_eq!(account(app, &customer).await["balance"], 90);
    let (changed, _) = keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/redeem"),
        &token,
        "one-checkout",
        json!({"points": 20}),
    )
    .await;
    assert_eq!(changed, StatusCode::UNPROCESSABLE_ENTITY);
    assert_audit_clean(app).await;
}

async fn the_audit_finds_a_corrupted_row(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Hal"})).await;
    order(app, &customer, 5_000).await;
    assert_audit_clean(app).await;
    exec_for(
        app,
        "UPDATE loyalty_lot SET remaining = remaining - 1 WHERE customer_id = $1",
        None,
        &customer,
    )
    .await;
    let audit = app.get("/api/v1/loyalty/audit", &app.token(Role::Admin)).await;
    assert_eq!(audit.body["clean"], false, "{}", audit.body);
    let checks: Vec<&str> = audit.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["check"].as_str())
        .collect();
    assert!(checks.contains(&"lots") && checks.contains(&"lot"), "{checks:?}");
    assert!(
        audit.body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["customer_id"] == customer.as_str())
    );
}

async fn partners_work_by_external_id_and_customers_see_their_own(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app
        .create_customer(json!({"name": "Ivy", "external_id": "shop-ivy"}))
        .await;
    let partner = app.token(Role::Partner);
    let (earned, body) = keyed(
        app,
        "/api/v1/customers/by-external-id/shop-ivy/loyalty/earn",
        &partner,
        &key(),
        json!({"amount_minor": 1_200, "currency": "EUR", "note": "till 4"}),
    )
    .await;
    assert_eq!(earned, StatusCode::CREATED, "{body}");
    assert!(body["entry"]["note"].is_null(), "a partner does not see staff notes");
    let (spent, _) = keyed(
        app,
        "/api/v1/customers/by-external-id/shop-ivy/loyalty/redeem",
        &partner,
        &key(),
        json!({"points": 2}),
    )
    .await;
    assert_eq!(spent, StatusCode::CREATED);
    let read = app
        .get("/api/v1/customers/by-external-id/shop-ivy/loyalty", &partner)
        .await;
    assert_eq!(read.body["balance"], 10, "{}", read.body);
    app.get("/api/v1/customers/by-external-id/nobody/loyalty", &partner)
        .await
        .assert_problem(404, None);
    // The customer reads their own account, ledger and statement, and only those.
    let me = app.customer_token(&customer);
    assert_eq!(app.get("/api/v1/me/loyalty", &me).await.body["balance"], 10);
    let mine = app.get("/api/v1/me/loyalty/entries", &me).await;
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(mine.body["items"][1]["note"], "till 4");
    let st = app
        .get(&format!("/api/v1/me/loyalty/statement?{}", around_now()), &me)
        .await;
    assert_eq!(st.body["closing_balance"], 10, "{}", st.body);
    let other = app.create_customer(json!({"name": "Other"})).await;
    app.get(&format!("/api/v1/customers/{other}/loyalty"), &me)
        .await
        .assert_problem(403, None);
    let entry = mine.body["items"][0]["id"].as_str().unwrap().to_owned();
    let stranger = app.customer_token(&other);
    app.get(&format!("/api/v1/loyalty/entries/{entry}"), &stranger)
        .await
        .assert_problem(403, None);
    // A statement longer than a year is refused with the field named.
    app.get(
        "/api/v1/me/loyalty/statement?from=2020-01-01T00:00:00Z&to=2022-01-01T00:00:00Z",
        &me,
    )
    .await
    .assert_problem(422, Some("to"));
}

async fn the_program_is_checked_field_by_field(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let bad = json!({
        "enabled": true, "earn_rates": [{"currency": "EURO", "points_per_unit": 0.0}], "rounding": "down",
        "min_redemption": 0, "expiry_months": 0, "expiry_at": "end_of_day", "time_zone": "Mars/Olympus",
        "pending_days": 400, "debt_limit": -1, "restore_grace_days": 0
    });
    let reply = app.put("/api/v1/loyalty/program", &admin, bad).await;
    for field in [
        "earn_rates[0].currency",
        "earn_rates[0].points_per_unit",
        "min_redemption",
        "expiry_months",
        "time_zone",
        "pending_days",
        "debt_limit",
        "restore_grace_days",
    ] {
        reply.assert_problem(422, Some(field));
    }
    let defaults = app.get("/api/v1/loyalty/program", &app.token(Role::Analyst)).await;
    assert_eq!(defaults.body["enabled"], false);
    assert_eq!(defaults.body["expiry_months"], 12);
    // A disabled program: orders earn nothing.
    let customer = app.create_customer(json!({"name": "Jo"})).await;
    order(app, &customer, 10_000).await;
    assert_eq!(account(app, &customer).await["balance"], 0);
}

async fn tiers_upgrade_at_once_and_step_down_only_at_review(app: &TestApp) {
    enable(app, 10_000).await;
    let manager = app.token(Role::Manager);
    let tier = |name: &str, points: i64, multiplier: f64| json!({"name": name, "qualifying_points": points, "multiplier": multiplier, "benefits": {"lounge": name == "Gold"}});
    assert_eq!(
        app.post("/api/v1/loyalty/tiers", &manager, tier("Silver", 100, 1.0))
            .await
            .status,
        StatusCode::CREATED
    );
    let gold = app
        .post("/api/v1/loyalty/tiers", &manager, tier("Gold", 500, 2.0))
        .await;
    assert_eq!(gold.status, StatusCode::CREATED, "{}", gold.body);
    app.post("/api/v1/loyalty/tiers", &manager, tier("Gold", 900, 3.0))
        .await
        .assert_problem(409, Some("name"));
    app.post("/api/v1/loyalty/tiers", &manager, tier("Bronze", 500, 1.0))
        .await
        .assert_problem(409, Some("qualifying_points"));
    app.post(
        "/api/v1/loyalty/tiers",
        &manager,
        json!({"name": "", "qualifying_points": -1, "multiplier": 50}),
    )
    .await
    .assert_problem(422, Some("multiplier"));
    let listed = app
        .get(
            "/api/v1/loyalty/tiers",
            &app.customer_token(&app.create_customer(json!({"name": "Any"})).await),
        )
        .await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));

    let customer = app.create_customer(json!({"name": "Kai"})).await;
    order(app, &customer, 15_000).await;
    let acct = account(app, &customer).await;
    assert_eq!(acct["tier_name"], "Silver", "{acct}");
    assert_eq!(
        (acct["next_tier_name"].as_str(), acct["points_to_next_tier"].as_i64()),
        (Some("Gold"), Some(350))
    );
    assert!(acct["next_review_at"].is_string());
    order(app, &customer, 40_000).await;
    assert_eq!(account(app, &customer).await["tier_name"], "Gold");
    // Gold earns double; spending does not lower qualification.
    order(app, &customer, 10_000).await;
    let acct = account(app, &customer).await;
    assert_eq!(
        (acct["balance"].as_i64(), acct["qualifying_points"].as_i64()),
        (Some(750), Some(750))
    );
    assert_eq!(redeem(app, &customer, 700).await.0, StatusCode::CREATED);
    assert_eq!(account(app, &customer).await["tier_name"], "Gold");
    // Segments can ask for the tier and the balance.
    let preview = app
        .post(
            "/api/v1/segments/preview",
            &app.token(Role::Admin),
            json!({"rule": {"all": [{"field": "loyalty_tier", "op": "eq", "value": "Gold"},
                                    {"field": "points_balance", "op": "gte", "value": 50}]}}),
        )
        .await;
    assert_eq!(preview.body["count"], 1, "{}", preview.body);

    // A year on, nothing qualifies: the review moves down one tier, not two.
    exec_for(
        app,
        "UPDATE loyalty_entry SET created_at = $1 WHERE customer_id = $2",
        Some(chrono::Utc::now() - chrono::Duration::days(400)),
        &customer,
    )
    .await;
    let projected = account(app, &customer).await;
    assert_eq!(
        (
            projected["tier_name"].as_str(),
            projected["projected_tier_name"].as_str()
        ),
        (Some("Gold"), Some("Silver"))
    );
    exec_for(
        app,
        "UPDATE loyalty_account SET tier_review_at = $1 WHERE customer_id = $2",
        Some(chrono::Utc::now() - chrono::Duration::days(1)),
        &customer,
    )
    .await;
    let run = app
        .post(
            "/api/v1/jobs/loyalty_tier_review/run",
            &app.token(Role::Admin),
            json!({}),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(account(app, &customer).await["tier_name"], "Silver");
    let history = app
        .get(
            &format!("/api/v1/customers/{customer}/loyalty/tier-history"),
            &app.token(Role::Analyst),
        )
        .await;
    let reasons: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert_eq!(reasons, vec!["review", "upgrade", "upgrade"]);
    assert_eq!(app.event_types("loyalty.tier_changed").await.len(), 3);
    // A tier someone holds is not deleted.
    let silver = history.body[0]["to_tier_id"].as_str().unwrap().to_owned();
    app.delete(&format!("/api/v1/loyalty/tiers/{silver}"), &manager)
        .await
        .assert_problem(409, None);
    let gold_id = gold.id();
    assert_eq!(
        app.delete(&format!("/api/v1/loyalty/tiers/{gold_id}"), &manager)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_audit_clean(app).await;
}

async fn rewards_are_never_oversold(app: &TestApp) {
    enable(app, 10_000).await;
    let manager = app.token(Role::Manager);
    let reward = app
        .post(
            "/api/v1/loyalty/rewards",
            &manager,
            json!({"name": "Tote bag", "cost": 10, "stock": 10}),
        )
        .await;
    assert_eq!(reward.status, StatusCode::CREATED, "{}", reward.body);
    assert_eq!(reward.body["available"], true);
    let id = reward.id();
    let customers: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..5 {
            let c = app.create_customer(json!({"name": format!("Buyer {i}")})).await;
            order(app, &c, 100_000).await;
            v.push(c);
        }
        v
    };
    let token = app.token(Role::Partner);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/loyalty/rewards/{id}/redeem", app.address);
            let token = token.clone();
            let customer = customers[i % customers.len()].clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", format!("tote-{i}"))
                    .json(&json!({"customer_id": customer}))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().unwrap());
    }
    let won = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let lost = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((won, lost), (10, 40), "{statuses:?}");
    let after = app.get(&format!("/api/v1/loyalty/rewards/{id}"), &token).await;
    assert_eq!(
        (after.body["stock"].as_i64(), after.body["available"].as_bool()),
        (Some(0), Some(false))
    );
    let mut spent = 0;
    for c in &customers {
        spent += 1_000 - account(app, c).await["balance"].as_i64().unwrap();
    }
    assert_eq!(spent, 100, "ten rewards of 10 points");
    // Cancelling a reward redemption puts the item back with the points.
    let first = &customers[0];
    let redemption = entries(app, first).await.into_iter().find(|e| e["kind"] == "redeem");
    if let Some(r) = redemption {
        let (status, _) = keyed(
            app,
            &format!("/api/v1/loyalty/entries/{}/cancel", r["id"].as_str().unwrap()),
            &token,
            &key(),
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            app.get(&format!("/api/v1/loyalty/rewards/{id}"), &token).await.body["stock"],
            1
        );
    }
    // A reward outside its window is not redeemable.
    let later = app
        .post(
            "/api/v1/loyalty/rewards",
            &manager,
            json!({"name": "Spring mug", "cost": 5, "available_from": "2099-03-01T00:00:00Z"}),
        )
        .await
        .id();
    let (status, problem) = keyed(
        app,
        &format!("/api/v1/loyalty/rewards/{later}/redeem"),
        &token,
        &key(),
        json!({"customer_id": first}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    app.post(
        "/api/v1/loyalty/rewards",
        &manager,
        json!({"name": "Bad", "cost": 0, "available_from": "2099-03-01T00:00:00Z", "available_until": "2099-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(422, Some("available_until"));
    assert_audit_clean(app).await;
}

async fn a_referral_rewards_both_once_within_the_cap(app: &TestApp) {
    enable(app, 10_000).await;
    let admin = app.token(Role::Admin);
    let ann = app
        .create_customer(json!({"name": "Ann", "email": "ann@example.com"}))
        .await;
    let code = account(app, &ann).await["referral_code"].as_str().unwrap().to_owned();
    let ben = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Ben", "email": "ben@example.com", "referral_code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(ben.status, StatusCode::CREATED, "{}", ben.body);
    let ben = ben.id();
    assert_eq!(account(app, &ben).await["balance"], 0, "nothing before the first order");
    let first = order(app, &ben, 1_000).await;
    assert_eq!(account(app, &ben).await["balance"], 260);
    assert_eq!(account(app, &ann).await["balance"], 500);
    // Refunded, completed again, another order: the referral stays once.
    app.post(&format!("/api/v1/orders/{first}/refund"), &admin, json!({}))
        .await;
    app.post(&format!("/api/v1/orders/{first}/reinstate"), &admin, json!({}))
        .await;
    order(app, &ben, 1_000).await;
    assert_eq!(account(app, &ann).await["balance"], 500);
    assert_eq!(account(app, &ben).await["balance"], 270);
    let kinds: Vec<String> = entries(app, &ann)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["referral"]);

    // Oneself, an unknown code, a deleted customer's code: refused, nothing made.
    for (body, why) in [
        (
            json!({"name": "Ann again", "email": "ANN@example.com", "referral_code": code}),
            "themselves",
        ),
        (json!({"name": "Who", "referral_code": "NOPE0000"}), "no such"),
    ] {
        let reply = app.post("/api/v1/customers", &admin, body).await;
        reply.assert_problem(422, Some("referral_code"));
        assert!(reply.body.to_string().contains(why), "{}", reply.body);
    }
    let gone = app.create_customer(json!({"name": "Gone"})).await;
    let gone_code = account(app, &gone).await["referral_code"].as_str().unwrap().to_owned();
    app.delete(&format!("/api/v1/customers/{gone}"), &admin).await;
    app.post(
        "/api/v1/customers",
        &admin,
        json!({"name": "Late", "referral_code": gone_code}),
    )
    .await
    .assert_problem(422, Some("referral_code"));

    // The yearly cap: Ann has had one; with a cap of one, the next referee
    // is still rewarded, Ann is not.
    let program = app.get("/api/v1/loyalty/program", &admin).await.body;
    let mut capped = program.clone();
    capped["referrals_per_year"] = json!(1);
    assert_eq!(
        app.put("/api/v1/loyalty/program", &admin, capped).await.status,
        StatusCode::OK
    );
    let cat = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Cat", "referral_code": code}),
        )
        .await
        .id();
    order(app, &cat, 1_000).await;
    assert_eq!(account(app, &cat).await["balance"], 260);
    assert_eq!(account(app, &ann).await["balance"], 500);
    assert_audit_clean(app).await;
}

async fn the_liability_adds_up_now_and_as_it_stood(app: &TestApp) {
    enable(app, 20).await;
    let admin = app.token(Role::Admin);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let xia = app.create_customer(json!({"name": "Xia"})).await;
    let yan = app.create_customer(json!({"name": "Yan"})).await;
    order(app, &xia, 10_000).await;
    order(app, &yan, 5_000).await;
    age_lots(app, &yan, "2026-01-01T00:00:00Z").await;
    run_expiry(app).await;
    // Debt: Xia spends 90 of her 100, earns 10 more, then the 100's order is
    // refunded: the 20 she holds go back, 20 becomes debt (the limit) and 60
    // is unrecovered.
    assert_eq!(redeem(app, &xia, 90).await.0, StatusCode::CREATED);
    order(app, &xia, 1_000).await;
    let first = entries(app, &xia)
        .await
        .into_iter()
        .find(|e| e["kind"] == "earn" && e["points"] == 100);
    let order_id = first.unwrap()["order_id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/orders/{order_id}/refund"), &admin, json!({}))
        .await;
    let report = app.get("/api/v1/loyalty/liability", &app.token(Role::Partner)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let r = &report.body;
    assert_eq!(
        (r["outstanding"].as_i64(), r["debt"].as_i64(), r["unrecovered"].as_i64()),
        (Some(0), Some(20), Some(60)),
        "{r}"
    );
    assert_eq!(
        r["expired_by_month"],
        json!([{"month": "2026-01", "points": 50}]),
        "{r}"
    );
    assert_eq!(r["time_zone"], "Europe/Paris");
    // As it stood before anything: nothing.
    let then = app
        .get(
            &format!(
                "/api/v1/loyalty/liability?as_of={}",
                before.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            ),
            &admin,
        )
        .await;
    assert_eq!(
        (then.body["outstanding"].as_i64(), then.body["debt"].as_i64()),
        (Some(0), Some(0)),
        "{}",
        then.body
    );
    app.get("/api/v1/loyalty/liability", &app.token(Role::Agent))
        .await
        .assert_problem(403, None);
    assert_audit_clean(app).await;
}

// The matrix sends no Idempotency-Key: a role let through meets the 400
// for the missing key, one that is not gets its 403 first.
const MOVERS_SIMULATED: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Partner => 400,
    _ => 403,
};
const MOVERS_SHORT: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Partner => 400,
    _ => 403,
};
const MOVERS_MISSING: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Partner => 400,
    _ => 403,
};
/// Capture and release take no key: movers meet the missing hold.
const HOLD_SETTLERS: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Partner => 404,
    _ => 403,
};
const LOYALTY_READERS: Expect = |r| match r {
    Role::Customer => 403,
    _ => 200,
};
const STAFF_READERS: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Analyst => 200,
    _ => 403,
};
const MANAGERS_SIMULATED: Expect = |r| match r {
    Role::Admin | Role::Manager => 400,
    _ => 403,
};

fn routes() -> Vec<Route> {
    let program = json!({
        "enabled": false, "earn_rates": [], "rounding": "down", "min_redemption": 1, "expiry_months": 12,
        "expiry_at": "end_of_day", "time_zone": "UTC", "pending_days": 0, "debt_limit": 0, "restore_grace_days": 30
    });
    vec![
        (Method::GET, "/api/v1/loyalty/program", None, STAFF_READERS),
        (
            Method::PUT,
            "/api/v1/loyalty/program",
            Some(program),
            crate::access::ADMIN_200,
        ),
        (Method::GET, "/api/v1/customers/{owned}/loyalty", None, LOYALTY_READERS),
        (
            Method::GET,
            "/api/v1/customers/by-external-id/{owned_ext}/loyalty",
            None,
            LOYALTY_READERS,
        ),
        (
            Method::GET,
            "/api/v1/customers/{owned}/loyalty/entries",
            None,
            LOYALTY_READERS,
        ),
        (
            Method::GET,
            "/api/v1/customers/{owned}/loyalty/statement?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            None,
            LOYALTY_READERS,
        ),
        (
            Method::POST,
            "/api/v1/customers/{owned}/loyalty/earn?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SIMULATED,
        ),
        (
            Method::POST,
            "/api/v1/customers/by-external-id/{owned_ext}/loyalty/earn?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SIMULATED,
        ),
        (
            Method::POST,
            "/api/v1/customers/{owned}/loyalty/redeem?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SHORT,
        ),
        (
            Method::POST,
            "/api/v1/customers/by-external-id/{owned_ext}/loyalty/redeem?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SHORT,
        ),
        (
            Method::POST,
            "/api/v1/customers/{owned}/loyalty/adjust?simulate=true",
            Some(json!({"points": 10, "reason_code": "matrix"})),
            MANAGERS_SIMULATED,
        ),
        (
            Method::POST,
            "/api/v1/loyalty/entries/{unique}/cancel?simulate=true",
            None,
            MOVERS_MISSING,
        ),
        (
            Method::POST,
            "/api/v1/customers/{owned}/loyalty/holds?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SHORT,
        ),
        (
            Method::POST,
            "/api/v1/customers/by-external-id/{owned_ext}/loyalty/holds?simulate=true",
            Some(json!({"points": 10})),
            MOVERS_SHORT,
        ),
        (Method::GET, "/api/v1/loyalty/holds/{unique}", None, |r| match r {
            Role::Customer => 403,
            _ => 404,
        }),
        (
            Method::POST,
            "/api/v1/loyalty/holds/{unique}/capture",
            None,
            HOLD_SETTLERS,
        ),
        (
            Method::POST,
            "/api/v1/loyalty/holds/{unique}/release",
            None,
            HOLD_SETTLERS,
        ),
        (Method::GET, "/api/v1/loyalty/audit", None, crate::access::ADMIN_200),
        (Method::GET, "/api/v1/loyalty/referral-candidates", None, STAFF_READERS),
        (Method::GET, "/api/v1/loyalty/liability", None, |r| match r {
            Role::Agent | Role::Customer => 403,
            _ => 200,
        }),
        (Method::GET, "/api/v1/loyalty/tiers", None, |_| 200),
        // Tiers are the program's, not the fixture's: the admin's tier
        // takes the threshold, so the manager (let through) meets it.
        (
            Method::POST,
            "/api/v1/loyalty/tiers",
            Some(json!({"name": "T {unique}", "qualifying_points": 0, "multiplier": 1.0})),
            |r| match r {
                Role::Admin => 201,
                Role::Manager => 409,
                _ => 403,
            },
        ),
        (
            Method::PUT,
            "/api/v1/loyalty/tiers/{unique}",
            Some(json!({"name": "T", "qualifying_points": 1})),
            |r| match r {
                Role::Admin | Role::Manager => 404,
                _ => 403,
            },
        ),
        (Method::DELETE, "/api/v1/loyalty/tiers/{unique}", None, |r| match r {
            Role::Admin | Role::Manager => 404,
            _ => 403,
        }),
        (
            Method::GET,
            "/api/v1/customers/{owned}/loyalty/tier-history",
            None,
            LOYALTY_READERS,
        ),
        (Method::GET, "/api/v1/me/loyalty", None, crate::access::CUSTOMER_ONLY),
        (
            Method::GET,
            "/api/v1/me/loyalty/entries",
            None,
            crate::access::CUSTOMER_ONLY,
        ),
        (
            Method::GET,
            "/api/v1/me/loyalty/statement?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            None,
            crate::access::CUSTOMER_ONLY,
        ),
    ]
}

async fn every_loyalty_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

on_both_databases!(
    orders_earn_and_checkouts_redeem_once,
    refunds_take_back_their_share_and_spent_points_become_debt,
    toggles_and_replays_net_exactly_once,
    lots_are_drawn_oldest_first_and_expire_only_their_remainder,
    a_cancelled_redemption_goes_back_into_its_lots,
    concurrent_redemptions_never_overdraw,
    one_key_sent_twenty_times_at_once_makes_one_entry,
    the_audit_finds_a_corrupted_row,
    partners_work_by_external_id_and_customers_see_their_own,
    the_program_is_checked_field_by_field,
    every_loyalty_route_answers_each_role_as_the_matrix_says,
    tiers_upgrade_at_once_and_step_down_only_at_review,
    rewards_are_never_oversold,
    a_referral_rewards_both_once_within_the_cap,
    the_liability_adds_up_now_and_as_it_stood,
);
