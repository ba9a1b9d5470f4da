//! The needs register as a customer-success team uses it: needs with their
//! quadrant, every status move legal or not, the customer's confirmation,
//! the success plan, unmet needs once per episode, the report against a
//! hand count, and who may see what.

use chrono::{Duration, Utc};
use rapport::auth::Role;
use rapport::contract::needs::NeedStatus;
use rapport::domain::needs::allowed_moves;
use rapport::service::needs;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{AGENT, TestApp};

async fn need(app: &TestApp, customer: &str, body: Value) -> Value {
    let created = app
        .post(
            &format!("/api/v1/customers/{customer}/needs"),
            &app.token(Role::Admin),
            body,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

fn plain(urgency: &str, importance: &str) -> Value {
    json!({"title": "Faster onboarding", "kind": "core", "urgency": urgency, "importance": importance, "source": "other"})
}

async fn contact(app: &TestApp, customer: &str, name: &str) -> String {
    let c = app
        .post(
            &format!("/api/v1/customers/{customer}/contacts"),
            &app.token(Role::Admin),
            json!({"name": name}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    c.id()
}

/// The body that moves a need to `to`, with what that move requires.
fn move_body(to: NeedStatus, contact: &str) -> Value {
    match to {
        NeedStatus::Proposed => json!({"to": "proposed", "solution": "A guided setup call"}),
        NeedStatus::Confirmed => json!({"to": "confirmed", "confirmed_by_contact_id": contact}),
        NeedStatus::Declined | NeedStatus::Withdrawn => json!({"to": to.as_str(), "reason": "Not now"}),
        _ => json!({"to": to.as_str()}),
    }
}

/// A path from `open` to each status.
fn path_to(s: NeedStatus) -> Vec<NeedStatus> {
    use NeedStatus::*;
    match s {
        Open => vec![],
        InProgress => vec![InProgress],
        Proposed => vec![InProgress, Proposed],
        Confirmed => vec![Proposed, Confirmed],
        Delivered => vec![Proposed, Confirmed, Delivered],
        Declined => vec![Declined],
        Withdrawn => vec![Withdrawn],
    }
}

async fn every_status_move_is_allowed_or_a_conflict(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Acme"})).await;
    let pat = contact(app, &customer, "Pat").await;
    for from in NeedStatus::ALL {
        for to in NeedStatus::ALL {
            let n = need(app, &customer, plain("medium", "low")).await;
            let id = n["id"].as_str().unwrap_or_default().to_owned();
            for step in path_to(*from) {
                let moved = app
                    .post(
                        &format!("/api/v1/needs/{id}/transitions"),
                        &admin,
                        move_body(step, &pat),
                    )
                    .await;
                assert_eq!(moved.status, StatusCode::OK, "{step:?}: {}", moved.body);
            }
            let tried = app
                .post(&format!("/api/v1/needs/{id}/transitions"), &admin, move_body(*to, &pat))
                .await;
            if allowed_moves(*from).contains(to) {
                assert_eq!(tried.status, StatusCode::OK, "{from:?} → {to:?}: {}", tried.body);
                assert_eq!(tried.body["status"], to.as_str());
            } else {
                tried.assert_problem(409, Some("to"));
            }
        }
    }
}

async fn a_need_is_proposed_confirmed_and_delivered_with_its_history(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Acme"})).await;
    let other = app.create_customer(json!({"name": "Other"})).await;
    let pat = contact(app, &customer, "Pat").await;
    let gone = contact(app, &customer, "Gone").await;
    let left = app
        .patch(&format!("/api/v1/contacts/{gone}"), &admin, json!({"active": false}))
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let stranger = contact(app, &other, "Stranger").await;

    // Field errors name their field; nothing is written.
    for (body, field) in [
        (
            json!({"title": " ", "kind": "core", "urgency": "high", "importance": "high", "source": "other"}),
            "title",
        ),
        (
            json!({"title": "T", "kind": "core", "urgency": "high", "importance": "high", "source": "other", "source_id": pat}),
            "source_id",
        ),
        (
            json!({"title": "T", "kind": "core", "urgency": "high", "importance": "high", "source": "feedback", "source_id": pat}),
            "source_id",
        ),
    ] {
        app.post(&format!("/api/v1/customers/{customer}/needs"), &admin, body)
            .await
            .assert_problem(422, Some(field));
    }
    assert_eq!(app.count("need").await, 0);

    let logged = app
        .post(
            &format!("/api/v1/customers/{customer}/interactions"),
            &admin,
            json!({"channel": "meeting", "direction": "outbound", "summary": "Quarterly review"}),
        )
        .await;
    let n = need(
        app,
        &customer,
        json!({"title": "Onboarding takes too long", "kind": "core", "urgency": "high", "importance": "medium",
               "source": "meeting", "source_id": logged.id(), "stage": "onboarding", "due_on": "2030-01-31"}),
    )
    .await;
    assert_eq!(n["quadrant"], "do_now");
    assert_eq!(n["status"], "open");
    let id = n["id"].as_str().unwrap_or_default().to_owned();
    let at = |path: &str| format!("/api/v1/needs/{id}{path}");

    // Less urgent, it moves to "plan".
    let patched = app.patch(&at(""), &admin, json!({"urgency": "low"})).await;
    assert_eq!(patched.body["quadrant"], "plan", "{}", patched.body);

    app.post(&at("/transitions"), &admin, json!({"to": "proposed"}))
        .await
        .assert_problem(422, Some("solution"));
    let proposed = app
        .post(
            &at("/transitions"),
            &admin,
            json!({"to": "proposed", "solution": "A guided setup call"}),
        )
        .await;
    assert_eq!(proposed.status, StatusCode::OK, "{}", proposed.body);
    for (contact, why) in [(&stranger, "another customer's contact"), (&gone, "a contact who left")] {
        let refused = app
            .post(
                &at("/transitions"),
                &admin,
                json!({"to": "confirmed", "confirmed_by_contact_id": contact}),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {}",
            refused.body
        );
        refused.assert_problem(422, Some("confirmed_by_contact_id"));
    }
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    app.post(
        &at("/transitions"),
        &admin,
        json!({"to": "confirmed", "confirmed_by_contact_id": pat, "confirmed_at": future}),
    )
    .await
    .assert_problem(422, Some("confirmed_at"));
    let confirmed = app
        .post(
            &at("/transitions"),
            &admin,
            json!({"to": "confirmed", "confirmed_by_contact_id": pat, "note": "Agreed on the call"}),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["confirmed_by_contact_id"], json!(pat));
    assert!(confirmed.body["confirmed_at"].is_string());

    // The customer sees its confirmed need and its status.
    let mine = app.get("/api/v1/me/needs", &app.customer_token(&customer)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
    assert_eq!(mine.body[0]["status"], "confirmed");
    assert_eq!(mine.body[0]["solution"], "A guided setup call");

    let delivered = app.post(&at("/transitions"), &admin, json!({"to": "delivered"})).await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);
    app.patch(&at(""), &admin, json!({"title": "Too late"}))
        .await
        .assert_problem(409, Some("status"));

    let history = app.get(&at("/history"), &admin).await;
    let lines: Vec<(String, Option<String>)> = history.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["to_value"].as_str().map(str::to_owned),
            )
        })
        .rev()
        .collect();
    assert_eq!(
        lines,
        [
            ("created".into(), Some("open".into())),
            ("updated".into(), Some("plan".into())),
            ("status_changed".into(), Some("proposed".into())),
            ("status_changed".into(), Some("confirmed".into())),
            ("status_changed".into(), Some("delivered".into())),
        ]
    );
    assert!(
        history.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["actor"] == "admin")
    );
    assert_eq!(
        app.event_types("need.").await,
        [
            "need.created",
            "need.status_changed",
            "need.status_changed",
            "need.status_changed"
        ]
    );

    // The privacy export holds the need; erasure takes its words.
    let export = app.get(&format!("/api/v1/customers/{customer}/export"), &admin).await;
    assert_eq!(export.body["needs"][0]["title"], "Onboarding takes too long");
    assert_eq!(export.body["need_history"].as_array().map(Vec::len), Some(5));
    let erased = app
        .post(&format!("/api/v1/customers/{customer}/erase"), &admin, json!({}))
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    let after = app.get(&format!("/api/v1/customers/{customer}/export"), &admin).await;
    assert_eq!(after.body["needs"][0]["title"], "[erased]");
    assert!(after.body["needs"][0]["solution"].is_null());
    assert!(after.body["need_history"][3]["note"].is_null());
}

