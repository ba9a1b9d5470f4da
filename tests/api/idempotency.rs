//! `Idempotency-Key` on every POST that takes one, driven by the OpenAPI
//! document: a retry replays the first answer byte for byte, another body
//! under the same key is refused, a key still running is a 409, and a 5xx
//! stores nothing and writes nothing.

use crate::common::{Backend, TestApp};
use rapport::auth::Role;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

/// The raw answer: status, replay header, body text.
struct Raw {
    status: StatusCode,
    replayed: bool,
    location: Option<String>,
    text: String,
}

async fn keyed(app: &TestApp, path: &str, token: &str, key: Option<&str>, body: &Value) -> Raw {
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let res = req.send().await.expect("request");
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Raw {
        status: res.status(),
        replayed: header("idempotent-replayed").as_deref() == Some("true"),
        location: header("location"),
        text: res.text().await.expect("body"),
    }
}

/// Every POST the document gives an `Idempotency-Key`, with who calls it and a body.
fn table(f: &Fixture) -> Vec<(&'static str, String, Role, Value)> {
    let c = &f.customer;
    vec![
        (
            "/api/v1/customers",
            "/api/v1/customers".into(),
            Role::Admin,
            json!({"name": "Keyed"}),
        ),
        (
            "/api/v1/customers/{id}/erase",
            format!("/api/v1/customers/{}/erase", f.erasable),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/customers/{id}/contacts",
            format!("/api/v1/customers/{c}/contacts"),
            Role::Admin,
            json!({"name": "Pat"}),
        ),
        (
            "/api/v1/customers/{id}/interactions",
            format!("/api/v1/customers/{c}/interactions"),
            Role::Admin,
            json!({"channel": "phone", "direction": "outbound", "summary": "Called"}),
        ),
        (
            "/api/v1/orders",
            "/api/v1/orders".into(),
            Role::Admin,
            json!({"customer_id": c, "amount_minor": 700, "currency": "EUR"}),
        ),
        (
            "/api/v1/orders/{id}/refund",
            format!("/api/v1/orders/{}/refund", f.order),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/orders/{id}/reinstate",
            format!("/api/v1/orders/{}/reinstate", f.refunded_order),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/customers/{id}/loyalty/earn",
            format!("/api/v1/customers/{c}/loyalty/earn"),
            Role::Agent,
            json!({"points": 10}),
        ),
        (
            "/api/v1/customers/by-external-id/{external_id}/loyalty/earn",
            format!("/api/v1/customers/by-external-id/{}/loyalty/earn", f.customer_ext),
            Role::Partner,
            json!({"points": 10}),
        ),
        (
            "/api/v1/customers/{id}/loyalty/redeem",
            format!("/api/v1/customers/{c}/loyalty/redeem"),
            Role::Agent,
            json!({"points": 10}),
        ),
        (
            "/api/v1/customers/by-external-id/{external_id}/loyalty/redeem",
            format!("/api/v1/customers/by-external-id/{}/loyalty/redeem", f.customer_ext),
            Role::Partner,
            json!({"points": 10}),
        ),
        (
            "/api/v1/customers/{id}/loyalty/holds",
            format!("/api/v1/customers/{c}/loyalty/holds"),
            Role::Agent,
            json!({"points": 10}),
        ),
        (
            "/api/v1/customers/by-external-id/{external_id}/loyalty/holds",
            format!("/api/v1/customers/by-external-id/{}/loyalty/holds", f.customer_ext),
            Role::Partner,
            json!({"points": 10, "expires_in_minutes": 5}),
        ),
        (
            "/api/v1/loyalty/holds/{id}/capture",
            format!("/api/v1/loyalty/holds/{}/capture", f.holds.0),
            Role::Agent,
            json!({}),
        ),
        (
            "/api/v1/loyalty/holds/{id}/release",
            format!("/api/v1/loyalty/holds/{}/release", f.holds.1),
            Role::Partner,
            json!({}),
        ),
        (
            "/api/v1/customers/{id}/loyalty/adjust",
            format!("/api/v1/customers/{c}/loyalty/adjust"),
            Role::Manager,
            json!({"points": -10, "reason_code": "correction"}),
        ),
        (
            "/api/v1/loyalty/rewards/{id}/redeem",
            format!("/api/v1/loyalty/rewards/{}/redeem", f.reward),
            Role::Partner,
            json!({"customer_id": c}),
        ),
        (
            "/api/v1/loyalty/tiers",
            "/api/v1/loyalty/tiers".into(),
            Role::Manager,
            json!({"name": "Keyed tier", "qualifying_points": 12345}),
        ),
        (
            "/api/v1/loyalty/rewards",
            "/api/v1/loyalty/rewards".into(),
            Role::Manager,
            json!({"name": "Keyed reward", "cost": 5}),
        ),
        (
            "/api/v1/loyalty/entries/{id}/cancel",
            format!("/api/v1/loyalty/entries/{}/cancel", f.redemption),
            Role::Agent,
            json!({}),
        ),
        (
            "/api/v1/segments",
            "/api/v1/segments".into(),
            Role::Admin,
            json!({"name": "Keyed segment", "kind": "static"}),
        ),
        (
            "/api/v1/segments/{id}/refresh",
            format!("/api/v1/segments/{}/refresh", f.dynamic_segment),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/segments/{id}/members",
            format!("/api/v1/segments/{}/members", f.static_segment),
            Role::Admin,
            json!({"customer_ids": [c]}),
        ),
        (
            "/api/v1/segments/{id}/members/remove",
            format!("/api/v1/segments/{}/members/remove", f.static_segment),
            Role::Admin,
            json!({"customer_ids": [c]}),
        ),
        (
            "/api/v1/customers/{id}/needs",
            format!("/api/v1/customers/{c}/needs"),
            Role::Admin,
            json!({"title": "Faster delivery", "kind": "core", "urgency": "high", "importance": "high", "source": "other"}),
        ),
        (
            "/api/v1/needs/{id}/transitions",
            format!("/api/v1/needs/{}/transitions", f.need),
            Role::Admin,
            json!({"to": "in_progress"}),
        ),
        (
            "/api/v1/needs/{id}/links",
            format!("/api/v1/needs/{}/links", f.need),
            Role::Admin,
            json!({"kind": "task", "target_id": f.task}),
        ),
        (
            "/api/v1/needs/{id}/tasks",
            format!("/api/v1/needs/{}/tasks", f.need),
            Role::Admin,
            json!({"title": "Draft a plan"}),
        ),
        (
            "/api/v1/customers/{id}/payment-failures",
            format!("/api/v1/customers/{c}/payment-failures"),
            Role::Admin,
            json!({"amount_minor": 4900, "currency": "EUR", "reason_code": "insufficient_funds"}),
        ),
        (
            "/api/v1/payment-failures/{id}/recover",
            format!("/api/v1/payment-failures/{}/recover", f.payment_failure),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/tasks/reassign",
            "/api/v1/tasks/reassign".into(),
            Role::Admin,
            json!({"from_assignee_id": "nobody", "assignee_id": "agent-3"}),
        ),
        (
            "/api/v1/analytics/health/backtest",
            "/api/v1/analytics/health/backtest".into(),
            Role::Admin,
            json!({"months": 2}),
        ),
        (
            "/api/v1/analytics/health/preview",
            "/api/v1/analytics/health/preview".into(),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/analytics/health/recompute",
            "/api/v1/analytics/health/recompute".into(),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/analytics/rfm/recompute",
            "/api/v1/analytics/rfm/recompute".into(),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/feedback",
            "/api/v1/feedback".into(),
            Role::Admin,
            json!({"customer_id": c, "channel": "email", "kind": "complaint", "subject": "Late", "body": "Late again"}),
        ),
        (
            "/api/v1/feedback/{id}/transitions",
            format!("/api/v1/feedback/{}/transitions", f.feedback),
            Role::Admin,
            json!({"to": "acknowledged"}),
        ),
        (
            "/api/v1/feedback/{id}/adopt",
            format!("/api/v1/feedback/{}/adopt", f.feedback),
            Role::Admin,
            json!({"note": "Adopted"}),
        ),
        (
            "/api/v1/feedback/{id}/comments",
            format!("/api/v1/feedback/{}/comments", f.feedback),
            Role::Admin,
            json!({"body": "On it"}),
        ),
        (
            "/api/v1/me/feedback",
            "/api/v1/me/feedback".into(),
            Role::Customer,
            json!({"channel": "web", "kind": "praise", "subject": "Thanks", "body": "Great"}),
        ),
        (
            "/api/v1/tasks",
            "/api/v1/tasks".into(),
            Role::Admin,
            json!({"customer_id": c, "kind": "follow_up", "title": "Call"}),
        ),
        (
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
            Role::Admin,
            json!({"url": "https://hooks.example.com/in"}),
        ),
        (
            "/api/v1/webhooks/{id}/rotate-secret",
            format!("/api/v1/webhooks/{}/rotate-secret", f.webhook),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            format!("/api/v1/webhooks/{}/deliveries/{}/redeliver", f.webhook, f.delivery),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/webhooks/{id}/replay",
            format!("/api/v1/webhooks/{}/replay", f.webhook),
            Role::Admin,
            json!({"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"}),
        ),
        (
            "/api/v1/surveys",
            "/api/v1/surveys".into(),
            Role::Manager,
            json!({"name": "Keyed", "kind": "csat"}),
        ),
        (
            "/api/v1/surveys/{id}/invitations/remind",
            format!("/api/v1/surveys/{}/invitations/remind", f.survey),
            Role::Admin,
            json!({}),
        ),
        (
            "/api/v1/me/surveys/{id}/response/finish",
            format!("/api/v1/me/surveys/{}/response/finish", f.invitation),
            Role::Customer,
            json!({"answers": {"score": 9}}),
        ),
    ]
}

