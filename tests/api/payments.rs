//! Failed payments as a billing system reports them: recorded with their
//! event, shown as the `payment_failed` risk on health while outstanding
//! and recent, recovered once, refused whole when a field is wrong, and
//! covered by the privacy export and erase.

use chrono::{Duration, Utc};
use rapport::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{AGENT, TestApp};

async fn fail(app: &TestApp, token: &str, customer: &str, body: Value) -> crate::common::Reply {
    app.post(&format!("/api/v1/customers/{customer}/payment-failures"), token, body)
        .await
}

async fn risks(app: &TestApp, customer: &str) -> Vec<Value> {
    let health = app
        .get(&format!("/api/v1/customers/{customer}/health"), &app.token(Role::Admin))
        .await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    health.body["indicators"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i["kind"] == "payment_failed")
        .collect()
}

async fn an_outstanding_failure_is_a_risk_until_recovered(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let c = app
        .create_customer(json!({"name": "Billing Trouble", "owner_id": AGENT}))
        .await;
    assert!(risks(app, &c).await.is_empty());

    // Older than 90 days: history, not a risk.
    let old = fail(
        app,
        &admin,
        &c,
        json!({"reason_code": "card_declined", "failed_at": Utc::now() - Duration::days(100)}),
    )
    .await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", old.body);
    assert!(risks(app, &c).await.is_empty());

    let recent = fail(
        app,
        &app.token(Role::Agent),
        &c,
        json!({"amount_minor": 4900, "currency": "eur", "reason_code": "insufficient_funds"}),
    )
    .await;
    assert_eq!(recent.status, StatusCode::CREATED, "{}", recent.body);
    assert_eq!(recent.body["currency"], "EUR");
    assert_eq!(recent.body["created_by"], AGENT);
    assert!(recent.body["recovered_at"].is_null());
    let found = risks(app, &c).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["side"], "risk");
    assert_eq!(found[0]["evidence"]["outstanding_failures_90"], 1);
    assert_eq!(found[0]["at"], recent.body["failed_at"]);
    assert_eq!(app.event_types("payment.failed").await.len(), 2);

    let list = app
        .get(&format!("/api/v1/customers/{c}/payment-failures"), &admin)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, [recent.id(), old.id()], "newest first");

    // Recovered: the risk goes; a second call changes nothing.
    let path = format!("/api/v1/payment-failures/{}/recover", recent.id());
    let first = app.post(&path, &admin, json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body["recovered_at"].is_string());
    let again = app.post(&path, &admin, json!({})).await;
    assert_eq!(again.body["recovered_at"], first.body["recovered_at"]);
    assert_eq!(app.event_types("payment.recovered").await.len(), 1);
    assert!(risks(app, &c).await.is_empty());
}

async fn a_bad_failure_is_refused_whole_and_roles_are_kept(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let c = app.create_customer(json!({"name": "Owned", "owner_id": AGENT})).await;
    let other = app.create_customer(json!({"name": "Someone Else"})).await;
    let theirs = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": other, "amount_minor": 1000, "currency": "EUR"}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    for (body, field) in [
        (json!({"amount_minor": 100}), "currency"),
        (json!({"currency": "EUR"}), "amount_minor"),
        (json!({"amount_minor": 0, "currency": "EUR"}), "amount_minor"),
        (json!({"reason_code": "has spaces"}), "reason_code"),
        (json!({"failed_at": Utc::now() + Duration::days(1)}), "failed_at"),
        (json!({"order_id": theirs.id()}), "order_id"),
    ] {
        fail(app, &admin, &c, body).await.assert_problem(422, Some(field));
    }
    assert_eq!(app.count("payment_failure").await, 0);

    // Who may record: staff who may write the customer; analysts read.
    fail(app, &app.token(Role::Agent), &other, json!({}))
        .await
        .assert_problem(403, None);
    for role in [Role::Analyst, Role::Partner] {
        // Refused before the body is read.
        fail(app, &app.token(role), &c, json!({"amount_minor": -1}))
            .await
            .assert_problem(403, None);
    }
    fail(app, &app.customer_token(&c), &c, json!({}))
        .await
        .assert_problem(403, None);
    assert_eq!(app.count("payment_failure").await, 0);
    let recorded = fail(app, &app.token(Role::Manager), &c, json!({})).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.body);
    let list = format!("/api/v1/customers/{c}/payment-failures");
    assert_eq!(app.get(&list, &app.token(Role::Analyst)).await.status, StatusCode::OK);
    assert_eq!(app.get(&list, &app.token(Role::Agent)).await.status, StatusCode::OK);
    app.get(&list, &app.token(Role::Partner))
        .await
        .assert_problem(403, None);
    app.get(
        &format!("/api/v1/customers/{other}/payment-failures"),
        &app.token(Role::Agent),
    )
    .await
    .assert_problem(403, None);
    let recover = format!("/api/v1/payment-failures/{}/recover", recorded.id());
    app.post(&recover, &app.token(Role::Analyst), json!({}))
        .await
        .assert_problem(403, None);
    app.post("/api/v1/payment-failures/not-an-id/recover", &admin, json!({}))
        .await
        .assert_problem(404, None);
}

async fn the_privacy_export_and_erase_cover_failed_payments(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let c = app.create_customer(json!({"name": "Private Person"})).await;
    let f = fail(app, &admin, &c, json!({"reason_code": "expired_card"})).await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.body);
    let export = app.get(&format!("/api/v1/customers/{c}/export"), &admin).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert_eq!(export.body["payment_failures"][0]["id"], f.body["id"]);
    let erased = app
        .post(&format!("/api/v1/customers/{c}/erase"), &admin, json!({}))
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    assert_eq!(app.count("payment_failure").await, 0);
}

on_both_databases!(
    an_outstanding_failure_is_a_risk_until_recovered,
    a_bad_failure_is_refused_whole_and_roles_are_kept,
    the_privacy_export_and_erase_cover_failed_payments,
);