async fn the_success_plan_shows_open_needs_with_their_tasks(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Acme"})).await;
    let urgent = need(app, &customer, plain("high", "high")).await;
    let later = need(app, &customer, plain("low", "low")).await;
    let done = need(app, &customer, plain("low", "high")).await;
    let done_id = done["id"].as_str().unwrap_or_default();
    app.post(
        &format!("/api/v1/needs/{done_id}/transitions"),
        &admin,
        json!({"to": "withdrawn", "reason": "Solved by the customer"}),
    )
    .await;
    let id = urgent["id"].as_str().unwrap_or_default();
    let due = (Utc::now() + Duration::days(3)).date_naive();
    let mut tasks = Vec::new();
    for title in ["Draft a plan", "Review it with Pat"] {
        let t = app
            .post(
                &format!("/api/v1/needs/{id}/tasks"),
                &admin,
                json!({"title": title, "due_at": format!("{due}T12:00:00Z")}),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        assert_eq!(t.body["kind"], "follow_up");
        tasks.push(t.id());
    }
    app.patch(
        &format!("/api/v1/tasks/{}", tasks[0]),
        &admin,
        json!({"status": "done", "outcome": "Drafted"}),
    )
    .await;
    // Linking twice keeps one link; a task of another customer is refused.
    app.post(
        &format!("/api/v1/needs/{id}/links"),
        &admin,
        json!({"kind": "task", "target_id": tasks[1]}),
    )
    .await;
    let other = app.create_customer(json!({"name": "Other"})).await;
    let foreign = app
        .post(
            "/api/v1/tasks",
            &admin,
            json!({"customer_id": other, "kind": "other", "title": "X"}),
        )
        .await
        .id();
    app.post(
        &format!("/api/v1/needs/{id}/links"),
        &admin,
        json!({"kind": "task", "target_id": foreign}),
    )
    .await
    .assert_problem(422, Some("target_id"));
    assert_eq!(
        app.get(&format!("/api/v1/needs/{id}/links"), &admin)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let plan = app
        .get(&format!("/api/v1/customers/{customer}/success-plan"), &admin)
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    let objectives = plan.body["objectives"].as_array().cloned().unwrap_or_default();
    assert_eq!(objectives.len(), 2, "the withdrawn need is no objective");
    assert_eq!(objectives[0]["need"]["id"], urgent["id"]);
    assert_eq!(objectives[1]["need"]["id"], later["id"]);
    assert_eq!(
        (&objectives[0]["tasks_done"], &objectives[0]["tasks_total"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(objectives[0]["progress"], json!(0.5));
    assert_eq!(objectives[0]["next_due_on"], json!(due.to_string()));
    assert!(objectives[1]["progress"].is_null());
    assert_eq!(plan.body["next_due_on"], json!(due.to_string()));
}

async fn unmet_needs_are_marked_once_per_episode(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let settings = app.get("/api/v1/settings/needs", &admin).await.body;
    assert_eq!(
        settings,
        json!({"do_now_days": 14, "plan_days": 60, "delegate_days": 30, "later_days": null,
               "suggestion_bonus_points": 100, "adoption_creates_need": false})
    );
    app.put("/api/v1/settings/needs", &admin, json!({"plan_days": 0}))
        .await
        .assert_problem(422, Some("plan_days"));
    app.put("/api/v1/settings/needs", &app.token(Role::Agent), settings.clone())
        .await
        .assert_problem(403, None);

    let customer = app.create_customer(json!({"name": "Acme"})).await;
    let yesterday = (Utc::now() - Duration::days(1)).date_naive();
    let overdue = need(app, &customer, {
        let mut b = plain("low", "low");
        b["due_on"] = json!(yesterday);
        b
    })
    .await;
    let urgent = need(app, &customer, plain("high", "high")).await;
    let later = need(app, &customer, plain("low", "low")).await;
    let now = Utc::now();

    let r = needs::run_unmet(&app.db, now).await.ok();
    assert_eq!(
        r.map(|r| (r.became_unmet, r.cleared)),
        Some((1, 0)),
        "the overdue one only"
    );
    // Fifteen days on, on two instances at once: the do-now need, once.
    let later_on = now + Duration::days(15);
    let (a, b) = tokio::join!(needs::run_unmet(&app.db, later_on), needs::run_unmet(&app.db, later_on));
    let marked = a.map(|r| r.became_unmet).unwrap_or(99) + b.map(|r| r.became_unmet).unwrap_or(99);
    assert_eq!(marked, 1);
    let run = app.post("/api/v1/jobs/needs_unmet/run", &admin, json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(app.event_types("need.unmet").await.len(), 2);
    let unmet = app.get("/api/v1/needs?unmet=true", &admin).await;
    let ids: Vec<&Value> = unmet.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&urgent["id"], &overdue["id"]]);
    assert!(ids.iter().all(|id| **id != later["id"]), "a later need has no limit");

    // Given more time the episode ends; overdue again, a new one begins.
    let overdue_id = overdue["id"].as_str().unwrap_or_default();
    app.patch(
        &format!("/api/v1/needs/{overdue_id}"),
        &admin,
        json!({"due_on": "2099-01-01"}),
    )
    .await;
    let r = needs::run_unmet(&app.db, now).await.ok();
    assert_eq!(r.map(|r| (r.became_unmet, r.cleared)), Some((0, 1)));
    app.patch(
        &format!("/api/v1/needs/{overdue_id}"),
        &admin,
        json!({"due_on": yesterday}),
    )
    .await;
    let r = needs::run_unmet(&app.db, now).await.ok();
    assert_eq!(r.map(|r| r.became_unmet), Some(1));
    assert_eq!(app.event_types("need.unmet").await.len(), 3);
}

async fn the_report_matches_a_hand_count(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let key = app
        .create_customer(json!({"name": "Key Account", "value_tier": "key", "owner_id": "agent-1"}))
        .await;
    let general = app.create_customer(json!({"name": "Small Shop"})).await;
    let gone = app.create_customer(json!({"name": "Gone", "value_tier": "key"})).await;
    let yesterday = (Utc::now() - Duration::days(1)).date_naive();
    let past_due = |u: &str, i: &str| {
        let mut b = plain(u, i);
        b["due_on"] = json!(yesterday);
        b
    };
    // Key: two do-now needs past due (unmet), one plan need on time; open
    // for 3, 5 and 10 days.
    for (body, days) in [
        (past_due("high", "high"), 3),
        (past_due("medium", "high"), 5),
        (plain("low", "medium"), 10),
    ] {
        let id = need(app, &key, body).await["id"]
            .as_str()
            .and_then(|i| i.parse::<Uuid>().ok());
        let created = Utc::now() - Duration::days(days) - Duration::minutes(1);
        entity::need::Entity::update_many()
            .col_expr(entity::need::Column::CreatedAt, Expr::value(created))
            .filter(entity::need::Column::Id.eq(id.unwrap_or_default()))
            .exec(&app.db)
            .await
            .unwrap();
    }
    // General: one do-now past due, one delegate delivered, one later declined.
    need(app, &general, past_due("high", "high")).await;
    let delivered = need(app, &general, plain("high", "low")).await;
    let declined = need(app, &general, plain("low", "low")).await;
    let pat = contact(app, &general, "Pat").await;
    let d = delivered["id"].as_str().unwrap_or_default();
    for step in [NeedStatus::Proposed, NeedStatus::Confirmed, NeedStatus::Delivered] {
        app.post(&format!("/api/v1/needs/{d}/transitions"), &admin, move_body(step, &pat))
            .await;
    }
    let x = declined["id"].as_str().unwrap_or_default();
    app.post(
        &format!("/api/v1/needs/{x}/transitions"),
        &admin,
        move_body(NeedStatus::Declined, &pat),
    )
    .await;
    // A deleted customer's needs are left out.
    need(app, &gone, past_due("high", "high")).await;
    app.delete(&format!("/api/v1/customers/{gone}"), &admin).await;

    let report = app.get("/api/v1/analytics/needs?months=3", &admin).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let r = &report.body;
    assert_eq!(
        r["by_quadrant"],
        json!([
            {"value": "do_now", "open": 3, "unmet": 3},
            {"value": "plan", "open": 1, "unmet": 0},
            {"value": "delegate", "open": 0, "unmet": 0},
            {"value": "later", "open": 0, "unmet": 0},
        ])
    );
    let status = |s: &str| {
        r["by_status"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["status"] == s)
            .map(|c| c["needs"].clone())
    };
    assert_eq!(
        (status("open"), status("delivered"), status("declined")),
        (Some(json!(4)), Some(json!(1)), Some(json!(1)))
    );
    assert_eq!(
        r["by_tier"],
        json!([{"value": "key", "open": 3, "unmet": 2}, {"value": "general", "open": 1, "unmet": 1}])
    );
    assert_eq!(r["by_owner"][0], json!({"value": "agent-1", "open": 3, "unmet": 2}));
    assert_eq!(r["ages"]["open"], 4);
    // Ages 0, 3, 5, 10: the median is the 2nd, the 90th percentile the 4th.
    assert_eq!(
        (&r["ages"]["p50_days"], &r["ages"]["p90_days"], &r["ages"]["max_days"]),
        (&json!(3), &json!(10), &json!(10))
    );
    let months = r["delivered_per_month"].as_array().cloned().unwrap_or_default();
    assert_eq!(months.len(), 3);
    assert_eq!(months[2]["delivered"], 1);
    assert_eq!(months[2]["month"], json!(Utc::now().format("%Y-%m").to_string()));
    assert_eq!(r["key_customers_unmet_do_now"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["key_customers_unmet_do_now"][0]["customer_id"], json!(key));
    assert_eq!(r["key_customers_unmet_do_now"][0]["name"], "Key Account");
    assert_eq!(r["key_customers_unmet_do_now"][0]["unmet_do_now"], 2);

    let masked = app.get("/api/v1/analytics/needs", &app.token(Role::Analyst)).await;
    assert_eq!(masked.body["key_customers_unmet_do_now"][0]["name"], "K** A******");
    app.get("/api/v1/analytics/needs?months=25", &admin)
        .await
        .assert_problem(422, Some("months"));
    for role in [Role::Agent, Role::Partner] {
        app.get("/api/v1/analytics/needs", &app.token(role))
            .await
            .assert_problem(403, None);
    }
}

async fn each_role_sees_and_changes_what_it_may(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let agent = app.token(Role::Agent);
    let mine = app.create_customer(json!({"name": "Mine", "owner_id": AGENT})).await;
    let theirs = app
        .create_customer(json!({"name": "Theirs", "owner_id": "agent-2"}))
        .await;
    let body = json!({"title": "Call me at +49 30 1234567", "kind": "core", "urgency": "high",
                      "importance": "high", "source": "interview", "description": "Mail ann@example.com"});
    let own = app
        .post(&format!("/api/v1/customers/{mine}/needs"), &agent, body.clone())
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    assert_eq!(own.body["owner_id"], AGENT);
    app.post(&format!("/api/v1/customers/{theirs}/needs"), &agent, body.clone())
        .await
        .assert_problem(403, None);
    let foreign = need(app, &theirs, body.clone()).await;
    let foreign_id = foreign["id"].as_str().unwrap_or_default();
    app.get(&format!("/api/v1/needs/{foreign_id}"), &agent)
        .await
        .assert_problem(403, None);
    app.post(
        &format!("/api/v1/needs/{foreign_id}/transitions"),
        &agent,
        json!({"to": "in_progress"}),
    )
    .await
    .assert_problem(403, None);
    let listed = app.get("/api/v1/needs", &agent).await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(1),
        "only its customers'"
    );

    // Analysts read, masked; they change nothing.
    let analyst = app.token(Role::Analyst);
    let read = app.get(&format!("/api/v1/needs/{foreign_id}"), &analyst).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let title = read.body["title"].as_str().unwrap_or_default();
    assert!(!title.contains("1234567"), "{title}");
    assert!(!read.body["description"].as_str().unwrap_or_default().contains("ann@"));
    app.post(&format!("/api/v1/customers/{theirs}/needs"), &analyst, body.clone())
        .await
        .assert_problem(403, None);

    // Partners nothing; customers only their own confirmed needs.
    let partner = app.token(Role::Partner);
    for path in [
        format!("/api/v1/needs/{foreign_id}"),
        "/api/v1/needs".into(),
        format!("/api/v1/customers/{theirs}/needs"),
        format!("/api/v1/customers/{theirs}/success-plan"),
        "/api/v1/settings/needs".into(),
    ] {
        app.get(&path, &partner).await.assert_problem(403, None);
    }
    let customer = app.customer_token(&theirs);
    app.get(&format!("/api/v1/needs/{foreign_id}"), &customer)
        .await
        .assert_problem(403, None);
    let own_view = app.get("/api/v1/me/needs", &customer).await;
    assert_eq!(own_view.body, json!([]), "an unconfirmed need is not shown");
    app.get("/api/v1/me/needs", &admin).await.assert_problem(403, None);

    // GraphQL: the same rules, the same data.
    let q = "query($id: ID!) { need(id: $id) { title quadrant status } }";
    let g = app.graphql(Some(&analyst), q, json!({"id": foreign_id})).await;
    assert_eq!(g["data"]["need"]["quadrant"], "DO_NOW", "{g}");
    assert_eq!(g["data"]["need"]["title"], read.body["title"]);
    let g = app.graphql(Some(&partner), q, json!({"id": foreign_id})).await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "forbidden", "{g}");
    let m = "mutation($c: ID!) { createNeed(customerId: $c, input: {title: \"GraphQL need\", kind: SECONDARY,
              urgency: LOW, importance: HIGH, source: OTHER}) { quadrant status } }";
    let g = app.graphql(Some(&admin), m, json!({"c": mine})).await;
    assert_eq!(
        g["data"]["createNeed"],
        json!({"quadrant": "PLAN", "status": "OPEN"}),
        "{g}"
    );
}

