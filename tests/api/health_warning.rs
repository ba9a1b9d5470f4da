//! Early warning as a customer-success team lives with it: an alert fires
//! once per episode however the score wobbles, brings one win-back task for
//! the owner and one `health.risk_changed`, moves the lifecycle stage, and
//! clears once — on two instances at once too.

use crate::common::{AGENT, TestApp};
use rapport::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

async fn set_manual(app: &TestApp, customer: &str, value: i32) {
    let set = app
        .put(
            &format!("/api/v1/customers/{customer}/health/override"),
            &app.token(Role::Manager),
            json!({"value": value, "reason": "steer", "expires_at": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
}

async fn recompute(app: &TestApp) {
    let run = app
        .post("/api/v1/analytics/health/recompute", &app.token(Role::Admin), json!({}))
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
}

async fn risk_events(app: &TestApp) -> i64 {
    app.count("event WHERE type = 'health.risk_changed'").await
}

async fn stage(app: &TestApp, customer: &str) -> String {
    let c = app
        .get(&format!("/api/v1/customers/{customer}"), &app.token(Role::Admin))
        .await;
    c.body["lifecycle_stage"].as_str().unwrap_or_default().to_owned()
}

async fn a_wobbling_score_raises_one_alert_one_task_and_clears_once(app: &TestApp) {
    // The manual factor steers the score: it weighs 100, complaints (none: 100) 0.01.
    let mut settings = app.get("/api/v1/settings/health", &app.token(Role::Admin)).await.body;
    settings["weights"] = json!({"order_recency": 0, "frequency_trend": 0, "satisfaction": 0, "complaints": 0.01,
        "contact_cadence": 0, "loyalty_activity": 0, "primary_contact": 0, "manual": 100});
    let saved = app
        .put("/api/v1/settings/health", &app.token(Role::Admin), settings)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["warning"]["score_fire_below"], 50.0);
    // Hysteresis needs the clear side at or beyond the fire side.
    for (key, value, field) in [
        ("score_clear_at", 40, "warning.score_clear_at"),
        ("dormant_clear_days", 400, "warning.dormant_clear_days"),
        ("gap_months", 0, "warning.gap_months"),
    ] {
        let mut bad = saved.body.clone();
        bad["warning"][key] = json!(value);
        app.put("/api/v1/settings/health", &app.token(Role::Admin), bad)
            .await
            .assert_problem(422, Some(field));
    }
    let customer = app
        .create_customer(json!({"name": "Wobbly AG", "lifecycle_stage": "active", "owner_id": AGENT}))
        .await;
    for i in 0..10 {
        set_manual(app, &customer, if i % 2 == 0 { 49 } else { 51 }).await;
        recompute(app).await;
    }
    assert_eq!(app.count("health_alert").await, 1);
    assert_eq!(app.count("task WHERE kind = 'win_back'").await, 1);
    assert_eq!(risk_events(app).await, 1);
    assert_eq!(stage(app, &customer).await, "at_risk");
    let health = app
        .get(&format!("/api/v1/customers/{customer}/health"), &app.token(Role::Agent))
        .await
        .body;
    let alert = &health["alerts"][0];
    assert_eq!(alert["rule"], "low_score", "{health}");
    assert!(alert["cleared_at"].is_null());
    assert_eq!(alert["evidence"]["fire_below"], 50.0);
    let task = app
        .get(
            &format!("/api/v1/tasks/{}", alert["task_id"].as_str().unwrap_or_default()),
            &app.token(Role::Agent),
        )
        .await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.body);
    assert_eq!(task.body["kind"], "win_back");
    assert_eq!(task.body["assignee_id"], AGENT);
    assert!(task.body["due_at"].is_string());
    // The customer carries the latest score; the 360, the timeline, GraphQL and segment rules show it.
    let admin = app.token(Role::Admin);
    let c = app.get(&format!("/api/v1/customers/{customer}"), &admin).await.body;
    assert!(
        c["health_score"].as_f64().is_some_and(|s| (49.0..52.0).contains(&s)),
        "{c}"
    );
    let overview = app
        .get(
            &format!("/api/v1/customers/{customer}/overview"),
            &app.token(Role::Agent),
        )
        .await
        .body;
    assert_eq!(overview["open_alerts"][0]["rule"], "low_score", "{overview}");
    assert_eq!(overview["open_tasks"][0]["kind"], "win_back", "{overview}");
    let timeline = app
        .get(&format!("/api/v1/customers/{customer}/timeline"), &admin)
        .await
        .body;
    let types: Vec<&str> = timeline["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(types.contains(&"health_alert") && types.contains(&"task"), "{timeline}");
    let gql = app
        .graphql(
            Some(&admin),
            "query($id: ID!) { customer(id: $id) { healthScore healthLevel openAlerts { rule taskId } openTasks { kind } } }",
            json!({"id": customer}),
        )
        .await;
    assert_eq!(gql["data"]["customer"]["openAlerts"][0]["rule"], "LOW_SCORE", "{gql}");
    assert_eq!(gql["data"]["customer"]["openTasks"][0]["kind"], "WIN_BACK", "{gql}");
    for rule in [
        json!({"field": "risk_level", "op": "in", "value": ["watch", "at_risk", "critical"]}),
        json!({"field": "health_score", "op": "lt", "value": 52}),
    ] {
        let preview = app
            .post("/api/v1/segments/preview", &admin, json!({"rule": rule}))
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(
            preview.body["sample"][0]["id"],
            customer.as_str(),
            "{rule}: {}",
            preview.body
        );
    }
    // Healthy again: one clear, the stage back to active; staying healthy changes nothing.
    set_manual(app, &customer, 90).await;
    recompute(app).await;
    recompute(app).await;
    assert_eq!(risk_events(app).await, 2);
    assert_eq!(app.count("health_alert WHERE cleared_at IS NOT NULL").await, 1);
    assert_eq!(stage(app, &customer).await, "active");
    // A new episode is a new alert; the open win-back task is joined, not doubled.
    set_manual(app, &customer, 20).await;
    recompute(app).await;
    assert_eq!(app.count("health_alert").await, 2);
    assert_eq!(app.count("task WHERE kind = 'win_back'").await, 1);
    // The privacy export carries the alerts.
    let export = app
        .get(&format!("/api/v1/customers/{customer}/export"), &app.token(Role::Admin))
        .await;
    assert_eq!(
        export.body["health_alerts"].as_array().map(Vec::len),
        Some(2),
        "{}",
        export.body
    );
}

async fn two_instances_recomputing_at_once_raise_an_alert_once(app: &TestApp) {
    let customer = app
        .create_customer(json!({"name": "Gone Quiet", "lifecycle_stage": "active"}))
        .await;
    let admin = app.token(Role::Admin);
    let contact = app
        .post(
            &format!("/api/v1/customers/{customer}/contacts"),
            &admin,
            json!({"name": "Former Primary", "is_primary": true}),
        )
        .await;
    assert_eq!(contact.status, StatusCode::CREATED, "{}", contact.body);
    let left = app
        .patch(
            &format!("/api/v1/contacts/{}", contact.id()),
            &admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let (a, b) = tokio::join!(
        app.post("/api/v1/analytics/health/recompute", &admin, json!({})),
        app.post("/api/v1/analytics/health/recompute", &admin, json!({})),
    );
    assert_eq!(
        (a.status, b.status),
        (StatusCode::OK, StatusCode::OK),
        "{} {}",
        a.body,
        b.body
    );
    assert_eq!(app.count("health_alert WHERE rule = 'primary_contact_left'").await, 1);
    assert_eq!(app.count("task WHERE kind = 'win_back'").await, 1);
    assert_eq!(risk_events(app).await, 1);
}

async fn a_churned_customer_has_a_reason_and_an_order_wins_it_back(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app
        .create_customer(json!({"name": "Left Us", "lifecycle_stage": "active"}))
        .await;
    let path = format!("/api/v1/customers/{customer}");
    // A reason belongs to a churned customer only.
    app.patch(&path, &admin, json!({"churn_reason": "competitor"}))
        .await
        .assert_problem(422, Some("churn_reason"));
    let churned = app
        .patch(
            &path,
            &admin,
            json!({"lifecycle_stage": "churned", "churn_reason": "competitor"}),
        )
        .await;
    assert_eq!(churned.status, StatusCode::OK, "{}", churned.body);
    assert_eq!(churned.body["churn_reason"], "competitor");
    assert!(churned.body["churned_at"].is_string());
    app.patch(&path, &admin, json!({"churn_reason": null}))
        .await
        .assert_problem(422, Some("churn_reason"));
    // Without a reason it is `other`.
    let other = app
        .create_customer(json!({"name": "Quietly Gone", "lifecycle_stage": "churned"}))
        .await;
    let read = app.get(&format!("/api/v1/customers/{other}"), &admin).await;
    assert_eq!(read.body["churn_reason"], "other", "{}", read.body);
    // An order wins it back; the latest churn's reason stays on record.
    let order = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": customer, "amount_minor": 1_000, "currency": "EUR"}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    let back = app.get(&path, &admin).await.body;
    assert_eq!(back["lifecycle_stage"], "won_back", "{back}");
    assert_eq!(back["churn_reason"], "competitor");
    // Another order changes nothing more.
    app.post(
        "/api/v1/orders",
        &admin,
        json!({"customer_id": customer, "amount_minor": 2_000, "currency": "EUR"}),
    )
    .await;
    assert_eq!(app.get(&path, &admin).await.body["lifecycle_stage"], "won_back");
}

async fn one_owner_gets_no_more_win_back_tasks_than_the_cap(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let mut settings = app.get("/api/v1/settings/health", &admin).await.body;
    assert_eq!(settings["warning"]["max_win_back_tasks_per_owner"], 25);
    settings["warning"]["max_win_back_tasks_per_owner"] = json!(1);
    let saved = app.put("/api/v1/settings/health", &admin, settings).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for i in 0..3 {
        let customer = app
            .create_customer(json!({"name": format!("Quiet {i}"), "owner_id": AGENT}))
            .await;
        let contact = app
            .post(
                &format!("/api/v1/customers/{customer}/contacts"),
                &admin,
                json!({"name": "Gone Primary", "is_primary": true}),
            )
            .await;
        app.patch(
            &format!("/api/v1/contacts/{}", contact.id()),
            &admin,
            json!({"active": false}),
        )
        .await;
    }
    let run = app.post("/api/v1/analytics/health/recompute", &admin, json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(
        (
            &run.body["alerts_raised"],
            &run.body["tasks_created"],
            &run.body["tasks_capped"]
        ),
        (&json!(3), &json!(1), &json!(2)),
        "{}",
        run.body
    );
    assert_eq!(app.count("task WHERE kind = 'win_back'").await, 1);
    assert_eq!(app.count("health_alert WHERE task_id IS NULL").await, 2);
}

async fn a_long_relationship_with_an_opportunity_brings_one_upsell_task_per_half_year(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let settings = app.get("/api/v1/settings/health", &admin).await.body;
    assert_eq!(settings["upsell"]["min_satisfaction"], 90.0, "{settings}");
    for (key, value, field) in [
        ("every_months", json!(0), "upsell.every_months"),
        ("min_satisfaction", json!(101), "upsell.min_satisfaction"),
    ] {
        let mut bad = settings.clone();
        bad["upsell"][key] = value;
        app.put("/api/v1/settings/health", &admin, bad)
            .await
            .assert_problem(422, Some(field));
    }
    let today = chrono::Utc::now().date_naive();
    let loyal = app
        .create_customer(json!({"name": "Loyal Ltd", "owner_id": AGENT,
            "relationship_start": (today - chrono::Duration::days(800)).to_string()}))
        .await;
    let newish = app
        .create_customer(json!({"name": "Newish Ltd", "owner_id": AGENT,
            "relationship_start": (today - chrono::Duration::days(100)).to_string()}))
        .await;
    // A move up a tier is an opportunity indicator.
    for c in [&loyal, &newish] {
        let up = app
            .patch(
                &format!("/api/v1/customers/{c}"),
                &admin,
                json!({"value_tier": "important"}),
            )
            .await;
        assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    }
    let first = app.post("/api/v1/analytics/health/recompute", &admin, json!({})).await;
    assert_eq!(first.body["upsell_tasks_created"], 1, "{}", first.body);
    recompute(app).await;
    let now = chrono::Utc::now();
    let (a, b) = tokio::join!(
        rapport::service::health::run(&app.db, now),
        rapport::service::health::run(&app.db, now + chrono::Duration::seconds(1))
    );
    assert!(a.is_ok() && b.is_ok());
    // A month on, the indicator still stands, but one task per six months is all.
    let later = rapport::service::health::run(&app.db, now + chrono::Duration::days(30)).await;
    assert_eq!(later.map(|r| r.upsell_tasks_created).ok(), Some(0));
    let tasks = app.get("/api/v1/tasks?kind=upsell", &app.token(Role::Agent)).await.body;
    let items = tasks["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{tasks}");
    assert_eq!(items[0]["customer_id"], loyal.as_str());
    assert_eq!(items[0]["title"], "Upsell: tier upgrade");
    assert_eq!(items[0]["assignee_id"], AGENT);
}

on_both_databases!(
    a_wobbling_score_raises_one_alert_one_task_and_clears_once,
    two_instances_recomputing_at_once_raise_an_alert_once,
    a_churned_customer_has_a_reason_and_an_order_wins_it_back,
    one_owner_gets_no_more_win_back_tasks_than_the_cap,
    a_long_relationship_with_an_opportunity_brings_one_upsell_task_per_half_year,
);
