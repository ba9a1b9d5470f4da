//! Checkout holds as a shop's checkout meets them: points taken at once,
//! then captured or released exactly once however the two race, put back
//! into their own lots, and released by themselves when the checkout never
//! comes back.

use crate::common::TestApp;
use crate::loyalty::{account, assert_audit_clean, enable, entries, exec_for, key, keyed, order};
use rapport::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn hold(app: &TestApp, customer: &str, body: Value) -> (StatusCode, Value) {
    keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/holds"),
        &app.token(Role::Agent),
        &key(),
        body,
    )
    .await
}

async fn settle(app: &TestApp, hold: &str, how: &str) -> (StatusCode, Value) {
    let reply = app
        .post(
            &format!("/api/v1/loyalty/holds/{hold}/{how}"),
            &app.token(Role::Agent),
            json!({}),
        )
        .await;
    (reply.status, reply.body)
}

fn id(v: &Value, path: &str) -> String {
    v.pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path} in {v}"))
        .to_owned()
}

/// Lot moves as (lot, points), the sign turned for `flip`.
fn lots(entry: &Value, flip: bool) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = entry["lots"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let p = l["points"].as_i64().unwrap_or(0);
            (id(l, "/lot_id"), if flip { -p } else { p })
        })
        .collect();
    out.sort();
    out
}

