//! Referral candidates as a marketer meets them: promoters (and only those
//! still promoters) listed newest first, with the code to share and how many
//! they have brought, names masked for analysts, hidden from partners.

use crate::common::TestApp;
use crate::loyalty::exec_for;
use rapport::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

/// Makes a customer's latest NPS answer `score` (a candidate since `at`).
async fn answered(app: &TestApp, customer: &str, score: i32, category: &str, at: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(at).expect("time").to_utc();
    let sql = format!(
        "UPDATE customer SET nps_score = {score}, nps_category = '{category}', referral_candidate_at = $1 WHERE id = $2"
    );
    exec_for(app, &sql, Some(at), customer).await;
}

async fn promoters_are_listed_as_referral_candidates(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let older = app
        .create_customer(json!({"name": "Olga Older", "email": "olga@example.com"}))
        .await;
    let newer = app
        .create_customer(json!({"name": "Nina Newer", "email": "nina@example.com"}))
        .await;
    let lapsed = app.create_customer(json!({"name": "Lars Lapsed"})).await;
    app.create_customer(json!({"name": "Never Asked"})).await;
    answered(app, &older, 9, "promoter", "2026-10-01T00:00:00Z").await;
    answered(app, &newer, 10, "promoter", "2026-11-01T00:00:00Z").await;
    // A candidate once, a detractor since: not asked.
    answered(app, &lapsed, 3, "detractor", "2026-09-01T00:00:00Z").await;
    // Olga's code brings a new customer.
    let code = app
        .get(&format!("/api/v1/customers/{older}/loyalty"), &admin)
        .await
        .body["referral_code"]
        .as_str()
        .expect("a code")
        .to_owned();
    let referee = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Rita Referred", "referral_code": code}),
        )
        .await;
    assert_eq!(referee.status, StatusCode::CREATED, "{}", referee.body);

    let list = app.get("/api/v1/loyalty/referral-candidates", &admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().expect("items").clone();
    let ids: Vec<&str> = items.iter().filter_map(|i| i["customer_id"].as_str()).collect();
    assert_eq!(ids, vec![newer.as_str(), older.as_str()]);
    assert_eq!(items[0]["nps_score"], 10);
    assert_eq!(items[0]["referred"], 0);
    assert!(items[0]["referral_code"].is_null(), "no account yet: {}", items[0]);
    assert_eq!(items[1]["name"], "Olga Older");
    assert_eq!(items[1]["referral_code"], code.as_str());
    assert_eq!(items[1]["referred"], 1);
    assert_eq!(items[1]["candidate_since"], "2026-10-01T00:00:00Z");

    // Paged by the cursor.
    let first = app.get("/api/v1/loyalty/referral-candidates?limit=1", &admin).await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();
    let second = app
        .get(
            &format!("/api/v1/loyalty/referral-candidates?limit=1&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(second.body["items"][0]["customer_id"], older.as_str());
    assert!(second.body["next_cursor"].is_null());

    // Analysts see them masked; partners and customers not at all.
    let masked = app
        .get("/api/v1/loyalty/referral-candidates", &app.token(Role::Analyst))
        .await;
    assert_eq!(masked.status, StatusCode::OK);
    let text = masked.body.to_string();
    assert!(!text.contains("Olga") && !text.contains("olga@"), "{text}");
    for role in [Role::Partner, Role::Customer] {
        let refused = app.get("/api/v1/loyalty/referral-candidates", &app.token(role)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let gql = app
        .graphql(
            Some(&app.token(Role::Analyst)),
            "{ loyaltyReferralCandidates(first: 5) { edges { node { name referred } } } }",
            json!({}),
        )
        .await;
    let edges = gql["data"]["loyaltyReferralCandidates"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 2, "{gql}");
    assert!(!gql.to_string().contains("Olga"), "{gql}");
}

on_both_databases!(promoters_are_listed_as_referral_candidates);
