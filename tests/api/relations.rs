//! Contacts, interactions, orders, the customer 360 and the timeline.

use crate::access::{
    MANAGERS_200, OWNER_WRITERS_200, OWNER_WRITERS_201, OWNER_WRITERS_204, READERS, Route, answers_as_the_matrix_says,
};
use crate::common::TestApp;
use rapport::auth::Role;
use reqwest::Method;
use serde_json::json;

async fn a_new_primary_contact_replaces_the_old_one(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Acme", "kind": "company"})).await;
    let path = format!("/api/v1/customers/{id}/contacts");
    let first = app
        .post(
            &path,
            &admin,
            json!({"name": "Ann", "role": "decision_maker", "is_primary": true}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = app
        .post(
            &path,
            &admin,
            json!({"name": "Bob", "email": "BOB@acme.example", "is_primary": true}),
        )
        .await;
    assert_eq!(second.body["email"], "bob@acme.example");
    let list = app.get(&path, &admin).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "Bob");
    assert_eq!(items[0]["is_primary"], true);
    assert_eq!(items[1]["is_primary"], false);

    let ann = format!("/api/v1/contacts/{}", first.id());
    let promoted = app.patch(&ann, &admin, json!({"is_primary": true})).await;
    assert_eq!(promoted.body["is_primary"], true);
    let bob = app.get(&format!("/api/v1/contacts/{}", second.id()), &admin).await;
    assert_eq!(bob.body["is_primary"], false);

    let left = app.patch(&ann, &admin, json!({"active": false})).await;
    assert_eq!(left.body["active"], false);
    assert!(left.body["left_at"].is_string());
    assert_eq!(app.delete(&ann, &admin).await.status, 204);
    app.get(&ann, &admin).await.assert_problem(404, None);
}

async fn bad_contact_input_is_refused_and_nothing_written(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Acme"})).await;
    let path = format!("/api/v1/customers/{id}/contacts");
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "A", "email": "x"}), "email"),
        (json!({"name": "A", "phone": "abc"}), "phone"),
        (json!({"name": "A", "role": "boss"}), "role"),
        (json!({"name": "A", "customer_id": id}), "customer_id"),
    ] {
        app.post(&path, &admin, body).await.assert_problem(422, Some(field));
    }
    assert_eq!(app.count("contact").await, 0);
    let missing = format!("/api/v1/customers/{}/contacts", uuid::Uuid::now_v7());
    app.post(&missing, &admin, json!({"name": "A"}))
        .await
        .assert_problem(404, None);
    let contact = app.post(&path, &admin, json!({"name": "Ann"})).await.id();
    let cpath = format!("/api/v1/contacts/{contact}");
    app.patch(&cpath, &admin, json!({"email": "nope"}))
        .await
        .assert_problem(422, Some("email"));
    app.patch(&cpath, &admin, json!({"name": null}))
        .await
        .assert_problem(422, Some("name"));
    assert!(app.get(&cpath, &admin).await.body["email"].is_null());
}