async fn a_hold_is_captured_or_released_once(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Hal"})).await;
    order(app, &customer, 6_000).await;
    order(app, &customer, 4_000).await;
    assert_eq!(account(app, &customer).await["spendable"], 100);

    // Held: the points leave the spendable balance at once.
    let (status, held) = hold(app, &customer, json!({"points": 30, "reason_code": "checkout"})).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["hold"]["status"], "held");
    assert_eq!(held["hold"]["points"], 30);
    assert_eq!(held["entry"]["kind"], "redeem");
    assert_eq!(held["entry"]["points"], -30);
    assert_eq!(held["account"]["spendable"], 70);
    let first = id(&held, "/hold/id");
    let minutes = chrono::DateTime::parse_from_rfc3339(&id(&held, "/hold/expires_at")).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&id(&held, "/hold/created_at")).unwrap();
    assert_eq!(minutes.num_minutes(), 15, "the program's default");
    let read = app
        .get(&format!("/api/v1/loyalty/holds/{first}"), &app.token(Role::Analyst))
        .await;
    assert_eq!(
        (read.status, read.body["status"].clone()),
        (StatusCode::OK, json!("held"))
    );

    // Held points are not cancelled as a redemption: the hold is released.
    let (status, _) = keyed(
        app,
        &format!("/api/v1/loyalty/entries/{}/cancel", id(&held, "/entry/id")),
        &app.token(Role::Agent),
        &key(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Captured, once; again answers the same; a captured hold is not released.
    let (status, captured) = settle(app, &first, "capture").await;
    assert_eq!(status, StatusCode::OK, "{captured}");
    assert_eq!(captured["hold"]["status"], "captured");
    assert_eq!(captured["entry"]["id"], held["entry"]["id"]);
    let (status, again) = settle(app, &first, "capture").await;
    assert_eq!(
        (status, again["hold"].clone()),
        (StatusCode::OK, captured["hold"].clone())
    );
    let (status, _) = settle(app, &first, "release").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(account(app, &customer).await["spendable"], 70);

    // Released: the points go back into the very lots they came from.
    let (_, second) = hold(app, &customer, json!({"points": 40})).await;
    let second_id = id(&second, "/hold/id");
    let (status, released) = settle(app, &second_id, "release").await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["hold"]["status"], "released");
    assert_eq!(released["entry"]["kind"], "restore");
    assert_eq!(released["entry"]["points"], 40);
    assert_eq!(released["entry"]["reason_code"], "hold_released");
    assert_eq!(lots(&released["entry"], true), lots(&second["entry"], false));
    assert_eq!(released["account"]["spendable"], 70);
    let (status, again) = settle(app, &second_id, "release").await;
    assert_eq!(
        (status, again["entry"]["id"].clone()),
        (StatusCode::OK, released["entry"]["id"].clone())
    );
    let (status, _) = settle(app, &second_id, "capture").await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A captured hold's order cancelled: its redemption is cancelled as any other.
    let (status, _) = keyed(
        app,
        &format!("/api/v1/loyalty/entries/{}/cancel", id(&held, "/entry/id")),
        &app.token(Role::Agent),
        &key(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(account(app, &customer).await["spendable"], 100);

    // More than spendable, a simulation, a bad expiry.
    let (status, short) = hold(app, &customer, json!({"points": 101})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{short}");
    assert_eq!(short["code"], "insufficient_points");
    let (status, simulated) = keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/holds?simulate=true"),
        &app.token(Role::Agent),
        &key(),
        json!({"points": 10}),
    )
    .await;
    assert_eq!((status, simulated["simulated"].clone()), (StatusCode::OK, json!(true)));
    let gone = app
        .get(
            &format!("/api/v1/loyalty/holds/{}", id(&simulated, "/hold/id")),
            &app.token(Role::Admin),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let (status, bad) = hold(app, &customer, json!({"points": 10, "expires_in_minutes": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad.to_string().contains("expires_in_minutes"), "{bad}");
    assert_eq!(account(app, &customer).await["spendable"], 100);

    // GraphQL: the same hold, captured.
    let made = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "mutation($c: ID!, $k: String!) { holdLoyaltyPoints(customerId: $c, input: {points: 5}, idempotencyKey: $k) { hold { id status } account { spendable } } }",
            json!({"c": customer, "k": key()}),
        )
        .await;
    assert_eq!(made["data"]["holdLoyaltyPoints"]["account"]["spendable"], 95, "{made}");
    let hold_id = made["data"]["holdLoyaltyPoints"]["hold"]["id"].clone();
    let captured = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "mutation($h: ID!) { captureLoyaltyHold(id: $h) { hold { status } } }",
            json!({"h": hold_id}),
        )
        .await;
    assert_eq!(
        captured["data"]["captureLoyaltyHold"]["hold"]["status"], "CAPTURED",
        "{captured}"
    );
    assert_audit_clean(app).await;
}

async fn holds_past_their_expiry_go_back_by_themselves(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Ida"})).await;
    order(app, &customer, 10_000).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let age = "UPDATE loyalty_hold SET expires_at = $1 WHERE customer_id = $2 AND status = 'held'";

    // A capture after the expiry is refused, and the points go back then.
    let (_, late) = hold(app, &customer, json!({"points": 20, "expires_in_minutes": 1})).await;
    exec_for(app, age, Some(past), &customer).await;
    let late_id = id(&late, "/hold/id");
    let (status, refused) = settle(app, &late_id, "capture").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let read = app
        .get(&format!("/api/v1/loyalty/holds/{late_id}"), &app.token(Role::Agent))
        .await;
    assert_eq!(read.body["status"], "expired");
    assert_eq!(account(app, &customer).await["spendable"], 100);

    // Never captured: the job puts the points back, once.
    let (_, forgotten) = hold(app, &customer, json!({"points": 15})).await;
    let (_, kept) = hold(app, &customer, json!({"points": 5})).await;
    exec_for(
        app,
        "UPDATE loyalty_hold SET expires_at = $1 WHERE customer_id = $2 AND points = 15",
        Some(past),
        &customer,
    )
    .await;
    assert_eq!(account(app, &customer).await["spendable"], 80);
    for _ in 0..2 {
        let run = app
            .post(
                "/api/v1/jobs/loyalty_hold_expiry/run",
                &app.token(Role::Admin),
                json!({}),
            )
            .await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    }
    let forgotten_id = id(&forgotten, "/hold/id");
    let read = app
        .get(
            &format!("/api/v1/loyalty/holds/{forgotten_id}"),
            &app.token(Role::Agent),
        )
        .await;
    assert_eq!(read.body["status"], "expired");
    let kept_id = id(&kept, "/hold/id");
    let read = app
        .get(&format!("/api/v1/loyalty/holds/{kept_id}"), &app.token(Role::Agent))
        .await;
    assert_eq!(read.body["status"], "held");
    assert_eq!(account(app, &customer).await["spendable"], 95);
    let restores: Vec<Value> = entries(app, &customer)
        .await
        .into_iter()
        .filter(|e| e["reason_code"] == "hold_expired")
        .collect();
    assert_eq!(restores.len(), 2, "{restores:?}");
    // Releasing an expired hold answers what the expiry did.
    let (status, released) = settle(app, &forgotten_id, "release").await;
    assert_eq!(
        (status, released["hold"]["status"].clone()),
        (StatusCode::OK, json!("expired"))
    );
    assert_eq!(released["entry"]["kind"], "restore");
    assert_audit_clean(app).await;
}

/// A capture and a release sent together, many times over: one wins, the
/// other is refused or answers the winner, and the points match the winner.
async fn capture_and_release_racing_settle_once(app: &TestApp) {
    enable(app, 10_000).await;
    let customer = app.create_customer(json!({"name": "Jo"})).await;
    order(app, &customer, 10_000).await;
    let mut captured = 0;
    for _ in 0..5 {
        let (_, held) = hold(app, &customer, json!({"points": 10})).await;
        let hold_id = id(&held, "/hold/id");
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let client = app.client.clone();
                let how = if i % 2 == 0 { "capture" } else { "release" };
                let url = format!("{}/api/v1/loyalty/holds/{hold_id}/{how}", app.address);
                let token = app.token(Role::Agent);
                tokio::spawn(async move {
                    let r = client.post(url).bearer_auth(token).send().await.expect("request");
                    let status = r.status();
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    (status, body["hold"]["status"].as_str().map(str::to_owned))
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            let (status, outcome) = t.await.expect("task");
            assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
            outcomes.extend(outcome);
        }
        outcomes.dedup();
        assert_eq!(outcomes.len(), 1, "one outcome: {outcomes:?}");
        if outcomes[0] == "captured" {
            captured += 1;
        }
    }
    assert_eq!(account(app, &customer).await["spendable"], 100 - 10 * captured);
    assert_audit_clean(app).await;
}

async fn the_program_sets_how_long_a_hold_lasts(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let bad = app
        .put("/api/v1/loyalty/program", &admin, json!({"hold_minutes": 0}))
        .await;
    bad.assert_problem(422, Some("hold_minutes"));
    let saved = app
        .put(
            "/api/v1/loyalty/program",
            &admin,
            json!({"enabled": true, "earn_rates": [{"currency": "EUR", "points_per_unit": 1.0}], "hold_minutes": 90}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let customer = app.create_customer(json!({"name": "Kim"})).await;
    order(app, &customer, 1_000).await;
    let (status, held) = hold(app, &customer, json!({"points": 10})).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let lasts = chrono::DateTime::parse_from_rfc3339(&id(&held, "/hold/expires_at")).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&id(&held, "/hold/created_at")).unwrap();
    assert_eq!(lasts.num_minutes(), 90);
}

on_both_databases!(
    a_hold_is_captured_or_released_once,
    holds_past_their_expiry_go_back_by_themselves,
    capture_and_release_racing_settle_once,
    the_program_sets_how_long_a_hold_lasts,
);
