//! Rate limits and metrics, as an operator and an abusive client see them.

use crate::common::TestApp;
use rapport::auth::Role;
use rapport::config::Settings;
use reqwest::Method;
use serde_json::json;

fn tight(s: &mut Settings) {
    s.rate_limit.token_per_minute = 5;
    s.rate_limit.ip_per_minute = 3;
}

async fn quotas_answer_429_with_the_ietf_headers(app: &TestApp) {
    let admin = app.token(Role::Admin);
    for i in 0..5 {
        let ok = app.get("/api/v1/customers", &admin).await;
        assert_eq!(ok.status, 200, "request {i}");
        assert_eq!(ok.headers["ratelimit-policy"], "\"token\";q=5;w=60");
        let left = 4 - i;
        assert!(
            ok.headers["ratelimit"]
                .to_str()
                .unwrap()
                .starts_with(&format!("\"token\";r={left};t=")),
            "{:?}",
            ok.headers["ratelimit"]
        );
    }
    let refused = app.get("/api/v1/customers", &admin).await;
    refused.assert_problem(429, None);
    assert_eq!(refused.body["code"], "rate_limited");
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    assert!(
        refused.headers["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"token\";r=0;t=")
    );
    // Another subject has its own quota; probes are never limited.
    assert_eq!(
        app.get("/api/v1/customers", &app.token(Role::Manager)).await.status,
        200
    );
    for _ in 0..10 {
        assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status, 200);
    }
    // Without a token, per address: bad tokens are counted too.
    for _ in 0..3 {
        let anonymous = app
            .request(Method::GET, "/api/v1/customers", Some("garbage"), None)
            .await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.headers["ratelimit-policy"], "\"ip\";q=3;w=60");
    }
    app.request(Method::GET, "/api/v1/customers", None, None)
        .await
        .assert_problem(429, None);
    let metrics = app.request(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("rapport_rate_limited_total{by=\"token\"}"), "{text}");
    assert!(text.contains("rapport_rate_limited_total{by=\"ip\"}"));
}

async fn metrics_count_requests_jobs_and_replays(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Counted"})).await;
    app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    app.post("/api/v1/jobs/event_retention/run", &admin, json!({})).await;
    for _ in 0..2 {
        app.client
            .post(format!("{}/api/v1/customers", app.address))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "metrics-key")
            .json(&json!({"name": "Once"}))
            .send()
            .await
            .unwrap();
    }
    let res = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    for expected in [
        "rapport_http_requests_total{method=\"GET\",route=\"/api/v1/customers/{id}\",status=\"200\"}",
        "rapport_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/customers\"",
        "rapport_job_runs_total{job=\"event_retention\",outcome=\"succeeded\"}",
        "rapport_job_duration_seconds_count{job=\"event_retention\"}",
        "rapport_job_seconds_since_last_run{job=\"event_retention\"}",
        "rapport_idempotent_replays_total",
        "rapport_state{what=\"pool_in_use\"}",
        "rapport_state{what=\"events_not_fanned_out\"}",
        "rapport_state{what=\"webhook_deliveries_pending\"}",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
}

mod limited {
    use super::{quotas_answer_429_with_the_ietf_headers, tight};
    on_both_databases!(settings = tight; quotas_answer_429_with_the_ietf_headers);
}

on_both_databases!(metrics_count_requests_jobs_and_replays);
