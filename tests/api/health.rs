//! Health scores as a customer-success manager meets them: a score that
//! says why, a new customer never "critical" for lack of history, a manual
//! factor that counts until it expires, recomputes kept as history — and who
//! may see and change what.

use crate::access::{Expect, Route, answers_as_the_matrix_says};
use crate::common::TestApp;
use crate::loyalty::exec_for;
use rapport::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn days_ago(d: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339()
}

fn factor<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["factors"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["factor"] == name))
        .unwrap_or_else(|| panic!("{name} in {health}"))
}

async fn health(app: &TestApp, customer: &str) -> Value {
    let read = app
        .get(
            &format!("/api/v1/customers/{customer}/health"),
            &app.token(Role::Manager),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    read.body
}

/// A customer ordering every 30 days, the last 10 days ago, with a primary
/// contact, a call last week and an open complaint.
async fn steady_customer(app: &TestApp) -> String {
    let admin = app.token(Role::Admin);
    let customer = app
        .create_customer(json!({"name": "Steady Ltd", "email": "ops@steady.example"}))
        .await;
    for d in [100, 70, 40, 10] {
        let made = app
            .post(
                "/api/v1/orders",
                &admin,
                json!({"customer_id": customer, "amount_minor": 5_000, "currency": "EUR", "ordered_at": days_ago(d)}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    app.post(
        &format!("/api/v1/customers/{customer}/contacts"),
        &admin,
        json!({"name": "Pat Primary", "is_primary": true}),
    )
    .await;
    app.post(
        &format!("/api/v1/customers/{customer}/interactions"),
        &admin,
        json!({"channel": "phone", "direction": "outbound", "summary": "Quarterly call"}),
    )
    .await;
    let complaint = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": customer, "channel": "email", "kind": "complaint", "subject": "Late", "body": "Late again"}),
        )
        .await;
    assert_eq!(complaint.status, StatusCode::CREATED, "{}", complaint.body);
    customer
}

async fn a_score_explains_itself(app: &TestApp) {
    let customer = steady_customer(app).await;
    let h = health(app, &customer).await;
    // Orders every 30 days, the last 10 days ago: within the rhythm.
    assert_eq!(factor(&h, "order_recency")["value"], 100.0, "{h}");
    // 3 orders in the last 90 days, 1 in the 90 before.
    assert_eq!(factor(&h, "frequency_trend")["value"], 100.0);
    assert_eq!(factor(&h, "complaints")["value"], 75.0);
    assert_eq!(factor(&h, "contact_cadence")["value"], 100.0);
    assert_eq!(factor(&h, "primary_contact")["value"], 100.0);
    // Spend in the last 90 days (3 × 50.00) against the 90 before (50.00): an opportunity.
    let indicators = h["indicators"].as_array().cloned().unwrap_or_default();
    assert_eq!(indicators.len(), 1, "{h}");
    assert_eq!(indicators[0]["kind"], "spend_growth");
    assert_eq!(indicators[0]["side"], "opportunity");
    assert_eq!(indicators[0]["evidence"]["spend_last_90_minor"], 15_000);
    assert_eq!(indicators[0]["evidence"]["spend_prior_90_minor"], 5_000);
    // No survey answer, no loyalty program, no override: no data.
    for missing in ["satisfaction", "loyalty_activity", "manual"] {
        let f = factor(&h, missing);
        assert!(f["value"].is_null() && f["contribution"].is_null(), "{f}");
        assert_eq!(f["reason"], "no_data");
    }
    // Weights re-normalised over 25 + 15 + 15 + 10 + 10 = 75 of 100.
    assert_eq!(h["coverage"], 0.75);
    let sum: f64 = h["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["contribution"].as_f64())
        .sum();
    let score = h["score"].as_f64().expect("a score");
    assert!((sum - score).abs() < 1e-9, "{sum} vs {score}");
    // (100·25 + 100·15 + 75·15 + 100·10 + 100·10) ÷ 75 = 95.
    assert_eq!(score, 95.0);
    assert_eq!(h["level"], "healthy");

    // The primary contact leaves.
    let contacts = app
        .get(
            &format!("/api/v1/customers/{customer}/contacts"),
            &app.token(Role::Admin),
        )
        .await;
    let contact = contacts.body["items"][0]["id"].as_str().unwrap().to_owned();
    let left = app
        .patch(
            &format!("/api/v1/contacts/{contact}"),
            &app.token(Role::Admin),
            json!({"active": false}),
        )
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    assert_eq!(factor(&health(app, &customer).await, "primary_contact")["value"], 0.0);

    // A new customer: not enough data, never critical.
    let new = app.create_customer(json!({"name": "Newcomer"})).await;
    let h = health(app, &new).await;
    assert_eq!(h["level"], "insufficient_data", "{h}");
}

async fn a_manual_factor_counts_until_it_expires(app: &TestApp) {
    let customer = steady_customer(app).await;
    let manager = app.token(Role::Manager);
    let path = format!("/api/v1/customers/{customer}/health/override");
    for (body, field) in [
        (
            json!({"value": 101, "reason": "x", "expires_at": days_ago(-30)}),
            "value",
        ),
        (
            json!({"value": 10, "reason": "", "expires_at": days_ago(-30)}),
            "reason",
        ),
        (
            json!({"value": 10, "reason": "x", "expires_at": days_ago(1)}),
            "expires_at",
        ),
    ] {
        app.put(&path, &manager, body).await.assert_problem(422, Some(field));
    }
    let set = app
        .put(
            &path,
            &manager,
            json!({"value": 10, "reason": "Champion zed@steady.example resigned", "expires_at": days_ago(-30)}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let h = health(app, &customer).await;
    assert_eq!(factor(&h, "manual")["value"], 10.0);
    assert_eq!(h["override"]["reason"], "Champion zed@steady.example resigned");
    assert!(h["score"].as_f64().unwrap() < 95.0);
    // Analysts read it masked.
    let masked = app
        .get(
            &format!("/api/v1/customers/{customer}/health"),
            &app.token(Role::Analyst),
        )
        .await;
    assert!(!masked.body.to_string().contains("zed@steady"), "{}", masked.body);
    // The export carries it; an expired override stops counting.
    let export = app
        .get(&format!("/api/v1/customers/{customer}/export"), &app.token(Role::Admin))
        .await;
    assert_eq!(export.body["health_override"]["value"], 10, "{}", export.body);
    exec_for(
        app,
        "UPDATE health_override SET expires_at = $1 WHERE customer_id = $2",
        Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        &customer,
    )
    .await;
    let h = health(app, &customer).await;
    assert!(factor(&h, "manual")["value"].is_null(), "{h}");
    assert!(h["override"].is_null());
    assert_eq!(h["score"], 95.0);
    // Removed; erasing the customer removes it too.
    app.put(
        &path,
        &manager,
        json!({"value": 50, "reason": "Again", "expires_at": days_ago(-3)}),
    )
    .await;
    assert_eq!(app.delete(&path, &manager).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path, &manager).await.status, StatusCode::NOT_FOUND);
    app.put(
        &path,
        &manager,
        json!({"value": 50, "reason": "Once more", "expires_at": days_ago(-3)}),
    )
    .await;
    let erased = app
        .post(
            &format!("/api/v1/customers/{customer}/erase"),
            &app.token(Role::Admin),
            json!({}),
        )
        .await;
    assert!(erased.status.is_success(), "{}", erased.body);
    assert_eq!(app.count("health_override").await, 0);
}

async fn recomputes_are_kept_as_history(app: &TestApp) {
    let customer = steady_customer(app).await;
    app.create_customer(json!({"name": "Other"})).await;
    let run = app
        .post(
            "/api/v1/analytics/health/recompute",
            &app.token(Role::Manager),
            json!({}),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.body["customers_scored"], 2);
    let job = app
        .post("/api/v1/jobs/health_recompute/run", &app.token(Role::Admin), json!({}))
        .await;
    assert_eq!(job.body["last_outcome"], "succeeded", "{}", job.body);
    let h = health(app, &customer).await;
    let history = h["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{h}");
    assert_eq!(history[1]["score"], 95.0);
    assert_eq!(history[1]["level"], "healthy");
    let complaints = h["factor_history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "complaints")
        .unwrap();
    assert_eq!(complaints["points"].as_array().unwrap().len(), 2);
    assert_eq!(complaints["points"][0]["value"], 75.0);
    assert_eq!(app.count("health_score").await, 4);
    // GraphQL reads the same.
    let gql = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "query($c: ID!) { customerHealth(customerId: $c) { score level factors { factor contribution } history { score } } }",
            json!({"c": customer}),
        )
        .await;
    assert_eq!(gql["data"]["customerHealth"]["score"], 95.0, "{gql}");
    assert_eq!(gql["data"]["customerHealth"]["level"], "HEALTHY");
}

fn count(levels: &Value, level: &str) -> i64 {
    levels
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["level"] == level))
        .and_then(|l| l["count"].as_i64())
        .unwrap_or_else(|| panic!("{level} in {levels}"))
}

async fn other_weights_are_previewed_before_they_are_saved(app: &TestApp) {
    let steady = steady_customer(app).await;
    app.create_customer(json!({"name": "Brand New"})).await;
    let manager = app.token(Role::Manager);
    let defaults = app.get("/api/v1/settings/health", &manager).await;
    assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.body);
    assert_eq!(defaults.body["weights"]["order_recency"], 25.0);
    assert_eq!(defaults.body["cutoffs"]["healthy"], 70.0);
    let strict = json!({"healthy": 99, "watch": 98, "at_risk": 97, "min_coverage": 0.5});
    let preview = app
        .post(
            "/api/v1/analytics/health/preview",
            &app.token(Role::Analyst),
            json!({"cutoffs": strict}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let p = &preview.body;
    assert_eq!(p["customers"], 2, "{p}");
    assert_eq!(count(&p["before"], "healthy"), 1, "{p}");
    assert_eq!(count(&p["before"], "insufficient_data"), 1, "{p}");
    assert_eq!(count(&p["after"], "critical"), 1, "{p}");
    assert_eq!(count(&p["after"], "healthy"), 0, "{p}");
    assert_eq!(count(&p["after"], "insufficient_data"), 1, "{p}");
    assert_eq!(p["changed"], 1);
    let change = &p["changes"][0];
    assert_eq!(change["customer_id"], steady.as_str());
    assert_eq!(change["level_before"], "healthy");
    assert_eq!(change["level_after"], "critical");
    assert_eq!(change["score_before"], change["score_after"]);
    // The analyst reads the name masked.
    assert_eq!(change["name"], "S***** L**", "{p}");
    // Nothing was saved.
    assert_eq!(app.get("/api/v1/settings/health", &manager).await.body, defaults.body);
    assert_eq!(health(app, &steady).await["level"], "healthy");
    // Weights change coverage: on complaints alone (none is data too) the new customer has a level.
    let weights = json!({"order_recency": 0, "frequency_trend": 0, "satisfaction": 0, "complaints": 100,
        "contact_cadence": 0, "loyalty_activity": 0, "primary_contact": 0, "manual": 0});
    let by_complaints = app
        .post(
            "/api/v1/analytics/health/preview",
            &manager,
            json!({"weights": weights}),
        )
        .await;
    assert_eq!(by_complaints.status, StatusCode::OK, "{}", by_complaints.body);
    let change = &by_complaints.body["changes"][0];
    assert_eq!(change["name"], "Brand New", "{}", by_complaints.body);
    assert_eq!(change["level_before"], "insufficient_data");
    assert_eq!(change["level_after"], "healthy");
    // Bad proposals are refused, naming the field, for the preview and the settings alike.
    let mut zero = weights.clone();
    zero["complaints"] = json!(0);
    zero["manual"] = json!(50);
    let mut heavy = weights.clone();
    heavy["complaints"] = json!(101);
    let upside_down = json!({"healthy": 40, "watch": 60, "at_risk": 10, "min_coverage": 0.5});
    let thin = json!({"healthy": 70, "watch": 50, "at_risk": 30, "min_coverage": 0});
    for (body, field) in [
        (json!({"weights": zero}), "weights"),
        (json!({"weights": heavy}), "weights.complaints"),
        (json!({"cutoffs": upside_down}), "cutoffs.watch"),
        (json!({"cutoffs": thin}), "cutoffs.min_coverage"),
    ] {
        app.post("/api/v1/analytics/health/preview", &manager, body.clone())
            .await
            .assert_problem(422, Some(field));
        let mut full = defaults.body.clone();
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        app.put("/api/v1/settings/health", &manager, full)
            .await
            .assert_problem(422, Some(field));
    }
    // Saved, they apply to reads and recomputes at once.
    let saved = app
        .put(
            "/api/v1/settings/health",
            &manager,
            json!({"weights": defaults.body["weights"], "cutoffs": strict}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(health(app, &steady).await["level"], "critical");
    let recomputed = app
        .post("/api/v1/analytics/health/recompute", &manager, json!({}))
        .await;
    assert_eq!(recomputed.status, StatusCode::OK, "{}", recomputed.body);
    assert_eq!(health(app, &steady).await["history"][0]["level"], "critical");
    // GraphQL: the same preview, weighed as set-wide work.
    let gql = app
        .graphql(
            Some(&manager),
            "{ healthSettings { cutoffs { healthy } } healthPreview(input: {}) { customers changed } }",
            json!({}),
        )
        .await;
    assert_eq!(gql["data"]["healthSettings"]["cutoffs"]["healthy"], 99.0, "{gql}");
    assert_eq!(gql["data"]["healthPreview"]["customers"], 2, "{gql}");
}

const MISSING_OVERRIDE: Expect = |r| match r {
    Role::Admin | Role::Manager => 404,
    _ => 403,
};

fn routes() -> Vec<Route> {
    vec![
        (
            Method::GET,
            "/api/v1/customers/{owned}/health",
            None,
            crate::access::READERS,
        ),
        (
            Method::PUT,
            "/api/v1/customers/{owned}/health/override",
            Some(json!({"value": 40, "reason": "matrix", "expires_at": "2099-01-01T00:00:00Z"})),
            |r| match r {
                // Within a year only: the matrix's far date is refused after authorisation.
                Role::Admin | Role::Manager => 422,
                _ => 403,
            },
        ),
        (
            Method::DELETE,
            "/api/v1/customers/{owned}/health/override",
            None,
            MISSING_OVERRIDE,
        ),
        (
            Method::POST,
            "/api/v1/analytics/health/recompute",
            Some(json!({})),
            crate::access::MANAGERS_200,
        ),
        (
            Method::POST,
            "/api/v1/analytics/health/preview",
            Some(json!({})),
            |r| match r {
                Role::Admin | Role::Manager | Role::Analyst => 200,
                _ => 403,
            },
        ),
        (Method::GET, "/api/v1/settings/health", None, crate::access::READERS),
        (
            Method::PUT,
            "/api/v1/settings/health",
            Some(
                json!({"weights": {"order_recency": 25, "frequency_trend": 15, "satisfaction": 20,
                "complaints": 15, "contact_cadence": 10, "loyalty_activity": 5, "primary_contact": 10,
                "manual": 20}, "cutoffs": {"healthy": 70, "watch": 50, "at_risk": 30, "min_coverage": 0.5}}),
            ),
            crate::access::MANAGERS_200,
        ),
    ]
}

async fn every_health_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

on_both_databases!(
    a_score_explains_itself,
    a_manual_factor_counts_until_it_expires,
    recomputes_are_kept_as_history,
    other_weights_are_previewed_before_they_are_saved,
    every_health_route_answers_each_role_as_the_matrix_says,
);