struct Fixture {
    customer: String,
    customer_ext: String,
    refunded_order: String,
    redemption: String,
    /// A hold to capture and one to release.
    holds: (String, String),
    reward: String,
    erasable: String,
    order: String,
    feedback: String,
    static_segment: String,
    dynamic_segment: String,
    webhook: String,
    delivery: String,
    survey: String,
    invitation: String,
    need: String,
    task: String,
    payment_failure: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.token(Role::Admin);
    let customer_ext = format!("fixture-{}", uuid::Uuid::now_v7());
    let customer = app
        .create_customer(json!({"name": "Fixture", "external_id": customer_ext}))
        .await;
    let refunded_order = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": customer, "amount_minor": 300, "currency": "EUR"}),
        )
        .await
        .id();
    app.post(&format!("/api/v1/orders/{refunded_order}/refund"), &admin, json!({}))
        .await;
    // Points to spend, and a redemption to cancel.
    keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/earn"),
        &admin,
        Some("fixture-bonus"),
        &json!({"points": 1000}),
    )
    .await;
    let redeemed = keyed(
        app,
        &format!("/api/v1/customers/{customer}/loyalty/redeem"),
        &admin,
        Some("fixture-redeem"),
        &json!({"points": 5}),
    )
    .await;
    let redemption = serde_json::from_str::<Value>(&redeemed.text).expect("json")["entry"]["id"]
        .as_str()
        .expect("a redemption")
        .to_owned();
    let mut holds = Vec::new();
    for k in ["fixture-hold-1", "fixture-hold-2"] {
        let held = keyed(
            app,
            &format!("/api/v1/customers/{customer}/loyalty/holds"),
            &admin,
            Some(k),
            &json!({"points": 5}),
        )
        .await;
        let hold = serde_json::from_str::<Value>(&held.text).expect("json")["hold"]["id"]
            .as_str()
            .expect("a hold")
            .to_owned();
        holds.push(hold);
    }
    let holds = (holds[0].clone(), holds[1].clone());
    let order = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": customer, "amount_minor": 100, "currency": "EUR"}),
        )
        .await
        .id();
    let feedback = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": customer, "channel": "email", "kind": "question", "subject": "Q", "body": "How?"}),
        )
        .await
        .id();
    let static_segment = app
        .post("/api/v1/segments", &admin, json!({"name": "S", "kind": "static"}))
        .await
        .id();
    let dynamic_segment = app
        .post(
            "/api/v1/segments",
            &admin,
            json!({"name": "D", "kind": "dynamic", "rule": {"field": "tier", "op": "eq", "value": "key"}}),
        )
        .await
        .id();
    let webhook = app
        .post(
            "/api/v1/webhooks",
            &admin,
            json!({"url": "https://hooks.example.com/f"}),
        )
        .await
        .id();
    // The test message cannot reach the host: a pending delivery.
    let delivery = app
        .post(&format!("/api/v1/webhooks/{webhook}/test"), &admin, json!({}))
        .await
        .id();
    let survey = app
        .post("/api/v1/surveys", &admin, json!({"name": "NPS", "kind": "nps"}))
        .await
        .id();
    app.patch(
        &format!("/api/v1/surveys/{survey}"),
        &admin,
        json!({"status": "active"}),
    )
    .await;
    let sent = app
        .post(
            &format!("/api/v1/surveys/{survey}/invitations"),
            &admin,
            json!({"customer_ids": [customer]}),
        )
        .await;
    let invitation = sent.body["tokens"][0]["invitation_id"]
        .as_str()
        .expect("an invitation")
        .to_owned();
    let need = app
        .post(
            &format!("/api/v1/customers/{customer}/needs"),
            &admin,
            json!({"title": "Fixture need", "kind": "secondary", "urgency": "low", "importance": "low", "source": "other"}),
        )
        .await
        .id();
    let task = app
        .post(
            "/api/v1/tasks",
            &admin,
            json!({"customer_id": customer, "kind": "follow_up", "title": "Fixture task"}),
        )
        .await
        .id();
    let payment_failure = app
        .post(
            &format!("/api/v1/customers/{customer}/payment-failures"),
            &admin,
            json!({"reason_code": "card_declined"}),
        )
        .await
        .id();
    Fixture {
        need,
        task,
        payment_failure,
        erasable: app.create_customer(json!({"name": "To be erased"})).await,
        customer_ext,
        refunded_order,
        redemption,
        holds,
        reward: app
            .post("/api/v1/loyalty/rewards", &admin, json!({"name": "Pen", "cost": 3}))
            .await
            .id(),
        survey,
        invitation,
        customer,
        order,
        feedback,
        static_segment,
        dynamic_segment,
        webhook,
        delivery,
    }
}