async fn an_adopted_suggestion_is_rewarded_once(app: &TestApp) {
    let admin = app.token(Role::Admin);
    crate::loyalty::enable(app, 0).await;
    let mut settings = app.get("/api/v1/settings/needs", &admin).await.body;
    assert_eq!(settings["suggestion_bonus_points"], 100);
    settings["suggestion_bonus_points"] = json!(250);
    settings["adoption_creates_need"] = json!(true);
    let saved = app.put("/api/v1/settings/needs", &admin, settings).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let customer = app.create_customer(json!({"name": "Acme", "owner_id": AGENT})).await;
    let file = |kind: &str| json!({"customer_id": customer, "channel": "email", "kind": kind, "subject": "Dark mode", "body": "Please add one"});
    let question = app.post("/api/v1/feedback", &admin, file("question")).await.id();
    app.post(&format!("/api/v1/feedback/{question}/adopt"), &admin, json!({}))
        .await
        .assert_problem(409, Some("kind"));
    let idea = app.post("/api/v1/feedback", &admin, file("suggestion")).await.id();
    app.post(
        &format!("/api/v1/feedback/{idea}/adopt"),
        &app.token(Role::Analyst),
        json!({}),
    )
    .await
    .assert_problem(403, None);

    // Ten at once, then a retry: one bonus, one event, one need.
    let path = format!("/api/v1/feedback/{idea}/adopt");
    let tries = (0..10).map(|_| app.post(&path, &admin, json!({"note": "Shipping in March"})));
    let replies = futures_util::future::join_all(tries).await;
    let credited: Vec<i64> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["points_credited"].as_i64().unwrap_or(-1)
        })
        .collect();
    assert_eq!(credited.iter().filter(|p| **p == 250).count(), 1, "{credited:?}");
    assert_eq!(credited.iter().sum::<i64>(), 250);
    let again = app.post(&path, &admin, json!({})).await;
    assert_eq!(again.body["points_credited"], 0);
    assert!(again.body["adopted_at"].is_string());
    let account = app.get(&format!("/api/v1/customers/{customer}/loyalty"), &admin).await;
    assert_eq!(account.body["balance"], 250, "{}", account.body);
    assert_eq!(app.event_types("feedback.suggestion_adopted").await.len(), 1);
    let recorded = app.get(&format!("/api/v1/customers/{customer}/needs"), &admin).await;
    let items = recorded.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (&items[0]["source"], &items[0]["source_id"]),
        (&json!("feedback"), &json!(idea))
    );
    assert_eq!(items[0]["owner_id"], AGENT);
    let item = app.get(&format!("/api/v1/feedback/{idea}"), &admin).await;
    assert!(item.body["adopted_at"].is_string());
}