async fn logging_an_interaction_moves_last_contacted_forward_only(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    let path = format!("/api/v1/customers/{id}/interactions");
    let r = app
        .post(&path, &admin, json!({"channel": "phone", "direction": "outbound", "summary": "Intro call", "occurred_at": "2026-01-10T10:00:00Z", "sentiment": "positive"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["staff_id"], "admin");
    let customer = app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    assert_eq!(customer.body["last_contacted_at"], "2026-01-10T10:00:00Z");
    app.post(
        &path,
        &admin,
        json!({"channel": "email", "direction": "inbound", "summary": "Older", "occurred_at": "2025-06-01T00:00:00Z"}),
    )
    .await;
    let customer = app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    assert_eq!(
        customer.body["last_contacted_at"], "2026-01-10T10:00:00Z",
        "a back-dated entry does not move it back"
    );
    let list = app.get(&format!("{path}?limit=1"), &admin).await;
    assert_eq!(list.body["items"][0]["summary"], "Intro call");
    let next = list.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("{path}?limit=1&cursor={next}"), &admin).await;
    assert_eq!(second.body["items"][0]["summary"], "Older");
    assert!(second.body["next_cursor"].is_null());
}

async fn bad_interaction_input_is_refused_and_nothing_written(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    let other = app.create_customer(json!({"name": "Bob"})).await;
    let foreign_contact = app
        .post(
            &format!("/api/v1/customers/{other}/contacts"),
            &admin,
            json!({"name": "Zed"}),
        )
        .await
        .id();
    let path = format!("/api/v1/customers/{id}/interactions");
    let ok = json!({"channel": "phone", "direction": "inbound", "summary": "x"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("channel", json!("pigeon")), "channel"),
        (with("direction", json!("sideways")), "direction"),
        (with("summary", json!("  ")), "summary"),
        (with("occurred_at", json!("2999-01-01T00:00:00Z")), "occurred_at"),
        (with("contact_id", json!(foreign_contact)), "contact_id"),
        (with("sentiment", json!("ecstatic")), "sentiment"),
        (json!({"channel": "phone", "direction": "inbound"}), "summary"),
    ] {
        app.post(&path, &admin, body).await.assert_problem(422, Some(field));
    }
    assert_eq!(app.count("interaction").await, 0);
    assert!(app.get(&format!("/api/v1/customers/{id}"), &admin).await.body["last_contacted_at"].is_null());
}

async fn a_resent_order_returns_the_existing_one(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann", "external_id": "c-1"})).await;
    let body = json!({"customer_external_id": "c-1", "external_id": "o-1", "amount_minor": 1999, "currency": "eur"});
    let first = app.post("/api/v1/orders", &admin, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["currency"], "EUR");
    assert_eq!(first.body["customer_id"], id.as_str());
    let again = app.post("/api/v1/orders", &admin, body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(app.count("customer_order").await, 1);

    let other = app.create_customer(json!({"name": "Bob"})).await;
    app.post(
        "/api/v1/orders",
        &admin,
        json!({"customer_id": other, "external_id": "o-1", "amount_minor": 5, "currency": "EUR"}),
    )
    .await
    .assert_problem(409, Some("external_id"));
    assert_eq!(app.count("customer_order").await, 1);
}

async fn concurrent_resends_of_one_order_record_it_once(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    let body = json!({"customer_id": id, "external_id": "race-1", "amount_minor": 100, "currency": "USD"});
    let replies = futures_join(app, &admin, body, 8).await;
    let ids: std::collections::HashSet<String> = replies.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "every reply names the same order");
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(app.count("customer_order").await, 1);
}

async fn futures_join(app: &TestApp, token: &str, body: serde_json::Value, n: usize) -> Vec<crate::common::Reply> {
    let mut handles = Vec::new();
    for _ in 0..n {
        handles.push(app.post("/api/v1/orders", token, body.clone()));
    }
    futures_util::future::join_all(handles).await
}

async fn bad_order_input_is_refused_and_nothing_written(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    let ok = json!({"customer_id": id, "amount_minor": 100, "currency": "EUR"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("amount_minor", json!(0)), "amount_minor"),
        (with("amount_minor", json!(-5)), "amount_minor"),
        (with("amount_minor", json!(1.5)), "amount_minor"),
        (with("currency", json!("euro")), "currency"),
        (with("customer_id", json!(uuid::Uuid::now_v7())), "customer_id"),
        (with("customer_id", json!("nope")), "customer_id"),
        (json!({"amount_minor": 1, "currency": "EUR"}), "customer_id"),
        (with("customer_external_id", json!("x")), "customer_id"),
        (with("ordered_at", json!("2999-01-01T00:00:00Z")), "ordered_at"),
        (with("external_id", json!("has space")), "external_id"),
        (with("status", json!("refunded")), "status"),
    ] {
        app.post("/api/v1/orders", &admin, body)
            .await
            .assert_problem(422, Some(field));
    }
    assert_eq!(app.count("customer_order").await, 0);
}

async fn refunds_happen_once_and_leave_spend(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    let o1 = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": id, "amount_minor": 1000, "currency": "EUR", "ordered_at": "2026-01-01T00:00:00Z"}),
        )
        .await
        .id();
    app.post(
        "/api/v1/orders",
        &admin,
        json!({"customer_id": id, "amount_minor": 250, "currency": "EUR", "ordered_at": "2026-02-01T00:00:00Z"}),
    )
    .await;
    app.post(
        "/api/v1/orders",
        &admin,
        json!({"customer_id": id, "amount_minor": 700, "currency": "USD", "ordered_at": "2026-03-01T00:00:00Z"}),
    )
    .await;
    let refunded = app
        .post(&format!("/api/v1/orders/{o1}/refund"), &admin, json!({}))
        .await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    assert_eq!(refunded.body["status"], "refunded");
    app.post(&format!("/api/v1/orders/{o1}/refund"), &admin, json!({}))
        .await
        .assert_problem(409, None);

    let overview = app.get(&format!("/api/v1/customers/{id}/overview"), &admin).await;
    let orders = &overview.body["orders"];
    assert_eq!(orders["order_count"], 2);
    assert_eq!(
        orders["total_spend"],
        json!([{"currency": "EUR", "amount_minor": 250}, {"currency": "USD", "amount_minor": 700}])
    );
    assert_eq!(orders["first_order_at"], "2026-02-01T00:00:00Z");
    assert_eq!(orders["last_order_at"], "2026-03-01T00:00:00Z");

    let list = app
        .get(&format!("/api/v1/orders?customer_id={id}&status=completed"), &admin)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let refunded_only = app.get("/api/v1/orders?status=refunded", &admin).await;
    assert_eq!(refunded_only.body["items"][0]["id"], o1.as_str());
}

