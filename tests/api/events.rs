//! The event log: one event per change in the change's transaction, the pull
//! feed (REST and GraphQL) in commit order, and the jobs mechanism.

use crate::common::{Backend, TestApp};
use rapport::auth::Role;
use reqwest::Method;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

/// Every event of the feed after the start, read in pages of `limit`.
///
/// On PostgreSQL the feed holds back events while any older transaction of
/// the cluster is still running — here, other tests' — so a reader that
/// must see everything written so far waits until it has as many as the
/// table holds.
async fn read_all(app: &TestApp, token: &str, query: &str, limit: u64) -> (Vec<Value>, Option<String>) {
    read_from(app, token, query, limit, None).await
}

async fn read_from(
    app: &TestApp,
    token: &str,
    query: &str,
    limit: u64,
    start: Option<String>,
) -> (Vec<Value>, Option<String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let expected = app.count_after(&start).await;
    let mut out = Vec::new();
    let mut after = start;
    loop {
        let (items, next) = read_pages(app, token, query, limit, after.clone()).await;
        out.extend(items);
        after = next;
        if !query.is_empty() || out.len() as i64 >= expected || std::time::Instant::now() > deadline {
            return (out, after);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn read_pages(
    app: &TestApp,
    token: &str,
    query: &str,
    limit: u64,
    start: Option<String>,
) -> (Vec<Value>, Option<String>) {
    let mut out = Vec::new();
    let mut after = start;
    loop {
        let mut path = format!("/api/v1/events?limit={limit}{query}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = app.get(&path, token).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap().clone();
        assert!(items.len() as u64 <= limit);
        after = page.body["next_cursor"].as_str().map(str::to_owned).or(after);
        out.extend(items);
        if page.body["has_more"] != true {
            return (out, after);
        }
    }
}

/// The events written since `after`, as (type, data).
async fn since(app: &TestApp, after: &mut Option<String>) -> Vec<(String, Value)> {
    let (items, next) = read_from(app, &app.token(Role::Admin), "", 200, after.clone()).await;
    *after = next;
    items
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["data"].clone()))
        .collect()
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

async fn every_change_worth_telling_is_one_event(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let mut at = None;
    let customer = app
        .create_customer(json!({"name": "Ann Lee", "email": "ann@example.com", "external_id": "c-1"}))
        .await;
    let created = since(app, &mut at).await;
    assert_eq!(types(&created), ["customer.created"]);
    assert_eq!(created[0].1["customer_id"], customer.as_str());
    assert_eq!(created[0].1["external_id"], "c-1");
    assert!(
        !created[0].1.to_string().contains("Ann"),
        "no personal data: {}",
        created[0].1
    );

    let path = format!("/api/v1/customers/{customer}");
    assert_eq!(app.patch(&path, &admin, json!({"name": "Ann Smith"})).await.status, 200);
    let updated = since(app, &mut at).await;
    assert_eq!(types(&updated), ["customer.updated"]);
    assert_eq!(updated[0].1["changed"], json!(["name"]));
    assert!(!updated[0].1.to_string().contains("Smith"));

    // A change that fails validation writes nothing, its event included.
    app.patch(&path, &admin, json!({"name": "Ann", "email": "nope"}))
        .await
        .assert_problem(422, Some("email"));
    assert!(since(app, &mut at).await.is_empty());

    assert_eq!(app.patch(&path, &admin, json!({"value_tier": "key"})).await.status, 200);
    let tiered = since(app, &mut at).await;
    assert_eq!(types(&tiered), ["customer.tier_changed", "customer.updated"]);
    assert_eq!(tiered[0].1["from"], "general");
    assert_eq!(tiered[0].1["to"], "key");

    // An order once; the same order sent again is no new event.
    let order = json!({"customer_id": customer, "external_id": "o-1", "amount_minor": 1250, "currency": "EUR"});
    let first = app.post("/api/v1/orders", &admin, order.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(app.post("/api/v1/orders", &admin, order).await.status, 200);
    let ordered = since(app, &mut at).await;
    assert_eq!(types(&ordered), ["order.completed"]);
    assert_eq!(ordered[0].1["order_id"], first.id().as_str());
    assert_eq!(ordered[0].1["amount_minor"], 1250);
    let refund = app
        .post(&format!("/api/v1/orders/{}/refund", first.id()), &admin, json!({}))
        .await;
    assert_eq!(refund.status, 200);
    assert_eq!(types(&since(app, &mut at).await), ["order.refunded"]);

    let segment = app
        .post(
            "/api/v1/segments",
            &admin,
            json!({"name": "Hand-picked", "kind": "static"}),
        )
        .await
        .id();
    let members = format!("/api/v1/segments/{segment}/members");
    assert_eq!(
        app.post(&members, &admin, json!({"customer_ids": [customer]}))
            .await
            .status,
        200
    );
    let entered = since(app, &mut at).await;
    assert_eq!(types(&entered), ["segment.entered"]);
    assert_eq!(entered[0].1["segment_id"], segment.as_str());
    assert_eq!(entered[0].1["customer_id"], customer.as_str());
    let remove = app
        .post(
            &format!("{members}/remove"),
            &admin,
            json!({"customer_ids": [customer]}),
        )
        .await;
    assert_eq!(remove.status, 200, "{}", remove.body);
    assert_eq!(types(&since(app, &mut at).await), ["segment.exited"]);
    let dynamic = app
        .post(
            "/api/v1/segments",
            &admin,
            json!({"name": "Key", "kind": "dynamic", "rule": {"field": "tier", "op": "eq", "value": "key"}}),
        )
        .await;
    assert_eq!(dynamic.status, 201, "{}", dynamic.body);
    let refresh = app
        .post(&format!("/api/v1/segments/{}/refresh", dynamic.id()), &admin, json!({}))
        .await;
    assert_eq!(refresh.status, 200, "{}", refresh.body);
    let refreshed = since(app, &mut at).await;
    assert_eq!(types(&refreshed), ["segment.entered"]);
    assert_eq!(refreshed[0].1["segment_id"], dynamic.id().as_str());

    let task = app
        .post(
            "/api/v1/tasks",
            &admin,
            json!({"customer_id": customer, "kind": "follow_up", "title": "Call back"}),
        )
        .await;
    assert_eq!(task.status, 201, "{}", task.body);
    let done = app
        .patch(
            &format!("/api/v1/tasks/{}", task.id()),
            &admin,
            json!({"status": "done", "outcome": "Reached"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let worked = since(app, &mut at).await;
    assert_eq!(types(&worked), ["task.created", "task.completed"]);
    assert_eq!(worked[0].1["task_id"], task.id().as_str());

    let feedback = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": customer, "channel": "email", "kind": "complaint", "subject": "Late", "body": "It came late."}),
        )
        .await;
    assert_eq!(feedback.status, 201, "{}", feedback.body);
    let filed = since(app, &mut at).await;
    assert_eq!(types(&filed), ["feedback.created"]);
    assert!(!filed[0].1.to_string().contains("late"), "no free text: {}", filed[0].1);

    assert_eq!(app.delete(&path, &admin).await.status, 204);
    assert_eq!(types(&since(app, &mut at).await), ["customer.deleted"]);

    // A recompute's tier changes are events too, one per changed customer.
    let recompute = app.post("/api/v1/analytics/rfm/recompute", &admin, json!({})).await;
    assert_eq!(recompute.status, 200, "{}", recompute.body);
    let changes = recompute.body["tier_changes"].as_i64().unwrap();
    let recomputed = since(app, &mut at).await;
    let by_recompute = recomputed
        .iter()
        .filter(|(t, d)| t == "customer.tier_changed" && d["reason"] == "recompute")
        .count();
    assert_eq!(by_recompute as i64, changes);
}

async fn the_feed_returns_every_event_once_across_pages(app: &TestApp) {
    let admin = app.token(Role::Admin);
    for i in 0..7 {
        let id = app.create_customer(json!({"name": format!("C{i}")})).await;
        let order = json!({"customer_id": id, "amount_minor": 100 + i, "currency": "EUR"});
        assert_eq!(app.post("/api/v1/orders", &admin, order).await.status, 201);
        if i % 2 == 0 {
            let path = format!("/api/v1/customers/{id}");
            assert_eq!(app.patch(&path, &admin, json!({"city": "Lyon"})).await.status, 200);
        }
    }
    let total = app.count("event").await;
    assert_eq!(total, 7 + 7 + 4);
    let (all, last) = read_all(app, &admin, "", 3).await;
    let mut ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as i64, total);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, total, "no event twice");

    // Caught up: nothing more after the last position, and the position stays.
    let tail = app
        .get(&format!("/api/v1/events?after={}", last.clone().unwrap()), &admin)
        .await;
    assert_eq!(tail.body["items"], json!([]));
    assert_eq!(tail.body["next_cursor"].as_str(), last.as_deref());
    app.create_customer(json!({"name": "Later"})).await;
    let (newer, _) = read_from(app, &admin, "", 50, last).await;
    assert_eq!(newer.len(), 1);

    // The type filter, as partners see it.
    let partner = app.token(Role::Partner);
    let (orders, _) = read_all(app, &partner, "&types=order.completed", 2).await;
    assert_eq!(orders.len(), 7);
    assert!(orders.iter().all(|e| e["type"] == "order.completed"));

    // GraphQL reads the same rows.
    let mut graph_ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(
                Some(&partner),
                "query($after: String) { events(first: 4, after: $after, types: [CUSTOMER_CREATED, ORDER_COMPLETED]) {
                    edges { cursor node { id type timestamp data } } pageInfo { hasNextPage endCursor } } }",
                json!({"after": after}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let conn = &body["data"]["events"];
        for edge in conn["edges"].as_array().unwrap() {
            graph_ids.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let (rest, _) = read_all(app, &admin, "&types=customer.created,order.completed", 50).await;
    let rest_ids: Vec<String> = rest.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(graph_ids, rest_ids);

    // Who may read, and what is refused.
    for role in [Role::Manager, Role::Agent, Role::Analyst] {
        app.get("/api/v1/events", &app.token(role))
            .await
            .assert_problem(403, None);
    }
    let customer = app.create_customer(json!({"name": "Self"})).await;
    app.get("/api/v1/events", &app.customer_token(&customer))
        .await
        .assert_problem(403, None);
    app.request(Method::GET, "/api/v1/events", None, None)
        .await
        .assert_problem(401, None);
    for (query, field) in [
        ("after=bogus", "after"),
        ("types=customer.nope", "types"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=x", "cursor"),
    ] {
        app.get(&format!("/api/v1/events?{query}"), &admin)
            .await
            .assert_problem(422, Some(field));
    }
    let forbidden = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "{ events { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(forbidden["errors"][0]["extensions"]["code"], "forbidden", "{forbidden}");
}

/// On PostgreSQL a transaction that took its place in the log first but
/// commits last must not be passed by a reader: the feed waits for it.
async fn an_event_that_commits_late_is_not_skipped(app: &TestApp) {
    if app.backend != Backend::Postgres {
        // SQLite writers queue one at a time: the log's order is commit order.
        return;
    }
    let admin = app.token(Role::Admin);
    app.create_customer(json!({"name": "Before"})).await;
    let (_, start) = read_all(app, &admin, "", 50).await;
    let txn = app.db.begin().await.unwrap();
    let slow = uuid::Uuid::now_v7();
    txn.execute_unprepared(&format!(
        "INSERT INTO event (id, type, occurred_at, subject_id, data) VALUES ('{slow}', 'customer.updated', now(), '{slow}', '{{}}')"
    ))
    .await
    .unwrap();
    app.create_customer(json!({"name": "Committed first"})).await;
    let (held, _) = read_pages(app, &admin, "", 50, start.clone()).await;
    assert!(held.is_empty(), "nothing passes the open transaction: {held:?}");
    txn.commit().await.unwrap();
    let (after, _) = read_from(app, &admin, "", 50, start).await;
    let types: Vec<&str> = after.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["customer.updated", "customer.created"], "in commit-safe order");
    assert_eq!(after[0]["id"], slow.to_string());
}

async fn jobs_run_now_and_report_their_last_run(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let list = app.get("/api/v1/jobs", &admin).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "rfm_recompute",
            "segment_refresh",
            "sla_sweep",
            "event_retention",
            "webhook_fanout",
            "webhook_delivery",
            "webhook_replay",
            "idempotency_purge",
            "survey_triggers",
            "loyalty_expiry",
            "loyalty_hold_expiry",
            "loyalty_tier_review",
            "health_recompute",
            "cadence_follow_up",
            "care_moments",
            "needs_unmet"
        ]
    );
    assert!(list.body[3]["last_outcome"].is_null());

    // An event past retention goes; a recent one stays.
    app.create_customer(json!({"name": "Recent"})).await;
    let old = uuid::Uuid::now_v7();
    use sea_orm::{ActiveModelTrait, Set};
    entity::event::ActiveModel {
        id: Set(old),
        kind: Set("customer.updated".into()),
        occurred_at: Set(chrono::Utc::now() - chrono::Duration::days(31)),
        subject_id: Set(old),
        customer_id: Set(None),
        data: Set(json!({})),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    assert_eq!(app.count("event").await, 2);
    let run = app.post("/api/v1/jobs/event_retention/run", &admin, json!({})).await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(run.body["last_outcome"], "succeeded");
    assert_eq!(run.body["last_trigger"], "api");
    assert_eq!(run.body["running"], false);
    assert!(
        run.body["last_summary"].as_str().unwrap().starts_with("1 events"),
        "{}",
        run.body
    );
    assert_eq!(app.count("event").await, 1);
    let listed = app.get("/api/v1/jobs", &admin).await;
    assert_eq!(listed.body[3]["last_outcome"], "succeeded");

    // Another instance holds the lease: a second run is refused, not doubled.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::job_run::Entity::update_many()
        .col_expr(entity::job_run::Column::LockedBy, Expr::value("elsewhere"))
        .col_expr(
            entity::job_run::Column::LockedUntil,
            Expr::value(chrono::Utc::now() + chrono::Duration::minutes(5)),
        )
        .filter(entity::job_run::Column::Name.eq("event_retention"))
        .exec(&app.db)
        .await
        .unwrap();
    app.post("/api/v1/jobs/event_retention/run", &admin, json!({}))
        .await
        .assert_problem(409, None);
    // A non-exclusive job runs beside others.
    let sweep = app.post("/api/v1/jobs/sla_sweep/run", &admin, json!({})).await;
    assert_eq!(sweep.status, 200, "{}", sweep.body);
    assert_eq!(sweep.body["exclusive"], false);

    for role in [Role::Manager, Role::Agent, Role::Analyst, Role::Partner] {
        let token = app.token(role);
        app.get("/api/v1/jobs", &token).await.assert_problem(403, None);
        app.post("/api/v1/jobs/event_retention/run", &token, json!({}))
            .await
            .assert_problem(403, None);
        app.post("/api/v1/jobs/no_such_job/run", &token, json!({}))
            .await
            .assert_problem(403, None);
    }
    app.post("/api/v1/jobs/no_such_job/run", &admin, json!({}))
        .await
        .assert_problem(404, None);
}

on_both_databases!(
    every_change_worth_telling_is_one_event,
    the_feed_returns_every_event_once_across_pages,
    an_event_that_commits_late_is_not_skipped,
    jobs_run_now_and_report_their_last_run,
);