async fn needs_show_in_the_360_the_timeline_and_segment_rules(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app
        .create_customer(json!({"name": "Acme", "owner_id": "agent-2"}))
        .await;
    let quiet = app.create_customer(json!({"name": "Quiet"})).await;
    let yesterday = (Utc::now() - Duration::days(1)).date_naive();
    let mut late = plain("high", "high");
    late["due_on"] = json!(yesterday);
    let n = need(app, &customer, late).await;
    need(app, &customer, plain("low", "high")).await;
    needs::run_unmet(&app.db, Utc::now()).await.ok();
    let id = n["id"].as_str().unwrap_or_default();
    app.post(
        &format!("/api/v1/needs/{id}/transitions"),
        &admin,
        json!({"to": "in_progress"}),
    )
    .await;

    let o = app.get(&format!("/api/v1/customers/{customer}/overview"), &admin).await;
    assert_eq!(
        o.body["open_needs"],
        json!([{"quadrant": "do_now", "open": 1, "unmet": 1}, {"quadrant": "plan", "open": 1, "unmet": 0}])
    );
    let other_agent = app
        .get(
            &format!("/api/v1/customers/{customer}/overview"),
            &app.token(Role::Agent),
        )
        .await;
    assert_eq!(other_agent.body["open_needs"], json!([]), "not its customer");

    let timeline = app.get(&format!("/api/v1/customers/{customer}/timeline"), &admin).await;
    let lines: Vec<(&str, &str)> = timeline.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "need")
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default(),
                e["to_value"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("status_changed", "in_progress"),
            ("unmet", "past_due"),
            ("created", "open"),
            ("created", "open")
        ]
    );

    for (rule, expected) in [
        (
            json!({"field": "open_needs", "op": "gte", "value": 2}),
            vec![customer.clone()],
        ),
        (
            json!({"field": "unmet_needs", "op": "eq", "value": 0}),
            vec![quiet.clone()],
        ),
    ] {
        let preview = app
            .post("/api/v1/segments/preview", &admin, json!({"rule": rule}))
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        let ids: Vec<String> = preview.body["sample"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids, expected, "{rule}");
    }
}