async fn the_overview_and_timeline_show_everything_in_time_order(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Ann"})).await;
    app.post(
        &format!("/api/v1/customers/{id}/contacts"),
        &admin,
        json!({"name": "Pat", "is_primary": true}),
    )
    .await;
    for (i, day) in ["01", "03", "05"].iter().enumerate() {
        app.post("/api/v1/orders", &admin, json!({"customer_id": id, "amount_minor": 100 * (i as i64 + 1), "currency": "EUR", "ordered_at": format!("2026-01-{day}T12:00:00Z")}))
            .await;
    }
    for day in ["02", "04", "06"] {
        app.post(&format!("/api/v1/customers/{id}/interactions"), &admin, json!({"channel": "chat", "direction": "inbound", "summary": format!("day {day}"), "occurred_at": format!("2026-01-{day}T12:00:00Z")}))
            .await;
    }
    let overview = app.get(&format!("/api/v1/customers/{id}/overview"), &admin).await;
    assert_eq!(overview.status, 200);
    assert_eq!(overview.body["customer"]["id"], id.as_str());
    assert_eq!(overview.body["contacts"][0]["name"], "Pat");
    assert_eq!(overview.body["recent_interactions"][0]["summary"], "day 06");
    assert_eq!(overview.body["orders"]["order_count"], 3);

    let mut days = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/customers/{id}/timeline?limit=4&cursor={cursor}"),
                &admin,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for e in page.body["items"].as_array().unwrap() {
            days.push((
                e["type"].as_str().unwrap().to_owned(),
                e["at"].as_str().unwrap()[8..10].to_owned(),
            ));
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let expected: Vec<(String, String)> = [
        ("interaction", "06"),
        ("order", "05"),
        ("interaction", "04"),
        ("order", "03"),
        ("interaction", "02"),
        ("order", "01"),
    ]
    .iter()
    .map(|(t, d)| ((*t).to_owned(), (*d).to_owned()))
    .collect();
    assert_eq!(days, expected);
}

/// Fills every part of a customer's 360: contacts, orders in two currencies
/// (one refunded), interactions, open feedback and RFM scores.
async fn fill_the_360(app: &TestApp, id: &str) {
    let admin = app.token(Role::Admin);
    for (urgency, importance) in [("high", "high"), ("high", "medium"), ("low", "low")] {
        app.post(
            &format!("/api/v1/customers/{id}/needs"),
            &admin,
            json!({"title": "A need", "kind": "core", "urgency": urgency, "importance": importance, "source": "other"}),
        )
        .await;
    }
    for (name, primary) in [("Pat", false), ("Sam", true)] {
        app.post(
            &format!("/api/v1/customers/{id}/contacts"),
            &admin,
            json!({"name": name, "is_primary": primary, "email": format!("{name}@example.com")}),
        )
        .await;
    }
    for i in 0..12 {
        let currency = if i % 3 == 0 { "USD" } else { "EUR" };
        let order = app
            .post("/api/v1/orders", &admin, json!({"customer_id": id, "amount_minor": 1000 + i, "currency": currency, "ordered_at": format!("2026-02-{:02}T12:00:00.123456Z", i + 1)}))
            .await;
        if i == 11 {
            app.post(&format!("/api/v1/orders/{}/refund", order.id()), &admin, json!({}))
                .await;
        }
        app.post(&format!("/api/v1/customers/{id}/interactions"), &admin, json!({"channel": "email", "direction": "outbound", "summary": format!("note {i:02}"), "occurred_at": format!("2026-03-{:02}T08:30:00.654321Z", i + 1)}))
            .await;
    }
    for subject in ["Late delivery", "Broken lid", "Wrong colour"] {
        let reply = app
            .post("/api/v1/feedback", &admin, json!({"customer_id": id, "channel": "email", "kind": "complaint", "subject": subject, "body": "Please help."}))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let rfm = app.post("/api/v1/analytics/rfm/recompute", &admin, json!({})).await;
    assert!(rfm.status.is_success(), "{}", rfm.body);
    let bonus = app
        .client
        .post(format!("{}/api/v1/customers/{id}/loyalty/earn", app.address))
        .bearer_auth(&admin)
        .header("Idempotency-Key", format!("bonus-{id}"))
        .json(&json!({"points": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(bonus.status(), 201);
}

const CUSTOMER_360: &str = "query($id: ID!) { customer(id: $id) { id name contacts { name isPrimary email } \
    orders(limit: 10) { id orderedAt status } interactions(limit: 10) { id occurredAt summary } \
    openFeedback { subject } rfm { label } loyalty { balance debt tierName } \
    orderSummary { orderCount totalSpend { currency amountMinor } firstOrderAt lastOrderAt } } }";

async fn the_customer_360_is_one_statement_whatever_it_holds(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let empty = app.create_customer(json!({"name": "New"})).await;
    let full = app.create_customer(json!({"name": "Old"})).await;
    fill_the_360(app, &full).await;

    for id in [&empty, &full] {
        let before = app.statements();
        let overview = app.get(&format!("/api/v1/customers/{id}/overview"), &admin).await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        assert_eq!(app.statements() - before, 1, "statements for the REST overview");
        let before = app.statements();
        let reply = app.graphql(Some(&admin), CUSTOMER_360, json!({"id": id})).await;
        assert!(reply["errors"].is_null(), "{reply}");
        assert_eq!(app.statements() - before, 1, "statements for the GraphQL 360");
    }

    let o = app
        .get(&format!("/api/v1/customers/{full}/overview"), &admin)
        .await
        .body;
    assert_eq!(
        o["open_needs"],
        json!([{"quadrant": "do_now", "open": 2, "unmet": 0}, {"quadrant": "later", "open": 1, "unmet": 0}])
    );
    let names: Vec<&str> = o["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sam", "Pat"], "primary first");
    assert_eq!(o["loyalty"]["balance"], 42);
    assert_eq!(o["contacts"][0]["is_primary"], true);
    assert_eq!(o["contacts"][1]["is_primary"], false);
    let recent = o["recent_interactions"].as_array().unwrap();
    assert_eq!(recent.len(), 10);
    assert_eq!(recent[0]["summary"], "note 11");
    // Times read through the 360 are the ones the record's own route shows.
    let listed = app
        .get(&format!("/api/v1/customers/{full}/interactions?limit=1"), &admin)
        .await
        .body;
    assert_eq!(recent[0]["occurred_at"], listed["items"][0]["occurred_at"]);
    assert_eq!(recent[0]["id"], listed["items"][0]["id"]);
    assert_eq!(o["orders"]["order_count"], 11);
    assert_eq!(
        o["orders"]["total_spend"],
        json!([{"currency": "EUR", "amount_minor": 7037}, {"currency": "USD", "amount_minor": 4018}])
    );
    assert_eq!(o["orders"]["first_order_at"], "2026-02-01T12:00:00.123456Z");
    assert_eq!(o["orders"]["last_order_at"], "2026-02-11T12:00:00.123456Z");
    assert_eq!(o["open_feedback"].as_array().unwrap().len(), 3);
    assert!(o["rfm"]["label"].is_string(), "{o}");

    let g = app.graphql(Some(&admin), CUSTOMER_360, json!({"id": full})).await;
    let c = &g["data"]["customer"];
    assert_eq!(c["contacts"][0]["name"], "Sam");
    assert_eq!(c["contacts"][0]["isPrimary"], true);
    let orders = c["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 10);
    assert_eq!(orders[0]["status"], "REFUNDED");
    assert_eq!(orders[0]["orderedAt"], "2026-02-12T12:00:00.123456+00:00");
    assert_eq!(c["interactions"][0]["id"], recent[0]["id"]);
    assert_eq!(c["interactions"][0]["occurredAt"], "2026-03-12T08:30:00.654321+00:00");
    assert_eq!(c["openFeedback"].as_array().unwrap().len(), 3);
    assert_eq!(c["rfm"]["label"], o["rfm"]["label"]);
    assert_eq!(c["orderSummary"]["orderCount"], 11);
    assert_eq!(c["orderSummary"]["totalSpend"][1]["amountMinor"], "4018");

    let e = app
        .get(&format!("/api/v1/customers/{empty}/overview"), &admin)
        .await
        .body;
    assert_eq!(e["contacts"], json!([]));
    assert_eq!(e["orders"]["order_count"], 0);
    assert!(e["rfm"].is_null());
    // The analyst sees the same 360 with personal data masked.
    let masked = app
        .get(&format!("/api/v1/customers/{full}/overview"), &app.token(Role::Analyst))
        .await
        .body;
    assert_ne!(masked["contacts"][0]["email"], "Sam@example.com");
}

/// The role matrix of contacts, interactions and orders.
fn routes() -> Vec<Route> {
    vec![
        (Method::GET, "/api/v1/customers/{owned}/contacts", None, READERS),
        (
            Method::POST,
            "/api/v1/customers/{owned}/contacts",
            Some(json!({"name": "C"})),
            OWNER_WRITERS_201,
        ),
        (Method::GET, "/api/v1/contacts/{contact}", None, READERS),
        (
            Method::PATCH,
            "/api/v1/contacts/{contact}",
            Some(json!({"title": "CTO"})),
            OWNER_WRITERS_200,
        ),
        (Method::DELETE, "/api/v1/contacts/{contact}", None, OWNER_WRITERS_204),
        (Method::GET, "/api/v1/customers/{owned}/interactions", None, READERS),
        (
            Method::POST,
            "/api/v1/customers/{foreign}/interactions",
            Some(json!({"channel": "phone", "direction": "inbound", "summary": "hi"})),
            OWNER_WRITERS_201,
        ),
        (
            Method::POST,
            "/api/v1/orders",
            Some(json!({"customer_id": "{owned}", "amount_minor": 5, "currency": "EUR"})),
            OWNER_WRITERS_201,
        ),
        (Method::GET, "/api/v1/orders", None, READERS),
        (Method::GET, "/api/v1/orders/{order}", None, READERS),
        (
            Method::POST,
            "/api/v1/orders/{order}/refund",
            Some(json!({})),
            MANAGERS_200,
        ),
    ]
}

async fn every_relations_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

/// Every part reads the customer's own rows through its customer index,
/// whatever the planner knows: on SQLite without statistics the order summary
/// once scanned every completed order for each customer.
async fn the_360_reads_each_part_through_the_customers_index(app: &TestApp) {
    use rapport::service::{overview::OVERVIEW, parts};
    use sea_orm::ConnectionTrait;
    let id = app.create_customer(json!({"name": "Plan"})).await;
    let backend = app.db.get_database_backend();
    let stmt = parts::customer_statement(backend, id.parse().unwrap(), &OVERVIEW);
    let (explain, column) = match backend {
        sea_orm::DbBackend::Sqlite => ("EXPLAIN QUERY PLAN ", 3),
        _ => ("EXPLAIN (COSTS OFF) ", 0),
    };
    let plan = app
        .db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            format!("{explain}{}", stmt.sql),
            stmt.values.map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    let text: Vec<String> = plan
        .iter()
        .map(|row| row.try_get_by_index::<String>(column).unwrap())
        .collect();
    let text = text.join("\n");
    assert!(!text.contains("ix_order_status_ordered"), "{text}");
    assert!(
        !text.contains("SCAN customer_order") && !text.contains("Seq Scan on customer_order"),
        "{text}"
    );
}

on_both_databases!(
    every_relations_route_answers_each_role_as_the_matrix_says,
    a_new_primary_contact_replaces_the_old_one,
    bad_contact_input_is_refused_and_nothing_written,
    logging_an_interaction_moves_last_contacted_forward_only,
    bad_interaction_input_is_refused_and_nothing_written,
    a_resent_order_returns_the_existing_one,
    concurrent_resends_of_one_order_record_it_once,
    bad_order_input_is_refused_and_nothing_written,
    refunds_happen_once_and_leave_spend,
    the_overview_and_timeline_show_everything_in_time_order,
    the_customer_360_is_one_statement_whatever_it_holds,
    the_360_reads_each_part_through_the_customers_index,
);
