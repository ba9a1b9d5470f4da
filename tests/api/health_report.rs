//! The monthly health report on constructed history: levels by each
//! customer's last score in the month, moves since the month before, the
//! at-risk customers worth most, churn and win-backs with their reasons.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use rapport::auth::Role;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use crate::common::TestApp;
use crate::loyalty::order;

pub(crate) async fn score(app: &TestApp, customer: &str, at: DateTime<Utc>, score: f64, level: &str) {
    entity::health_score::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        customer_id: Set(customer.parse().unwrap_or_default()),
        computed_at: Set(at),
        score: Set(Some(score)),
        level: Set(level.into()),
        coverage: Set(1.0),
        factors: Set(json!([])),
    }
    .insert(&app.db)
    .await
    .map(|_| ())
    .unwrap_or_else(|e| panic!("storing a score: {e}"));
}

fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

async fn the_monthly_report_counts_levels_moves_and_churn(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let start = month_start(Utc::now());
    let before = start - Duration::days(2);
    let month = start.format("%Y-%m").to_string();
    let make = |name: &str| app.create_customer(json!({"name": name, "lifecycle_stage": "active"}));
    let (falling, sinking, steady, fresh, gone) = (
        make("Falling Ltd").await,
        make("Sinking Ltd").await,
        make("Steady Ltd").await,
        make("Fresh Ltd").await,
        make("Gone Ltd").await,
    );
    order(app, &falling, 90_000).await;
    order(app, &sinking, 10_000).await;
    for (c, prev, cur) in [
        (&falling, Some((80.0, "healthy")), (40.0, "at_risk")),
        (&sinking, Some((60.0, "watch")), (20.0, "critical")),
        (&steady, Some((85.0, "healthy")), (90.0, "healthy")),
        (&fresh, None, (75.0, "healthy")),
        (&gone, None, (35.0, "at_risk")),
    ] {
        if let Some((s, l)) = prev {
            score(app, c, before, s, l).await;
        }
        // An earlier score in the month is overtaken by the last one.
        score(app, c, start, 50.0, "watch").await;
        score(app, c, start + Duration::seconds(1), cur.0, cur.1).await;
    }
    let deleted = app.delete(&format!("/api/v1/customers/{gone}"), &admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // Two churns with their reasons; one comes back with an order.
    let quitter = make("Quitter Ltd").await;
    let returner = make("Returner Ltd").await;
    for (c, reason) in [(&quitter, "competitor"), (&returner, "price_budget")] {
        let churned = app
            .patch(
                &format!("/api/v1/customers/{c}"),
                &admin,
                json!({"lifecycle_stage": "churned", "churn_reason": reason}),
            )
            .await;
        assert_eq!(churned.status, StatusCode::OK, "{}", churned.body);
    }
    order(app, &returner, 1_000).await;

    let report = app
        .get(
            &format!("/api/v1/analytics/health?month={month}"),
            &app.token(Role::Manager),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let r = &report.body;
    assert_eq!(r["month"], month.as_str());
    assert_eq!(r["customers_scored"], 4, "{r}");
    let count = |level: &str| {
        r["levels"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["level"] == level)
            .map(|l| l["count"].clone())
    };
    assert_eq!(
        (count("healthy"), count("watch"), count("at_risk"), count("critical")),
        (Some(json!(2)), Some(json!(0)), Some(json!(1)), Some(json!(1))),
        "{r}"
    );
    let mut moves: Vec<(String, String, i64)> = r["moves"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["from"].as_str().unwrap_or_default().to_owned(),
                m["to"].as_str().unwrap_or_default().to_owned(),
                m["count"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    moves.sort();
    assert_eq!(
        moves,
        [
            ("healthy".to_owned(), "at_risk".to_owned(), 1),
            ("watch".to_owned(), "critical".to_owned(), 1)
        ],
        "{r}"
    );
    assert_eq!(r["moved"].as_array().map(Vec::len), Some(2), "{r}");
    let top: Vec<&str> = r["top_at_risk"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["customer_id"].as_str())
        .collect();
    assert_eq!(top, [falling.as_str(), sinking.as_str()], "{r}");
    assert_eq!(r["top_at_risk"][0]["name"], "Falling Ltd");
    assert_eq!(r["top_at_risk"][0]["lifetime_value_minor"], 90_000);
    assert_eq!((&r["churned"], &r["won_back"]), (&json!(2), &json!(1)), "{r}");
    assert_eq!(r["win_back_reasons"], json!([{"reason": "price_budget", "count": 1}]));
    let mut reasons: Vec<&str> = r["churn_reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["reason"].as_str())
        .collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["competitor", "price_budget"]);
    // The month before: only the earlier scores, no churn.
    let prev = before.format("%Y-%m").to_string();
    let earlier = app
        .get(&format!("/api/v1/analytics/health?month={prev}"), &admin)
        .await
        .body;
    assert_eq!(
        (&earlier["customers_scored"], &earlier["churned"]),
        (&json!(3), &json!(0)),
        "{earlier}"
    );
    // Analysts see masked names, partners none; agents are refused; a bad month is named.
    let masked = app
        .get(
            &format!("/api/v1/analytics/health?month={month}"),
            &app.token(Role::Analyst),
        )
        .await
        .body;
    assert_ne!(masked["top_at_risk"][0]["name"], "Falling Ltd");
    let partner = app
        .get(
            &format!("/api/v1/analytics/health?month={month}"),
            &app.token(Role::Partner),
        )
        .await
        .body;
    assert!(partner["top_at_risk"][0]["name"].is_null(), "{partner}");
    assert!(!partner.to_string().contains("Falling"));
    app.get("/api/v1/analytics/health", &app.token(Role::Agent))
        .await
        .assert_problem(403, None);
    app.get("/api/v1/analytics/health?month=2026-13", &admin)
        .await
        .assert_problem(422, Some("month"));
    let gql = app
        .graphql(
            Some(&admin),
            "query($m: String) { healthReport(month: $m) { customersScored churned topAtRisk { customerId } } }",
            json!({"m": month}),
        )
        .await;
    assert_eq!(gql["data"]["healthReport"]["customersScored"], 4, "{gql}");
    // The customer's export carries its stage history.
    let export = app
        .get(&format!("/api/v1/customers/{returner}/export"), &admin)
        .await
        .body;
    let stages: Vec<&str> = export["stage_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["to_stage"].as_str())
        .collect();
    assert_eq!(stages, ["churned", "won_back"], "{export}");
}

/// A score stored with every factor but the manual one at `value`.
async fn even_score(app: &TestApp, customer: &str, at: DateTime<Utc>, value: f64) {
    let factors: Vec<serde_json::Value> = [
        "order_recency",
        "frequency_trend",
        "satisfaction",
        "complaints",
        "contact_cadence",
        "loyalty_activity",
        "primary_contact",
    ]
    .iter()
    .map(|f| json!({"factor": f, "value": value, "weight": 10.0, "contribution": value / 7.0}))
    .chain([json!({"factor": "manual", "value": null, "weight": 0.0, "contribution": null})])
    .collect();
    entity::health_score::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        customer_id: Set(customer.parse().unwrap_or_default()),
        computed_at: Set(at),
        score: Set(Some(value)),
        level: Set("watch".into()),
        coverage: Set(1.0),
        factors: Set(json!(factors)),
    }
    .insert(&app.db)
    .await
    .map(|_| ())
    .unwrap_or_else(|e| panic!("storing a score: {e}"));
}

async fn churned_at(app: &TestApp, customer: &str, at: DateTime<Utc>) {
    entity::customer_stage_change::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        customer_id: Set(customer.parse().unwrap_or_default()),
        from_stage: Set("active".into()),
        to_stage: Set("churned".into()),
        reason: Set(Some("competitor".into())),
        changed_at: Set(at),
    }
    .insert(&app.db)
    .await
    .map(|_| ())
    .unwrap_or_else(|e| panic!("storing a churn: {e}"));
}

async fn the_back_test_matches_a_hand_count(app: &TestApp) {
    let start = month_start(Utc::now());
    let snapshot = month_start(start - Duration::days(1)) + Duration::days(1);
    // Critical and churned, at risk and staying, healthy and churned, healthy and staying.
    let mut ids = Vec::new();
    for (name, value, churns) in [
        ("A", 20.0, true),
        ("B", 40.0, false),
        ("C", 80.0, true),
        ("D", 90.0, false),
    ] {
        let c = app.create_customer(json!({"name": name})).await;
        even_score(app, &c, snapshot, value).await;
        if churns {
            churned_at(app, &c, snapshot + Duration::days(10)).await;
        }
        ids.push(c);
    }
    // A churn long after the window does not count.
    churned_at(app, &ids[1], snapshot + Duration::days(200)).await;
    let analyst = app.token(Role::Analyst);
    let run = app
        .post(
            "/api/v1/analytics/health/backtest",
            &analyst,
            json!({"months": 2, "cutoffs": {"healthy": 85, "watch": 82, "at_risk": 81, "min_coverage": 0.5}}),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    let b = &run.body;
    assert_eq!(b["months"].as_array().map(Vec::len), Some(2), "{b}");
    assert_eq!(b["months"][1]["month"], start.format("%Y-%m").to_string());
    assert_eq!(b["months"][0]["outcome_complete"], false);
    let at = |side: &str, level: &str| {
        b["months"][0][side]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["level"] == level)
            .map(|l| {
                (
                    l["customers"].as_i64().unwrap_or(-1),
                    l["churned"].as_i64().unwrap_or(-1),
                )
            })
    };
    assert_eq!(at("current", "critical"), Some((1, 1)), "{b}");
    assert_eq!(at("current", "at_risk"), Some((1, 0)), "{b}");
    assert_eq!(at("current", "healthy"), Some((2, 1)), "{b}");
    assert_eq!(at("proposed", "critical"), Some((3, 2)), "{b}");
    // By hand: now 2 flagged, 1 of them churned, 2 churned of 4 → precision 0.5, recall 0.5,
    // lift 1; proposed 3 flagged, 2 churned → 0.6667, 1, 1.3333.
    let s = |side: &str, key: &str| b[side][key].as_f64();
    assert_eq!(
        (s("current", "precision"), s("current", "recall"), s("current", "lift")),
        (Some(0.5), Some(0.5), Some(1.0)),
        "{b}"
    );
    assert_eq!(
        (
            s("proposed", "precision"),
            s("proposed", "recall"),
            s("proposed", "lift")
        ),
        (Some(0.6667), Some(1.0), Some(1.3333)),
        "{b}"
    );
    let admin = app.token(Role::Admin);
    for (body, field) in [
        (json!({"months": 0}), "months"),
        (json!({"months": 25}), "months"),
        (
            json!({"cutoffs": {"healthy": 50, "watch": 60, "at_risk": 30, "min_coverage": 0.5}}),
            "cutoffs.watch",
        ),
    ] {
        app.post("/api/v1/analytics/health/backtest", &admin, body)
            .await
            .assert_problem(422, Some(field));
    }
    app.post("/api/v1/analytics/health/backtest", &app.token(Role::Agent), json!({}))
        .await
        .assert_problem(403, None);
    app.post(
        "/api/v1/analytics/health/backtest",
        &app.token(Role::Partner),
        json!({}),
    )
    .await
    .assert_problem(403, None);
    let gql = app
        .graphql(
            Some(&admin),
            "{ healthBacktest(input: {months: 2}) { current { precision recall } months { month } } }",
            json!({}),
        )
        .await;
    assert_eq!(gql["data"]["healthBacktest"]["current"]["precision"], 0.5, "{gql}");
}

on_both_databases!(
    the_monthly_report_counts_levels_moves_and_churn,
    the_back_test_matches_a_hand_count,
);