async fn every_keyed_post_replays_and_refuses_a_changed_body(app: &TestApp) {
    let doc = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    let doc: Value = doc.json().await.unwrap();
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| {
            item["post"]["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"))
        })
        .map(|(path, _)| path.clone())
        .collect();
    documented.sort();
    let f = fixture(app).await;
    let rows = table(&f);
    let mut tested: Vec<String> = rows.iter().map(|(t, ..)| (*t).to_owned()).collect();
    tested.sort();
    assert_eq!(tested, documented, "every keyed POST is in the table");

    for (template, path, role, body) in rows {
        let token = if role == Role::Customer {
            app.customer_token(&f.customer)
        } else {
            app.token(role)
        };
        let key = format!("key-{}", uuid::Uuid::now_v7());
        let events = app.count("event").await;
        let first = keyed(app, &path, &token, Some(&key), &body).await;
        assert!(
            first.status.as_u16() < 500,
            "{template}: {} {}",
            first.status,
            first.text
        );
        assert!(!first.replayed);
        let written = app.count("event").await;
        let again = keyed(app, &path, &token, Some(&key), &body).await;
        assert_eq!(again.status, first.status, "{template}");
        assert_eq!(again.text, first.text, "{template}: byte for byte");
        assert_eq!(again.location, first.location, "{template}");
        assert!(again.replayed, "{template}");
        assert_eq!(
            app.count("event").await,
            written,
            "{template}: a replay changes nothing"
        );
        if first.status.is_success() && template != "/api/v1/webhooks/{id}/rotate-secret" {
            assert!(written >= events, "{template}");
        }
        let mut other = body.clone();
        other["zz_other"] = json!(1);
        let changed = keyed(app, &path, &token, Some(&key), &other).await;
        assert_eq!(
            changed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{template}: {}",
            changed.text
        );
        assert!(changed.text.contains("Idempotency-Key"), "{template}: {}", changed.text);
    }

    // The key is the caller's: another subject's same key is a new request.
    let key = "shared-key";
    let body = json!({"name": "Mine"});
    let a = keyed(app, "/api/v1/customers", &app.token(Role::Admin), Some(key), &body).await;
    let b = keyed(app, "/api/v1/customers", &app.token(Role::Manager), Some(key), &body).await;
    assert_eq!((a.status, b.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_ne!(a.text, b.text);
    // A business 4xx is stored and replayed too; a malformed key is refused.
    let bad = json!({"name": "Bad", "email": "nope"});
    let k = "bad-email";
    let first = keyed(app, "/api/v1/customers", &app.token(Role::Admin), Some(k), &bad).await;
    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = keyed(app, "/api/v1/customers", &app.token(Role::Admin), Some(k), &bad).await;
    assert!(again.replayed && again.text == first.text);
    let spaced = keyed(
        app,
        "/api/v1/customers",
        &app.token(Role::Admin),
        Some("has space"),
        &body,
    )
    .await;
    assert_eq!(spaced.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(spaced.text.contains("Idempotency-Key"));
    // Without a key, nothing is stored and a retry is a second request.
    let before = app.count("idempotency_key").await;
    keyed(app, "/api/v1/customers", &app.token(Role::Admin), None, &body).await;
    assert_eq!(app.count("idempotency_key").await, before);
}

async fn a_running_key_is_a_409_and_a_5xx_stores_nothing(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let body = json!({"name": "Held"});
    // Hold what the first request needs: on SQLite the write lock (the
    // request waits while its key is marked running here), on PostgreSQL the
    // key's lock as another instance running it would.
    let holder = app.db.begin().await.unwrap();
    let key = "held-key";
    let first = match app.backend {
        Backend::Sqlite => {
            holder
                .execute_unprepared("UPDATE seaql_migrations SET version = version WHERE 1 = 0")
                .await
                .unwrap();
            let (app2, admin2, body2) = (app.address.clone(), admin.clone(), body.clone());
            let client = app.client.clone();
            let pending = tokio::spawn(async move {
                client
                    .post(format!("{app2}/api/v1/customers"))
                    .bearer_auth(admin2)
                    .header("Idempotency-Key", key)
                    .json(&body2)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            Some(pending)
        }
        Backend::Postgres => {
            let scope = format!("admin\nPOST\n/api/v1/customers\n{key}");
            holder
                .execute_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtextextended(current_database() || $1, 7))",
                    [scope.into()],
                ))
                .await
                .unwrap();
            None
        }
    };
    let second = keyed(app, "/api/v1/customers", &admin, Some(key), &body).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    holder.rollback().await.unwrap();
    if let Some(first) = first {
        assert_eq!(first.await.unwrap(), StatusCode::CREATED);
    }
    let after = keyed(app, "/api/v1/customers", &admin, Some(key), &body).await;
    assert!(after.status.is_success());

    // A failure inside the change: nothing written, nothing stored, and the
    // same key then runs the request for real.
    app.db
        .execute_unprepared("ALTER TABLE customer_tag RENAME TO customer_tag_away")
        .await
        .unwrap();
    let customers = app.count("customer").await;
    let tagged = json!({"name": "Tagged", "tags": ["vip"]});
    let failed = keyed(app, "/api/v1/customers", &admin, Some("five-hundred"), &tagged).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", failed.text);
    assert_eq!(app.count("customer").await, customers, "rolled back");
    assert_eq!(app.count("idempotency_key WHERE key = 'five-hundred'").await, 0);
    app.db
        .execute_unprepared("ALTER TABLE customer_tag_away RENAME TO customer_tag")
        .await
        .unwrap();
    let retried = keyed(app, "/api/v1/customers", &admin, Some("five-hundred"), &tagged).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text);
    assert!(!retried.replayed);
}

on_both_databases!(
    every_keyed_post_replays_and_refuses_a_changed_body,
    a_running_key_is_a_409_and_a_5xx_stores_nothing,
);
