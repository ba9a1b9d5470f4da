//! RFM scoring, value tiers, lifetime value, segment rules, preview, refresh
//! and static membership.

use crate::access::{MANAGERS_200, MANAGERS_201, MANAGERS_204, READERS, Route, answers_as_the_matrix_says};
use crate::common::TestApp;
use chrono::{Duration, Utc};
use rapport::auth::Role;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Records a completed order placed `ago` before now.
async fn order(app: &TestApp, customer: &str, amount: i64, ago: Duration) -> String {
    let at = (Utc::now() - ago).to_rfc3339();
    let reply = app
        .post(
            "/api/v1/orders",
            &app.token(Role::Admin),
            json!({"customer_id": customer, "amount_minor": amount, "currency": "EUR", "ordered_at": at}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.id()
}

/// An order `days` (and an hour, so day counts are not on an edge) ago.
async fn order_days_ago(app: &TestApp, customer: &str, amount: i64, days: i64) -> String {
    order(app, customer, amount, Duration::days(days) + Duration::hours(1)).await
}

async fn refund(app: &TestApp, order: &str) {
    let reply = app
        .post(
            &format!("/api/v1/orders/{order}/refund"),
            &app.token(Role::Admin),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn recompute(app: &TestApp, body: Value) -> Value {
    let reply = app
        .post("/api/v1/analytics/rfm/recompute", &app.token(Role::Manager), body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

async fn rfm_of(app: &TestApp, id: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/customers/{id}/overview"), &app.token(Role::Admin))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["rfm"].clone()
}

async fn tier_of(app: &TestApp, id: &str) -> String {
    app.get(&format!("/api/v1/customers/{id}"), &app.token(Role::Admin))
        .await
        .body["value_tier"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Six buyers scored by hand (n = 6, window 365 days, lifetime 36 months, so
/// LTV = historical + 3 × monetary):
///
/// | | recency | F | M | r | f | m | FM | label | richer | tier |
/// |---|---|---|---|---|---|---|---|---|---|---|
/// | A | 1 | 3 | 600 | 5 | 5 | 4 | 5 | champions | 2 | important |
/// | B | 5 | 1 | 500 | 5 | 4 | 3 | 4 | champions | 3 | general |
/// | C | 30 | 1 | 1000 | 4 | 4 | 5 | 5 | champions | 1 | key |
/// | D | 100 | 2 | 100 | 3 | 5 | 2 | 4 | loyal | 4 | general |
/// | E | 300 | 1 | 2000 | 2 | 4 | 5 | 5 | at_risk | 0 | key |
/// | F | 500 | 0 | 0 | 1 | 1 | 1 | 1 | lost | 5 | general |
///
/// B, C and E tie on frequency and share the higher score (cumulative rank 4
/// of 6 → ceil(20 / 6) = 4). B's 400-day-old order is outside the window but
/// in its history; C's refunded order counts nowhere. G has no orders and H
/// only a refunded one: neither is scored, both end up general, except that
/// G's locked tier is kept.
/// Nine customers whose orders give the hand-computed table below, scored once.
async fn rfm_population(app: &TestApp) -> (std::collections::HashMap<&'static str, String>, Value) {
    let mut ids = std::collections::HashMap::new();
    for name in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
        let body = match name {
            "G" => json!({"name": name, "value_tier": "key", "tier_locked": true}),
            "H" | "I" => json!({"name": name, "value_tier": "key"}),
            _ => json!({"name": name}),
        };
        ids.insert(name, app.create_customer(body).await);
    }
    for (amount, days) in [(100, 1), (200, 10), (300, 20)] {
        order_days_ago(app, &ids["A"], amount, days).await;
    }
    order_days_ago(app, &ids["B"], 500, 5).await;
    order_days_ago(app, &ids["B"], 9_999, 400).await;
    order_days_ago(app, &ids["C"], 1_000, 30).await;
    let refunded = order_days_ago(app, &ids["C"], 5_000, 40).await;
    refund(app, &refunded).await;
    order_days_ago(app, &ids["D"], 50, 100).await;
    order_days_ago(app, &ids["D"], 50, 110).await;
    order_days_ago(app, &ids["E"], 2_000, 300).await;
    order_days_ago(app, &ids["F"], 70, 500).await;
    let only_refund = order_days_ago(app, &ids["H"], 800, 3).await;
    refund(app, &only_refund).await;

    let result = recompute(app, json!({})).await;
    assert_eq!(result["customers_scored"], 6);
    assert_eq!(result["window_days"], 365);
    (ids, result)
}

async fn rfm_scores_labels_tiers_and_value_match_the_hand_computed_table(app: &TestApp) {
    let (ids, result) = rfm_population(app).await;

    // (name, recency, F, M, historical, r, f, m, label, tier)
    let expected = [
        ("A", 1, 3, 600, 600, 5, 5, 4, "champions", "important"),
        ("B", 5, 1, 500, 10_499, 5, 4, 3, "champions", "general"),
        ("C", 30, 1, 1_000, 1_000, 4, 4, 5, "champions", "key"),
        ("D", 100, 2, 100, 100, 3, 5, 2, "loyal", "general"),
        ("E", 300, 1, 2_000, 2_000, 2, 4, 5, "at_risk", "key"),
        ("F", 500, 0, 0, 70, 1, 1, 1, "lost", "general"),
    ];
    for (name, recency, f, m, historical, rs, fs, ms, label, tier) in expected {
        let rfm = rfm_of(app, &ids[name]).await;
        let got = (
            rfm["recency_days"].as_i64(),
            rfm["frequency"].as_i64(),
            rfm["monetary"].as_i64(),
            rfm["historical_spend"].as_i64(),
            rfm["r_score"].as_i64(),
            rfm["f_score"].as_i64(),
            rfm["m_score"].as_i64(),
            rfm["label"].as_str(),
            rfm["computed_tier"].as_str(),
        );
        assert_eq!(
            got,
            (
                Some(recency),
                Some(f),
                Some(m),
                Some(historical),
                Some(rs),
                Some(fs),
                Some(ms),
                Some(label),
                Some(tier)
            ),
            "customer {name}: {rfm}"
        );
        assert_eq!(rfm["lifetime_value"].as_i64(), Some(historical + 3 * m), "{name}");
        assert_eq!(tier_of(app, &ids[name]).await, tier, "{name}");
    }
    for name in ["G", "H", "I"] {
        assert!(rfm_of(app, &ids[name]).await.is_null(), "{name} has no completed order");
    }
    assert_eq!(tier_of(app, &ids["G"]).await, "key", "a locked tier is kept");
    assert_eq!(tier_of(app, &ids["H"]).await, "general");
    assert_eq!(tier_of(app, &ids["I"]).await, "general");

    // Tier changes are recorded with from, to and why: C and E up to key, A to
    // important, H and I down from key; G is locked and B, D, F stay general.
    let changes = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT c.name, t.from_tier, t.to_tier, t.reason FROM customer_tier_change t \
             JOIN customer c ON c.id = t.customer_id ORDER BY c.name",
        ))
        .await
        .unwrap();
    let changes: Vec<(String, String, String, String)> = changes
        .iter()
        .map(|r| {
            (
                r.try_get("", "name").unwrap(),
                r.try_get("", "from_tier").unwrap(),
                r.try_get("", "to_tier").unwrap(),
                r.try_get("", "reason").unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, String, String)> = [
        ("A", "general", "important"),
        ("C", "general", "key"),
        ("E", "general", "key"),
        ("H", "key", "general"),
        ("I", "key", "general"),
    ]
    .iter()
    .map(|(n, f, t)| (n.to_string(), f.to_string(), t.to_string(), "recompute".to_string()))
    .collect();
    assert_eq!(changes, want);
    assert_eq!(result["tier_changes"], 5);
}

async fn a_second_recompute_changes_nothing_and_takes_back_an_unlocked_hand_set_tier(app: &TestApp) {
    let (ids, _) = rfm_population(app).await;
    // A second run changes no tiers and records nothing new.
    let again = recompute(app, json!({})).await;
    assert_eq!(again["tier_changes"], 0);
    assert_eq!(app.count("customer_tier_change").await, 5);

    // A tier set by hand is recorded as a manual change; without a lock the
    // next recompute takes it back, and says so.
    let reply = app
        .patch(
            &format!("/api/v1/customers/{}", ids["B"]),
            &app.token(Role::Manager),
            json!({"value_tier": "key"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let back = recompute(app, json!({})).await;
    assert_eq!(back["tier_changes"], 1);
    assert_eq!(tier_of(app, &ids["B"]).await, "general");
    let of_b = app
        .db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.backend {
                crate::common::Backend::Postgres => {
                    "SELECT from_tier, to_tier, reason FROM customer_tier_change WHERE customer_id = $1 ORDER BY id"
                }
                crate::common::Backend::Sqlite => {
                    "SELECT from_tier, to_tier, reason FROM customer_tier_change WHERE customer_id = ? ORDER BY id"
                }
            },
            [ids["B"].parse::<uuid::Uuid>().unwrap().into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "from_tier").unwrap(),
                r.try_get::<String>("", "to_tier").unwrap(),
                r.try_get::<String>("", "reason").unwrap(),
            )
        })
        .collect::<Vec<_>>();
    let want_b = [("general", "key", "manual"), ("key", "general", "recompute")]
        .map(|(f, t, r)| (f.to_owned(), t.to_owned(), r.to_owned()));
    assert_eq!(of_b, want_b);
}

async fn the_rfm_distribution_and_graphql_show_the_same_scores(app: &TestApp) {
    let (ids, _) = rfm_population(app).await;
    // The distribution: per label and per cell, with spend in the window.
    let dist = app.get("/api/v1/analytics/rfm", &app.token(Role::Analyst)).await;
    assert_eq!(dist.status, 200, "{}", dist.body);
    assert_eq!(dist.body["customers"], 6);
    let label = |name: &str| {
        dist.body["labels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["label"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(label("champions")["customers"], 3);
    assert_eq!(label("champions")["monetary"], 2_100);
    assert_eq!(label("lost")["customers"], 1);
    let cells = dist.body["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6, "every buyer sits in its own cell here");
    assert!(
        cells
            .iter()
            .any(|c| c["r"] == 2 && c["f"] == 4 && c["m"] == 5 && c["monetary"] == 2_000)
    );

    // GraphQL shows the same scores on the customer.
    let data = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "query($id: ID!) { customer(id: $id) { rfm { label rScore fScore mScore lifetimeValue } } }",
            json!({"id": ids["E"]}),
        )
        .await;
    assert_eq!(
        data["data"]["customer"]["rfm"],
        json!({"label": "at_risk", "rScore": 2, "fScore": 4, "mScore": 5, "lifetimeValue": "8000"})
    );
}

async fn the_window_edge_and_a_per_request_window_decide_what_counts(app: &TestApp) {
    let id = app.create_customer(json!({"name": "Edge"})).await;
    order(app, &id, 7, Duration::days(365) - Duration::hours(1)).await;
    order(app, &id, 11, Duration::days(365) + Duration::hours(1)).await;
    recompute(app, json!({})).await;
    let rfm = rfm_of(app, &id).await;
    assert_eq!(
        (rfm["frequency"].as_i64(), rfm["monetary"].as_i64()),
        (Some(1), Some(7))
    );
    assert_eq!(rfm["historical_spend"], 18);
    assert_eq!(rfm["recency_days"], 364);

    let short = recompute(app, json!({"window_days": 30})).await;
    assert_eq!(short["window_days"], 30);
    let rfm = rfm_of(app, &id).await;
    assert_eq!(
        (rfm["frequency"].as_i64(), rfm["monetary"].as_i64()),
        (Some(0), Some(0))
    );

    // Settings change the default window and the projection.
    let admin = app.token(Role::Admin);
    let put = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/settings/analytics",
            Some(&admin),
            Some(
                json!({"rfm_window_days": 400, "key_tier_percent": 10, "important_tier_percent": 30,
                "expected_lifetime_months": 12, "currency": "EUR"}),
            ),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let r = recompute(app, json!({})).await;
    assert_eq!(r["window_days"], 400);
    let rfm = rfm_of(app, &id).await;
    assert_eq!(rfm["monetary"], 18);
    // 18 × 365 × 12 / (12 × 400) = 16 (whole minor units, rounded down).
    assert_eq!(rfm["lifetime_value"], 18 + 16);

    for (body, field) in [
        (json!({"window_days": 0}), "window_days"),
        (json!({"window_days": "x"}), "window_days"),
        (json!({"nope": 1}), "nope"),
    ] {
        app.post("/api/v1/analytics/rfm/recompute", &admin, body)
            .await
            .assert_problem(422, Some(field));
    }
    for (body, field) in [
        (
            json!({"rfm_window_days": 1, "key_tier_percent": 20, "important_tier_percent": 30, "expected_lifetime_months": 36, "currency": null}),
            "rfm_window_days",
        ),
        (
            json!({"rfm_window_days": 365, "key_tier_percent": 80, "important_tier_percent": 30, "expected_lifetime_months": 36, "currency": null}),
            "important_tier_percent",
        ),
        (
            json!({"rfm_window_days": 365, "key_tier_percent": 20, "important_tier_percent": 30, "expected_lifetime_months": 36, "currency": "euro"}),
            "currency",
        ),
        (
            json!({"rfm_window_days": 365, "key_tier_percent": 20, "important_tier_percent": 30}),
            "expected_lifetime_months",
        ),
    ] {
        app.request(
            reqwest::Method::PUT,
            "/api/v1/settings/analytics",
            Some(&admin),
            Some(body),
        )
        .await
        .assert_problem(422, Some(field));
    }
    let settings = app.get("/api/v1/settings/analytics", &admin).await;
    assert_eq!(
        settings.body["rfm_window_days"], 400,
        "a refused update changes nothing"
    );
}

/// A small population covering every rule field.
async fn people(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let ann = app
        .create_customer(json!({
            "name": "Ann", "value_tier": "key", "tier_locked": true, "lifecycle_stage": "active",
            "tags": ["vip", "beta"], "country": "DE", "source": "Web Shop", "owner_id": "agent-1",
            "birthday": "1990-03-15",
            "custom_attributes": {"plan": "pro", "seats": 5, "trial": false}
        }))
        .await;
    let bob = app
        .create_customer(json!({
            "name": "Bob", "lifecycle_stage": "prospect", "tags": ["beta"], "country": "FR",
            "source": "Referral 100%", "birthday": "1985-11-02",
            "custom_attributes": {"plan": "free"}
        }))
        .await;
    app.create_customer(json!({"name": "Cy", "lifecycle_stage": "churned"}))
        .await;
    order_days_ago(app, &ann, 1_000, 10).await;
    order_days_ago(app, &ann, 3_000, 200).await;
    order_days_ago(app, &bob, 500, 120).await;
    let reply = app
        .post(
            &format!("/api/v1/customers/{ann}/interactions"),
            &admin,
            json!({"channel": "phone", "direction": "outbound", "summary": "check-in",
                "occurred_at": (Utc::now() - Duration::days(3) - Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    recompute(app, json!({})).await;
}

async fn preview_names(app: &TestApp, rule: Value) -> Vec<String> {
    let reply = app
        .post(
            "/api/v1/segments/preview",
            &app.token(Role::Agent),
            json!({ "rule": rule }),
        )
        .await;
    assert_eq!(reply.status, 200, "rule {rule}: {}", reply.body);
    let mut names: Vec<String> = reply.body["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(reply.body["count"].as_u64(), Some(names.len() as u64), "rule {rule}");
    names
}

/// (rule, the names it matches among Ann, Bob and Cy).
fn rule_cases() -> Vec<(Value, &'static [&'static str])> {
    let since = |days: i64| (Utc::now() - Duration::days(days)).to_rfc3339();
    let leaf = |field: &str, op: &str, value: Value| json!({"field": field, "op": op, "value": value});
    let cases: Vec<(Value, &'static [&'static str])> = vec![
        (leaf("tier", "eq", json!("key")), &["Ann"]),
        (leaf("tier", "ne", json!("key")), &["Bob", "Cy"]),
        (leaf("tier", "in", json!(["key", "important"])), &["Ann"]),
        (leaf("tier", "not_in", json!(["key"])), &["Bob", "Cy"]),
        (leaf("tier", "is_null", json!(false)), &["Ann", "Bob", "Cy"]),
        (leaf("lifecycle_stage", "eq", json!("churned")), &["Cy"]),
        (
            leaf("lifecycle_stage", "in", json!(["active", "prospect"])),
            &["Ann", "Bob"],
        ),
        (leaf("tags", "has_any", json!(["vip", "nobody"])), &["Ann"]),
        (leaf("tags", "has_any", json!(["BETA "])), &["Ann", "Bob"]),
        (leaf("tags", "has_all", json!(["vip", "beta"])), &["Ann"]),
        (leaf("tags", "has_all", json!(["beta", "beta"])), &["Ann", "Bob"]),
        (leaf("country", "eq", json!("DE")), &["Ann"]),
        (leaf("country", "ne", json!("DE")), &["Bob", "Cy"]),
        (leaf("country", "in", json!(["DE", "FR"])), &["Ann", "Bob"]),
        (leaf("country", "not_in", json!(["DE"])), &["Bob", "Cy"]),
        (leaf("country", "is_null", json!(true)), &["Cy"]),
        (leaf("source", "contains", json!("shop")), &["Ann"]),
        (leaf("source", "contains", json!("100%")), &["Bob"]),
        (leaf("source", "contains", json!("_")), &[]),
        (leaf("owner", "eq", json!("agent-1")), &["Ann"]),
        (leaf("owner", "is_null", json!(true)), &["Bob", "Cy"]),
        (leaf("created_at", "gte", json!(since(1))), &["Ann", "Bob", "Cy"]),
        (leaf("created_at", "lt", json!(since(1))), &[]),
        (
            leaf(
                "created_at",
                "between",
                json!([since(1), Utc::now() + Duration::hours(1)]),
            ),
            &["Ann", "Bob", "Cy"],
        ),
        (leaf("birthday_month", "eq", json!(3)), &["Ann"]),
        (leaf("birthday_month", "between", json!([10, 12])), &["Bob"]),
        (leaf("birthday_month", "is_null", json!(true)), &["Cy"]),
        (leaf("order_count", "eq", json!(2)), &["Ann"]),
        (leaf("order_count", "gte", json!(1)), &["Ann", "Bob"]),
        (leaf("order_count", "eq", json!(0)), &["Cy"]),
        (leaf("total_spend", "gt", json!(1_000)), &["Ann"]),
        (leaf("total_spend", "lte", json!(500)), &["Bob", "Cy"]),
        (leaf("days_since_last_order", "gt", json!(90)), &["Bob"]),
        (leaf("days_since_last_order", "lt", json!(90)), &["Ann"]),
        (leaf("days_since_last_order", "is_null", json!(true)), &["Cy"]),
        (leaf("days_since_last_contact", "eq", json!(3)), &["Ann"]),
        (leaf("days_since_last_contact", "is_null", json!(true)), &["Bob", "Cy"]),
        (leaf("rfm_r", "eq", json!(5)), &["Ann"]),
        (leaf("rfm_f", "gte", json!(4)), &["Ann"]),
        (leaf("rfm_m", "in", json!([1, 2, 3])), &["Bob"]),
        (leaf("rfm_label", "is_null", json!(true)), &["Cy"]),
        (leaf("rfm_label", "ne", json!("champions")), &["Bob", "Cy"]),
        (leaf("lifetime_value", "gt", json!(10_000)), &["Ann"]),
        (leaf("lifetime_value", "lt", json!(10_000)), &["Bob"]),
        (leaf("custom_attributes.plan", "eq", json!("pro")), &["Ann"]),
        (leaf("custom_attributes.plan", "ne", json!("pro")), &["Bob", "Cy"]),
        (leaf("custom_attributes.seats", "eq", json!(5)), &["Ann"]),
        (leaf("custom_attributes.trial", "eq", json!(false)), &["Ann"]),
        (leaf("custom_attributes.seats", "is_null", json!(true)), &["Bob", "Cy"]),
        (leaf("custom_attributes.plan", "is_null", json!(false)), &["Ann", "Bob"]),
        (
            json!({"all": [leaf("tags", "has_any", json!(["beta"])), {"not": leaf("tier", "eq", json!("key"))}]}),
            &["Bob"],
        ),
        (
            json!({"any": [leaf("country", "eq", json!("FR")), {"all": [leaf("order_count", "eq", json!(0)), leaf("lifecycle_stage", "eq", json!("churned"))]}]}),
            &["Bob", "Cy"],
        ),
        (
            json!({"not": {"any": [leaf("country", "eq", json!("DE")), leaf("country", "eq", json!("FR"))]}}),
            &["Cy"],
        ),
    ];
    cases
}

async fn every_rule_field_and_operator_selects_the_right_customers(app: &TestApp) {
    people(app).await;
    for (rule, want) in rule_cases() {
        assert_eq!(preview_names(app, rule.clone()).await, want, "rule {rule}");
    }

    // Order statistics follow orders as they are recorded and refunded.
    let dee = app.create_customer(json!({"name": "Dee"})).await;
    order_days_ago(app, &dee, 700, 30).await;
    let latest = order_days_ago(app, &dee, 300, 5).await;
    let stats = |spend: i64, count: i64, days: i64| {
        json!({"all": [
            {"field": "total_spend", "op": "eq", "value": spend},
            {"field": "order_count", "op": "eq", "value": count},
            {"field": "days_since_last_order", "op": "eq", "value": days},
        ]})
    };
    assert_eq!(preview_names(app, stats(1_000, 2, 5)).await, ["Dee"]);
    refund(app, &latest).await;
    assert_eq!(preview_names(app, stats(1_000, 2, 5)).await, Vec::<String>::new());
    assert_eq!(preview_names(app, stats(700, 1, 30)).await, ["Dee"]);
}

async fn invalid_rules_name_the_exact_path(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let good = json!({"field": "tier", "op": "eq", "value": "key"});
    let cases = [
        (
            json!({"all": [good, good, {"field": "tier", "op": "gt", "value": "key"}]}),
            "rule.all[2].op",
        ),
        (
            json!({"all": [good, {"field": "shoe_size", "op": "eq", "value": 1}]}),
            "rule.all[1].field",
        ),
        (json!({"any": []}), "rule.any"),
        (
            json!({"not": {"all": [{"field": "tier", "op": "eq", "value": "gold"}]}}),
            "rule.not.all[0].value",
        ),
        (
            json!({"field": "order_count", "op": "between", "value": [5, 1]}),
            "rule.value",
        ),
        (
            json!({"field": "order_count", "op": "in", "value": [1, "two"]}),
            "rule.value[1]",
        ),
        (
            json!({"field": "created_at", "op": "gt", "value": "yesterday"}),
            "rule.value",
        ),
        (json!({"field": "tags", "op": "eq", "value": "vip"}), "rule.op"),
        (json!({"field": "tier", "op": "is_null", "value": "yes"}), "rule.value"),
        (json!({"field": "tier", "op": "eq"}), "rule.value"),
        (
            json!({"field": "tier", "op": "eq", "value": "key", "extra": 1}),
            "rule.extra",
        ),
        (json!({"all": [good], "any": [good]}), "rule.any"),
        (
            json!({"field": "custom_attributes.a b", "op": "eq", "value": 1}),
            "rule.field",
        ),
        (
            json!({"field": "custom_attributes.plan", "op": "eq", "value": {"x": 1}}),
            "rule.value",
        ),
        (json!([good]), "rule"),
    ];
    for (rule, path) in cases {
        app.post("/api/v1/segments/preview", &manager, json!({ "rule": rule }))
            .await
            .assert_problem(422, Some(path));
        app.post(
            "/api/v1/segments",
            &manager,
            json!({"name": "Bad", "kind": "dynamic", "rule": rule}),
        )
        .await
        .assert_problem(422, Some(path));
    }
    assert_eq!(app.count("segment").await, 0, "no invalid segment was saved");

    // The same validation in GraphQL, with the path in extensions.
    let data = app
        .graphql(
            Some(&manager),
            "query($r: JSON!) { segmentPreview(rule: $r) { count } }",
            json!({"r": {"all": [good, good, {"field": "tier", "op": "gt", "value": "key"}]}}),
        )
        .await;
    let ext = &data["errors"][0]["extensions"];
    assert_eq!(ext["code"], "validation_failed", "{data}");
    assert_eq!(ext["errors"][0]["path"], "rule.all[2].op");
}

async fn injection_looking_values_are_data(app: &TestApp) {
    let evil = "x' OR '1'='1'; DROP TABLE customer; --";
    app.create_customer(json!({"name": "Robert", "source": evil, "tags": ["a'b"],
        "custom_attributes": {"note": evil}}))
        .await;
    app.create_customer(json!({"name": "Alice", "source": "web"})).await;
    assert_eq!(
        preview_names(app, json!({"field": "source", "op": "eq", "value": evil})).await,
        ["Robert"]
    );
    assert_eq!(
        preview_names(
            app,
            json!({"field": "source", "op": "contains", "value": "' OR '1'='1"})
        )
        .await,
        ["Robert"]
    );
    assert_eq!(
        preview_names(app, json!({"field": "tags", "op": "has_any", "value": ["a'b"]})).await,
        ["Robert"]
    );
    assert_eq!(
        preview_names(
            app,
            json!({"field": "custom_attributes.note", "op": "eq", "value": evil})
        )
        .await,
        ["Robert"]
    );
    assert!(
        preview_names(app, json!({"field": "source", "op": "in", "value": ["') OR 1=1 --"]}))
            .await
            .is_empty()
    );
    assert_eq!(app.count("customer").await, 2, "nothing was dropped");
}

async fn refresh_records_who_entered_and_who_left(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let vip = |n: &str| json!({"name": n, "tags": ["vip"]});
    app.create_customer(vip("A")).await;
    let b = app.create_customer(vip("B")).await;
    let c = app.create_customer(json!({"name": "C"})).await;
    let seg = app
        .post(
            "/api/v1/segments",
            &manager,
            json!({"name": "VIPs", "kind": "dynamic", "description": "tagged vip",
                "rule": {"field": "tags", "op": "has_any", "value": ["vip"]}}),
        )
        .await;
    assert_eq!(seg.status, 201, "{}", seg.body);
    assert_eq!(seg.body["member_count"], 0);
    assert!(seg.body["refreshed_at"].is_null());
    let id = seg.id();
    let path = format!("/api/v1/segments/{id}");

    let first = app.post(&format!("{path}/refresh"), &manager, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            &first.body["member_count"],
            &first.body["entered"],
            &first.body["exited"]
        ),
        (&json!(2), &json!(2), &json!(0))
    );

    // B loses the tag, C gains it.
    let admin = app.token(Role::Admin);
    app.patch(&format!("/api/v1/customers/{b}"), &admin, json!({"tags": []}))
        .await;
    app.patch(&format!("/api/v1/customers/{c}"), &admin, json!({"tags": ["VIP"]}))
        .await;
    let second = app.post(&format!("{path}/refresh"), &manager, json!({})).await;
    assert_eq!(
        (
            &second.body["member_count"],
            &second.body["entered"],
            &second.body["exited"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    let third = app.post(&format!("{path}/refresh"), &manager, json!({})).await;
    assert_eq!((&third.body["entered"], &third.body["exited"]), (&json!(0), &json!(0)));

    let events = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            // The only segment of this test.
            "SELECT c.name, e.kind FROM segment_event e JOIN customer c ON c.id = e.customer_id ORDER BY e.id",
        ))
        .await
        .unwrap();
    let mut events: Vec<(String, String)> = events
        .iter()
        .map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "kind").unwrap()))
        .collect();
    // The first refresh's two entries come in no particular order.
    events[..2].sort();
    let want = [("A", "entered"), ("B", "entered"), ("C", "entered"), ("B", "exited")];
    assert_eq!(events, want.map(|(n, k)| (n.to_owned(), k.to_owned())));
}

/// A dynamic segment of the customers tagged vip (A and C), refreshed once.
async fn vip_segment_of_two(app: &TestApp) -> (String, String) {
    let manager = app.token(Role::Manager);
    for name in ["A", "C"] {
        app.create_customer(json!({"name": name, "tags": ["vip"]})).await;
    }
    let seg = app
        .post(
            "/api/v1/segments",
            &manager,
            json!({"name": "VIPs", "kind": "dynamic", "rule": {"field": "tags", "op": "has_any", "value": ["vip"]}}),
        )
        .await;
    assert_eq!(seg.status, 201, "{}", seg.body);
    let id = seg.id();
    let path = format!("/api/v1/segments/{id}");
    let refreshed = app.post(&format!("{path}/refresh"), &manager, json!({})).await;
    assert_eq!(refreshed.body["member_count"], 2, "{}", refreshed.body);
    (id, path)
}

async fn members_agree_in_the_list_the_customers_filter_and_graphql(app: &TestApp) {
    let (id, path) = vip_segment_of_two(app).await;
    // Members: the list, the customers filter and GraphQL agree.
    let masked = app.get(&format!("{path}/members"), &app.token(Role::Analyst)).await;
    assert!(
        masked.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"].as_str().unwrap().ends_with('*')),
        "analysts see members masked: {}",
        masked.body
    );
    let members = app.get(&format!("{path}/members"), &app.token(Role::Agent)).await;
    assert_eq!(members.status, 200, "{}", members.body);
    let mut names: Vec<&str> = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["A", "C"]);
    let filtered = app
        .get(&format!("/api/v1/customers?segment_id={id}"), &app.token(Role::Agent))
        .await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 2);
    let data = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "query($id: ID!) { segment(id: $id) { name memberCount members(first: 10) { edges { node { name } } } }
               customers(filter: {segmentId: $id}) { edges { node { name } } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data["data"]["segment"]["memberCount"], 2, "{data}");
    assert_eq!(data["data"]["segment"]["members"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(data["data"]["customers"]["edges"].as_array().unwrap().len(), 2);
}

async fn a_changed_rule_applies_at_the_next_refresh_and_deleting_removes_all(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let (_, path) = vip_segment_of_two(app).await;
    // Changing the rule takes effect at the next refresh; deleting removes all.
    let patched = app
        .patch(
            &path,
            &manager,
            json!({"rule": {"field": "tags", "op": "has_all", "value": ["vip", "gold"]}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let emptied = app.post(&format!("{path}/refresh"), &manager, json!({})).await;
    assert_eq!(
        (&emptied.body["member_count"], &emptied.body["exited"]),
        (&json!(0), &json!(2))
    );
    app.patch(&path, &manager, json!({"rule": {"all": []}}))
        .await
        .assert_problem(422, Some("rule.all"));
    assert_eq!(app.delete(&path, &manager).await.status, 204);
    app.get(&path, &manager).await.assert_problem(404, None);
    assert_eq!(app.count("segment_event").await, 0);
}

async fn static_segments_take_members_by_id_or_external_id(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let a = app.create_customer(json!({"name": "A", "external_id": "crm-a"})).await;
    let b = app.create_customer(json!({"name": "B"})).await;
    let seg = app
        .post(
            "/api/v1/segments",
            &manager,
            json!({"name": "Hand-picked", "kind": "static"}),
        )
        .await;
    assert_eq!(seg.status, 201, "{}", seg.body);
    let path = format!("/api/v1/segments/{}", seg.id());
    let added = app
        .post(
            &format!("{path}/members"),
            &manager,
            json!({"customer_ids": [b], "external_ids": ["crm-a"]}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["member_count"], 2);
    // Adding again is harmless.
    let again = app
        .post(&format!("{path}/members"), &manager, json!({"customer_ids": [a]}))
        .await;
    assert_eq!(again.body["member_count"], 2);
    let removed = app
        .post(
            &format!("{path}/members/remove"),
            &manager,
            json!({"external_ids": ["crm-a"]}),
        )
        .await;
    assert_eq!(removed.body["member_count"], 1, "{}", removed.body);
    assert_eq!(app.count("segment_event").await, 3);

    // Unknown customers name their position and change nothing.
    app.post(
        &format!("{path}/members"),
        &manager,
        json!({"customer_ids": [a, uuid::Uuid::now_v7()]}),
    )
    .await
    .assert_problem(422, Some("customer_ids[1]"));
    app.post(&format!("{path}/members"), &manager, json!({"external_ids": ["nope"]}))
        .await
        .assert_problem(422, Some("external_ids[0]"));
    app.post(&format!("{path}/members"), &manager, json!({}))
        .await
        .assert_problem(422, Some("customer_ids"));
    assert_eq!(app.count("segment_member").await, 1);

    // GraphQL mutations do the same.
    let data = app
        .graphql(
            Some(&manager),
            "mutation($id: ID!, $c: ID!) { addSegmentMembers(id: $id, input: {customerIds: [$c]}) { memberCount } }",
            json!({"id": seg.id(), "c": a}),
        )
        .await;
    assert_eq!(data["data"]["addSegmentMembers"]["memberCount"], 2, "{data}");
    let list = app.get("/api/v1/segments?kind=static", &app.token(Role::Agent)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn each_kind_of_segment_refuses_what_it_does_not_take(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let a = app.create_customer(json!({"name": "A"})).await;
    let seg = app
        .post(
            "/api/v1/segments",
            &manager,
            json!({"name": "Hand-picked", "kind": "static"}),
        )
        .await;
    assert_eq!(seg.status, 201, "{}", seg.body);
    let path = format!("/api/v1/segments/{}", seg.id());
    // A static segment is not refreshed and takes no rule; names are unique.
    app.post(&format!("{path}/refresh"), &manager, json!({}))
        .await
        .assert_problem(409, None);
    app.patch(
        &path,
        &manager,
        json!({"rule": {"field": "tier", "op": "eq", "value": "key"}}),
    )
    .await
    .assert_problem(409, Some("rule"));
    app.post(
        "/api/v1/segments",
        &manager,
        json!({"name": "Hand-picked", "kind": "static"}),
    )
    .await
    .assert_problem(409, Some("name"));
    app.post(
        "/api/v1/segments",
        &manager,
        json!({"name": "Rules", "kind": "dynamic"}),
    )
    .await
    .assert_problem(422, Some("rule"));
    app.post(
        "/api/v1/segments",
        &manager,
        json!({"name": "", "kind": "static", "id": "x"}),
    )
    .await
    .assert_problem(422, Some("id"));

    // Members of a dynamic segment follow its rule only.
    let dynamic = app
        .post(
            "/api/v1/segments",
            &manager,
            json!({"name": "Dyn", "kind": "dynamic", "rule": {"field": "tier", "op": "eq", "value": "key"}}),
        )
        .await;
    app.post(
        &format!("/api/v1/segments/{}/members", dynamic.id()),
        &manager,
        json!({"customer_ids": [a]}),
    )
    .await
    .assert_problem(409, None);
}

async fn graphql_segments_follow_the_same_roles(app: &TestApp) {
    let create = "mutation { createSegment(input: {name: \"G\", kind: DYNAMIC, \
        rule: {field: \"tier\", op: \"eq\", value: \"key\"}}) { id name rule } }";
    let denied = app.graphql(Some(&app.token(Role::Agent)), create, json!({})).await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "forbidden", "{denied}");
    let made = app.graphql(Some(&app.token(Role::Manager)), create, json!({})).await;
    assert_eq!(made["data"]["createSegment"]["rule"]["field"], "tier", "{made}");
    let id = made["data"]["createSegment"]["id"].as_str().unwrap().to_owned();
    let refreshed = app
        .graphql(
            Some(&app.token(Role::Admin)),
            "mutation($id: ID!) { refreshSegment(id: $id) { memberCount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(refreshed["data"]["refreshSegment"]["memberCount"], 0, "{refreshed}");
    let recomputed = app
        .graphql(
            Some(&app.token(Role::Admin)),
            "mutation { recomputeRfm { customersScored } }",
            json!({}),
        )
        .await;
    assert!(
        recomputed["data"]["recomputeRfm"]["customersScored"].is_number(),
        "{recomputed}"
    );
    for role in [Role::Partner, Role::Customer] {
        let data = app
            .graphql(
                Some(&app.token(role)),
                "{ segments { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["errors"][0]["extensions"]["code"], "forbidden", "{role}: {data}");
    }
    let read = app
        .graphql(
            Some(&app.token(Role::Analyst)),
            "{ segments(first: 5) { edges { cursor node { name kind } } } rfmDistribution { customers } \
               analyticsSettings { rfmWindowDays keyTierPercent } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["segments"]["edges"][0]["node"]["kind"], "DYNAMIC",
        "{read}"
    );
    assert_eq!(read["data"]["analyticsSettings"]["rfmWindowDays"], 365);
}

/// The role matrix of segments, RFM and analytics settings.
fn routes() -> Vec<Route> {
    vec![
        (
            Method::POST,
            "/api/v1/segments",
            Some(json!({"name": "{unique}", "kind": "static"})),
            MANAGERS_201,
        ),
        (Method::GET, "/api/v1/segments", None, READERS),
        (
            Method::POST,
            "/api/v1/segments/preview",
            Some(json!({"rule": {"field": "tier", "op": "eq", "value": "key"}})),
            READERS,
        ),
        (Method::GET, "/api/v1/segments/{static_segment}", None, READERS),
        (
            Method::PATCH,
            "/api/v1/segments/{static_segment}",
            Some(json!({"description": "d"})),
            MANAGERS_200,
        ),
        (Method::DELETE, "/api/v1/segments/{static_segment}", None, MANAGERS_204),
        (
            Method::POST,
            "/api/v1/segments/{dynamic_segment}/refresh",
            Some(json!({})),
            MANAGERS_200,
        ),
        (Method::GET, "/api/v1/segments/{static_segment}/members", None, READERS),
        (
            Method::POST,
            "/api/v1/segments/{static_segment}/members",
            Some(json!({"customer_ids": ["{owned}"]})),
            MANAGERS_200,
        ),
        (
            Method::POST,
            "/api/v1/segments/{static_segment}/members/remove",
            Some(json!({"customer_ids": ["{owned}"]})),
            MANAGERS_200,
        ),
        (Method::GET, "/api/v1/analytics/rfm", None, READERS),
        (
            Method::POST,
            "/api/v1/analytics/rfm/recompute",
            Some(json!({})),
            MANAGERS_200,
        ),
        (Method::GET, "/api/v1/settings/analytics", None, READERS),
        (
            Method::PUT,
            "/api/v1/settings/analytics",
            Some(
                json!({"rfm_window_days": 365, "key_tier_percent": 20, "important_tier_percent": 30,
                "expected_lifetime_months": 36, "currency": null}),
            ),
            MANAGERS_200,
        ),
    ]
}

async fn every_segments_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

on_both_databases!(
    every_segments_route_answers_each_role_as_the_matrix_says,
    rfm_scores_labels_tiers_and_value_match_the_hand_computed_table,
    a_second_recompute_changes_nothing_and_takes_back_an_unlocked_hand_set_tier,
    the_rfm_distribution_and_graphql_show_the_same_scores,
    the_window_edge_and_a_per_request_window_decide_what_counts,
    every_rule_field_and_operator_selects_the_right_customers,
    invalid_rules_name_the_exact_path,
    injection_looking_values_are_data,
    refresh_records_who_entered_and_who_left,
    members_agree_in_the_list_the_customers_filter_and_graphql,
    a_changed_rule_applies_at_the_next_refresh_and_deleting_removes_all,
    static_segments_take_members_by_id_or_external_id,
    each_kind_of_segment_refuses_what_it_does_not_take,
    graphql_segments_follow_the_same_roles,
);