async fn every_needs_route_answers_each_role_as_documented(app: &TestApp) {
    use reqwest::Method;
    let customer = app.create_customer(json!({"name": "Mine", "owner_id": AGENT})).await;
    let n = need(app, &customer, plain("high", "high")).await;
    let id = n["id"].as_str().unwrap_or_default().to_owned();
    let task = app
        .post(
            "/api/v1/tasks",
            &app.token(Role::Admin),
            json!({"customer_id": customer, "kind": "other", "title": "Linked"}),
        )
        .await
        .id();
    let staff_read = ["admin", "manager", "agent", "analyst"];
    let staff_write = ["admin", "manager", "agent"];
    let routes: Vec<(Method, String, Option<Value>, &[&str])> = vec![
        (
            Method::POST,
            format!("/api/v1/customers/{customer}/needs"),
            Some(plain("low", "low")),
            &staff_write,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{customer}/needs"),
            None,
            &staff_read,
        ),
        (Method::GET, "/api/v1/needs".into(), None, &staff_read),
        (Method::GET, format!("/api/v1/needs/{id}"), None, &staff_read),
        (
            Method::PATCH,
            format!("/api/v1/needs/{id}"),
            Some(json!({"stage": "onboarding"})),
            &staff_write,
        ),
        (
            Method::POST,
            format!("/api/v1/needs/{id}/transitions"),
            Some(json!({"to": "in_progress"})),
            &staff_write,
        ),
        (Method::GET, format!("/api/v1/needs/{id}/history"), None, &staff_read),
        (Method::GET, format!("/api/v1/needs/{id}/links"), None, &staff_read),
        (
            Method::POST,
            format!("/api/v1/needs/{id}/links"),
            Some(json!({"kind": "task", "target_id": task})),
            &staff_write,
        ),
        (
            Method::POST,
            format!("/api/v1/needs/{id}/tasks"),
            Some(json!({"title": "Call"})),
            &staff_write,
        ),
        (
            Method::GET,
            format!("/api/v1/customers/{customer}/success-plan"),
            None,
            &staff_read,
        ),
        (Method::GET, "/api/v1/me/needs".into(), None, &["customer"]),
        (Method::GET, "/api/v1/settings/needs".into(), None, &staff_read),
        (
            Method::PUT,
            "/api/v1/settings/needs".into(),
            Some(json!({})),
            &["admin", "manager"],
        ),
        (
            Method::GET,
            "/api/v1/analytics/needs".into(),
            None,
            &["admin", "manager", "analyst"],
        ),
    ];
    for (method, path, body, allowed) in routes {
        for role in Role::ALL {
            let token = if role == Role::Customer {
                app.customer_token(&customer)
            } else {
                app.token(role)
            };
            let reply = app.request(method.clone(), &path, Some(&token), body.clone()).await;
            if allowed.contains(&role.as_str()) {
                assert!(
                    reply.status != StatusCode::FORBIDDEN && reply.status.as_u16() < 500,
                    "{method} {path} as {role:?}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                reply.assert_problem(403, None);
            }
        }
    }
    // No request without a token.
    app.request(Method::GET, "/api/v1/needs", None, None)
        .await
        .assert_problem(401, None);
}

on_both_databases!(
    every_status_move_is_allowed_or_a_conflict,
    a_need_is_proposed_confirmed_and_delivered_with_its_history,
    the_success_plan_shows_open_needs_with_their_tasks,
    unmet_needs_are_marked_once_per_episode,
    the_report_matches_a_hand_count,
    each_role_sees_and_changes_what_it_may,
    an_adopted_suggestion_is_rewarded_once,
    needs_show_in_the_360_the_timeline_and_segment_rules,
    every_needs_route_answers_each_role_as_documented,
);
