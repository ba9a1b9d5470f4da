//! Feedback loops: intake and classification, the state machine and its
//! history, SLA clocks and the sweeper (also from two instances at once),
//! settings, the report, tasks, and the role matrix.

use crate::common::{AGENT, SECRET, TestApp};
use chrono::{DateTime, Duration, Utc};
use rapport::auth::Role;
use rapport::service::sla;
use reqwest::Method;
use serde_json::{Value, json};

async fn customer(app: &TestApp, name: &str) -> String {
    app.create_customer(json!({"name": name, "owner_id": "owner-1"})).await
}

async fn file(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/api/v1/feedback", &app.token(Role::Manager), body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

async fn events(app: &TestApp, id: &str) -> Vec<(String, Option<String>)> {
    let reply = app
        .get(
            &format!("/api/v1/feedback/{id}/events?limit=200"),
            &app.token(Role::Admin),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["to_value"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The question a customer asks in the intake tests.
fn renewal_question() -> Value {
    json!({"channel": "email", "kind": "question", "subject": "Renewal", "body": "When does my plan renew?"})
}

/// Five items filed by staff for one customer, each classified differently:
/// an English urgent keyword, a Chinese one, a plain complaint, a general
/// question, and the same question once the customer is key.
async fn five_items(app: &TestApp) -> (String, [Value; 5]) {
    let c = customer(app, "Ada").await;
    let on = |mut body: Value| {
        body["customer_id"] = json!(c);
        body
    };
    let item = file(
        app,
        on(
            json!({"channel": "phone", "kind": "suggestion", "subject": "Charger problem",
                                   "body": "The charger got hot and my son was injured. Terrible."}),
        ),
    )
    .await;
    let zh = file(
        app,
        on(json!({"channel": "app", "kind": "complaint", "subject": "个人信息",
                                 "body": "我的个人信息被泄露了，非常生气"})),
    )
    .await;
    let late = file(
        app,
        on(json!({"channel": "web", "kind": "complaint", "subject": "快递", "body": "快递晚了三天"})),
    )
    .await;
    let general = file(app, on(renewal_question())).await;
    let r = app
        .patch(
            &format!("/api/v1/customers/{c}"),
            &app.token(Role::Admin),
            json!({"value_tier": "key"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = file(app, on(renewal_question())).await;
    (c, [item, zh, late, general, key])
}

async fn intake_classifies_analyses_and_starts_both_clocks(app: &TestApp) {
    let (_, [item, zh, late, general, key]) = five_items(app).await;
    assert_eq!(item["severity"], "urgent");
    assert_eq!(item["severity_rule"], "keyword:injured");
    assert_eq!(item["status"], "new");
    assert!(item["sentiment"].as_f64().unwrap() < 0.0, "{item}");
    assert!(
        item["keywords"].as_array().unwrap().iter().any(|k| k == "charger"),
        "{item}"
    );
    let created = at(&item["created_at"]);
    assert_eq!(at(&item["first_response"]["due_at"]), created + Duration::hours(1));
    assert_eq!(at(&item["first_response"]["warn_at"]), created + Duration::minutes(48));
    assert_eq!(at(&item["resolution"]["due_at"]), created + Duration::hours(24));
    assert_eq!(item["resolution"]["business"], false);
    let id = item["id"].as_str().unwrap();
    assert_eq!(events(app, id).await, vec![("created".into(), Some("new".into()))]);
    // One event per item filed.
    assert_eq!(app.event_types("feedback.").await, ["feedback.created"; 5]);

    // Chinese: a data leak is urgent; a plain complaint is at least important.
    assert_eq!(
        (&zh["severity"], &zh["severity_rule"]),
        (&json!("urgent"), &json!("keyword:泄露"))
    );
    assert!(zh["sentiment"].as_f64().unwrap() < 0.0, "{zh}");
    assert_eq!(
        (&late["severity"], &late["severity_rule"]),
        (&json!("important"), &json!("kind:complaint"))
    );

    // A key customer's question is important; a general one's is general,
    // with business-day targets.
    assert_eq!(
        (&general["severity"], &general["resolution"]["business"]),
        (&json!("general"), &json!(true))
    );
    assert_eq!(
        (&key["severity"], &key["severity_rule"]),
        (&json!("important"), &json!("tier:key"))
    );
}

async fn customers_file_their_own_and_lists_filter_and_show_in_the_360(app: &TestApp) {
    let (c, _) = five_items(app).await;
    let question = renewal_question();
    // A customer files for itself; severity is staff's call.
    let token = app.customer_token(&c);
    let mut mine = question.clone();
    mine["severity"] = json!("urgent");
    app.post("/api/v1/me/feedback", &token, mine)
        .await
        .assert_problem(422, Some("severity"));
    let reply = app.post("/api/v1/me/feedback", &token, question).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(
        reply.body.get("severity").is_none(),
        "customers see no internals: {}",
        reply.body
    );
    let list = app.get("/api/v1/me/feedback", &token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 6);
    let other = customer(app, "Other").await;
    let other_token = app.customer_token(&other);
    app.get(&format!("/api/v1/me/feedback/{}", reply.id()), &other_token)
        .await
        .assert_problem(404, None);
    let theirs = app.get("/api/v1/me/feedback", &other_token).await;
    assert_eq!(theirs.body["items"], json!([]));

    // Filters.
    let urgent = app
        .get("/api/v1/feedback?severity=urgent&limit=1", &app.token(Role::Analyst))
        .await;
    assert_eq!(urgent.body["items"].as_array().unwrap().len(), 1, "{}", urgent.body);
    assert!(urgent.body["next_cursor"].is_string());
    let next = app
        .get(
            &format!(
                "/api/v1/feedback?severity=urgent&limit=1&cursor={}",
                urgent.body["next_cursor"].as_str().unwrap()
            ),
            &app.token(Role::Analyst),
        )
        .await;
    assert_eq!(next.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(next.body["items"][0]["id"], urgent.body["items"][0]["id"]);
    let by_kind = app
        .get("/api/v1/feedback?kind=question&channel=email", &app.token(Role::Agent))
        .await;
    assert_eq!(by_kind.body["items"].as_array().unwrap().len(), 3, "{}", by_kind.body);
    app.get("/api/v1/feedback?severity=huge", &app.token(Role::Agent))
        .await
        .assert_problem(422, Some("severity"));

    // The customer 360 shows open items; the timeline shows their events.
    let overview = app
        .get(&format!("/api/v1/customers/{c}/overview"), &app.token(Role::Agent))
        .await;
    assert_eq!(overview.body["open_feedback"].as_array().unwrap().len(), 6);
    let timeline = app
        .get(&format!("/api/v1/customers/{c}/timeline"), &app.token(Role::Agent))
        .await;
    assert!(
        timeline.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "feedback" && e["event"] == "created"),
        "{}",
        timeline.body
    );
}

async fn bad_input_names_the_field_and_writes_nothing(app: &TestApp) {
    let c = customer(app, "Bea").await;
    let token = app.token(Role::Admin);
    let base = json!({"customer_id": c, "channel": "web", "kind": "praise", "subject": "Hi", "body": "Great"});
    let cases: [(&str, Value); 8] = [
        ("customer_id", json!(null)),
        ("customer_id", json!("0192f5e0-0000-7000-8000-000000000000")),
        ("rating", json!(9)),
        ("subject", json!("   ")),
        ("body", json!("")),
        ("channel", json!("pigeon")),
        ("kind", json!("rant")),
        ("id", json!("0192f5e0-0000-7000-8000-000000000000")),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        body[field] = value;
        if field == "customer_id" && body[field].is_null() {
            body.as_object_mut().unwrap().remove(field);
        }
        app.post("/api/v1/feedback", &token, body)
            .await
            .assert_problem(422, Some(field));
    }
    let mut agent_other = base.clone();
    agent_other["assignee_id"] = json!("someone-else");
    app.post("/api/v1/feedback", &app.token(Role::Agent), agent_other)
        .await
        .assert_problem(422, Some("assignee_id"));
    for table in ["feedback_item", "feedback_event", "feedback_keyword"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert!(app.event_types("feedback.").await.is_empty());

    // Comments, transitions and patches check their fields too.
    let id = file(app, base).await["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/feedback/{id}/comments"), &token, json!({"body": " "}))
        .await
        .assert_problem(422, Some("body"));
    app.post(
        &format!("/api/v1/feedback/{id}/transitions"),
        &token,
        json!({"to": "gone"}),
    )
    .await
    .assert_problem(422, Some("to"));
    app.patch(&format!("/api/v1/feedback/{id}"), &token, json!({"status": "closed"}))
        .await
        .assert_problem(422, Some("status"));
    app.get("/api/v1/feedback/not-a-uuid", &token)
        .await
        .assert_problem(404, None);
    assert_eq!(events(app, &id).await.len(), 1);
}

async fn move_to(app: &TestApp, id: &str, body: Value) -> Value {
    let reply = app
        .post(
            &format!("/api/v1/feedback/{id}/transitions"),
            &app.token(Role::Manager),
            body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

async fn every_transition_is_checked_and_recorded(app: &TestApp) {
    let c = customer(app, "Cy").await;
    let item = file(
        app,
        json!({"customer_id": c, "channel": "email", "kind": "complaint", "subject": "Late", "body": "Late again"}),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    let all = [
        "new",
        "acknowledged",
        "in_progress",
        "waiting_customer",
        "resolved",
        "closed",
    ];
    let legal: &[(&str, &[&str])] = &[
        ("new", &["acknowledged"]),
        ("acknowledged", &["in_progress"]),
        ("in_progress", &["waiting_customer", "resolved"]),
        ("waiting_customer", &["in_progress", "resolved"]),
        ("resolved", &["closed", "in_progress"]),
        ("closed", &["in_progress"]),
    ];
    // The path visits every state; at each, every illegal move is refused.
    let path = [
        "acknowledged",
        "in_progress",
        "waiting_customer",
        "in_progress",
        "waiting_customer",
        "resolved",
        "closed",
        "in_progress",
        "resolved",
        "in_progress",
        "resolved",
    ];
    let mut current = "new";
    let mut expected_events = vec![("created".to_owned(), Some("new".to_owned()))];
    for next in path {
        let allowed = legal.iter().find(|(s, _)| *s == current).unwrap().1;
        for to in all.iter().filter(|s| !allowed.contains(s)) {
            let reply = app
                .post(
                    &format!("/api/v1/feedback/{id}/transitions"),
                    &app.token(Role::Manager),
                    json!({"to": to}),
                )
                .await;
            reply.assert_problem(409, Some("to"));
            let detail = reply.body["detail"].as_str().unwrap();
            assert!(detail.contains(&format!("allowed: {}", allowed.join(", "))), "{detail}");
        }
        let mut body = json!({"to": next, "note": format!("to {next}")});
        if next == "closed" {
            app.post(
                &format!("/api/v1/feedback/{id}/transitions"),
                &app.token(Role::Manager),
                body.clone(),
            )
            .await
            .assert_problem(422, Some("root_cause"));
            body["root_cause"] = json!("delivery");
            body["review_note"] = json!("Courier changed");
        }
        let moved = move_to(app, &id, body).await;
        assert_eq!(moved["status"], next);
        expected_events.push(("status_changed".into(), Some(next.into())));
        if next == "closed" {
            expected_events.push(("closed".into(), Some("delivery".into())));
            assert_eq!(moved["root_cause"], "delivery");
        }
        match next {
            "acknowledged" => {
                assert!(moved["first_response"]["met_at"].is_string());
                assert_eq!(moved["first_response"]["paused"], true);
            }
            "waiting_customer" => assert_eq!(moved["resolution"]["paused"], true),
            "in_progress" => {
                assert_eq!(moved["resolution"]["paused"], false);
                assert!(moved["closed_at"].is_null());
            }
            "resolved" => assert!(moved["resolution"]["met_at"].is_string()),
            _ => {}
        }
        current = next;
    }
    assert_eq!(events(app, &id).await, expected_events);
}

async fn assignment_severity_and_comments_are_history_with_actor_and_time(app: &TestApp) {
    let c = customer(app, "Cy").await;
    let item = file(
        app,
        json!({"customer_id": c, "channel": "email", "kind": "complaint", "subject": "Late", "body": "Late again"}),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    let mut expected_events = vec![("created".to_owned(), Some("new".to_owned()))];
    let patched = app
        .patch(
            &format!("/api/v1/feedback/{id}"),
            &app.token(Role::Manager),
            json!({"assignee_id": AGENT, "severity": "urgent"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["severity_rule"], "explicit");
    expected_events.push(("severity_changed".into(), Some("urgent".into())));
    expected_events.push(("assigned".into(), Some(AGENT.into())));
    let comment = app
        .post(
            &format!("/api/v1/feedback/{id}/comments"),
            &app.token(Role::Agent),
            json!({"body": "Called the courier"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    expected_events.push(("comment".into(), None));
    assert_eq!(events(app, &id).await, expected_events);
    let history = app
        .get(
            &format!("/api/v1/feedback/{id}/events?limit=200"),
            &app.token(Role::Analyst),
        )
        .await;
    for e in history.body["items"].as_array().unwrap() {
        assert!(e["actor"].is_string() && e["created_at"].is_string(), "{e}");
    }
    assert_eq!(
        history.body["items"].as_array().unwrap().last().unwrap()["actor"],
        AGENT
    );
    let comments = app
        .get(&format!("/api/v1/feedback/{id}/comments"), &app.token(Role::Agent))
        .await;
    assert_eq!(comments.body["items"][0]["note"], "Called the courier");
}

async fn put_policies(app: &TestApp) {
    let reply = app
        .put(
            "/api/v1/settings/sla-policies",
            &app.token(Role::Manager),
            json!({"policies": [
                {"severity": "urgent", "first_response": {"amount": 60, "unit": "minutes"},
                 "resolution": {"amount": 4, "unit": "hours"}},
                {"severity": "important", "first_response": {"amount": 2, "unit": "hours"},
                 "resolution": {"amount": 24, "unit": "hours"}},
                {"severity": "general", "first_response": {"amount": 3, "unit": "business_days"},
                 "resolution": {"amount": 5, "unit": "business_days"}},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn urgent_item(app: &TestApp, customer_id: &str, assignee: Option<&str>) -> Value {
    file(
        app,
        json!({"customer_id": customer_id, "channel": "phone", "kind": "incident", "severity": "urgent",
               "subject": "Outage", "body": "Nothing works", "assignee_id": assignee}),
    )
    .await
}

async fn the_sweeper_warns_and_breaches_at_the_right_minute_once(app: &TestApp) {
    put_policies(app).await;
    let staff = app
        .put(
            &format!("/api/v1/staff/{AGENT}"),
            &app.token(Role::Admin),
            json!({"name": "Agent One", "manager_id": "mgr-1"}),
        )
        .await;
    assert_eq!(staff.status, 200, "{}", staff.body);
    let c = customer(app, "Dee").await;
    let item = urgent_item(app, &c, Some(AGENT)).await;
    let id = item["id"].as_str().unwrap().to_owned();
    let t0 = at(&item["created_at"]);
    let sweep = |t: DateTime<Utc>| sla::sweep(&app.db, t);

    let r = sweep(t0 + Duration::minutes(48) - Duration::seconds(1)).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (0, 0), "a second before 80%");
    let r = sweep(t0 + Duration::minutes(48)).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (1, 0), "at 80% of the hour");
    let r = sweep(t0 + Duration::minutes(59)).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (0, 0), "the warning fires once");
    let r = sweep(t0 + Duration::minutes(60)).await.unwrap();
    assert_eq!((r.warnings, r.breaches, r.escalations), (0, 1, 1), "breach at the hour");
    let r = sweep(t0 + Duration::minutes(61)).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (0, 0), "the breach fires once");

    let kinds: Vec<_> = events(app, &id)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("sla_"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("sla_warning".to_owned(), Some("first_response".to_owned())),
            ("sla_breach".to_owned(), Some("first_response".to_owned())),
        ]
    );
    let tasks = app
        .get(&format!("/api/v1/tasks?feedback_id={id}"), &app.token(Role::Manager))
        .await;
    let items = tasks.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", tasks.body);
    assert_eq!(items[0]["kind"], "sla_escalation");
    assert_eq!(items[0]["assignee_id"], "mgr-1", "the assignee's manager");
    let item = app
        .get(&format!("/api/v1/feedback/{id}"), &app.token(Role::Admin))
        .await;
    assert!(item.body["first_response"]["breached_at"].is_string());
    let breached = app.get("/api/v1/feedback?breached=true", &app.token(Role::Admin)).await;
    assert_eq!(breached.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.event_types("feedback.").await,
        ["feedback.created", "feedback.sla_warning", "feedback.sla_breached"]
    );
    assert_eq!(app.event_types("task.").await, ["task.created"], "the escalation");

    // Waiting on the customer stops the resolution clock: no warning while
    // paused, and the time left counts again from the resume.
    let ack = move_to(app, &id, json!({"to": "acknowledged"})).await;
    assert!(
        ack["first_response"]["breached_at"].is_string(),
        "a late answer stays breached"
    );
    move_to(app, &id, json!({"to": "in_progress"})).await;
    let paused = move_to(app, &id, json!({"to": "waiting_customer"})).await;
    let paused_at = at(&paused["updated_at"]);
    let r = sweep(t0 + Duration::days(3)).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (0, 0), "paused clocks do not fire");
    let resumed = move_to(app, &id, json!({"to": "in_progress"})).await;
    let left = at(&paused["resolution"]["due_at"]) - paused_at;
    let due = at(&resumed["resolution"]["due_at"]);
    assert_eq!(
        due - at(&resumed["updated_at"]),
        left,
        "the time left moves with the resume"
    );
    let r = sweep(due).await.unwrap();
    assert_eq!((r.warnings, r.breaches), (1, 1), "a late sweep records both, once each");
    let tasks = app
        .get(
            &format!("/api/v1/tasks?feedback_id={id}&kind=sla_escalation"),
            &app.token(Role::Manager),
        )
        .await;
    assert_eq!(tasks.body["items"].as_array().unwrap().len(), 2);

    // Without a manager on record, the customer's owner gets the escalation.
    let unassigned = urgent_item(app, &c, None).await;
    sweep(at(&unassigned["created_at"]) + Duration::hours(2)).await.unwrap();
    let tasks = app
        .get(
            &format!("/api/v1/tasks?feedback_id={}", unassigned["id"].as_str().unwrap()),
            &app.token(Role::Manager),
        )
        .await;
    assert_eq!(tasks.body["items"][0]["assignee_id"], "owner-1", "{}", tasks.body);
}

async fn two_instances_sweeping_together_fire_each_breach_once(app: &TestApp) {
    put_policies(app).await;
    let c = customer(app, "Eve").await;
    let mut last = None;
    for _ in 0..40 {
        last = Some(urgent_item(app, &c, Some(AGENT)).await);
    }
    let when = at(&last.unwrap()["created_at"]) + Duration::hours(5);
    // A second instance against the same database.
    let settings = rapport::config::Settings::for_database(&app.url, SECRET);
    let other = rapport::Application::build(settings).await.expect("second instance");
    // PostgreSQL: the instances claim disjoint batches (SKIP LOCKED); SQLite:
    // each batch takes the single write lock first, so they take turns.
    let (a, b) = tokio::join!(sla::sweep(&app.db, when), sla::sweep(other.db(), when));
    let (a, b) = (a.unwrap(), b.unwrap());
    // Both clocks of all 40 items were past due: 80 breaches in total.
    assert_eq!(a.breaches + b.breaches, 80, "{a:?} {b:?}");
    assert_eq!(a.warnings + b.warnings, 80);
    let count = |sql: &'static str| async move {
        use sea_orm::ConnectionTrait;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM (SELECT feedback_id, to_value FROM feedback_event WHERE kind = 'sla_breach' GROUP BY feedback_id, to_value HAVING COUNT(*) > 1) d").await,
        0,
        "no breach recorded twice"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM feedback_event WHERE kind = 'sla_breach'").await,
        80
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM task WHERE kind = 'sla_escalation'").await,
        80
    );
    other.db().clone().close().await.ok();
}

async fn settings_validate_and_apply(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let cases: [(&str, Value, &str); 6] = [
        ("/api/v1/settings/sla-policies", json!({"policies": []}), "policies"),
        (
            "/api/v1/settings/sla-policies",
            json!({"policies": [{"severity": "urgent", "first_response": {"amount": 0, "unit": "hours"},
                                  "resolution": {"amount": 1, "unit": "fortnights"}}]}),
            "policies[0].resolution.unit",
        ),
        (
            "/api/v1/settings/business-calendar",
            json!({"time_zone": "Mars/Olympus", "week": [{"day": "mon", "hours": [{"start": "09:00", "end": "17:00"}]}], "holidays": []}),
            "time_zone",
        ),
        (
            "/api/v1/settings/business-calendar",
            json!({"time_zone": "Asia/Shanghai", "week": [{"day": "mon", "hours": [
                {"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}]}], "holidays": []}),
            "week[0].hours",
        ),
        (
            "/api/v1/settings/business-calendar",
            json!({"time_zone": "UTC", "week": [{"day": "mon", "hours": [{"start": "9am", "end": "17:00"}]}], "holidays": []}),
            "week[0].hours[0].start",
        ),
        (
            "/api/v1/settings/feedback-classification",
            json!({"urgent_keywords": [""], "important_keywords": [], "key_tier_severity": "important",
                   "key_tier_kinds": [], "kind_floors": []}),
            "urgent_keywords[0]",
        ),
    ];
    for (path, body, field) in cases {
        app.put(path, &admin, body).await.assert_problem(422, Some(field));
    }
    let zero = app
        .put(
            "/api/v1/settings/sla-policies",
            &admin,
            json!({"policies": [{"severity": "urgent", "first_response": {"amount": 0, "unit": "hours"},
                                  "resolution": {"amount": 1, "unit": "hours"}}]}),
        )
        .await;
    zero.assert_problem(422, Some("policies[0].first_response.amount"));
    assert_eq!(app.count("app_setting").await, 0, "nothing saved");

    // A Shanghai office with a lunch break; general items count business time.
    let week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "hours": [{"start": "09:00", "end": "12:00"}, {"start": "13:30", "end": "18:00"}]}))
        .collect();
    let cal = app
        .put(
            "/api/v1/settings/business-calendar",
            &admin,
            json!({"time_zone": "Asia/Shanghai", "week": week, "holidays": ["2030-01-01"]}),
        )
        .await;
    assert_eq!(cal.status, 200, "{}", cal.body);
    let read = app
        .get("/api/v1/settings/business-calendar", &app.token(Role::Analyst))
        .await;
    assert_eq!(read.body["time_zone"], "Asia/Shanghai");
    let c = customer(app, "Fay").await;
    let general = file(
        app,
        json!({"customer_id": c, "channel": "web", "kind": "suggestion", "subject": "Idea", "body": "Add colours"}),
    )
    .await;
    assert_eq!(general["first_response"]["target_minutes"], 3 * 450, "3 days of 7.5 h");
    assert_eq!(general["first_response"]["business"], true);

    // Custom keywords decide.
    let rules = app
        .put(
            "/api/v1/settings/feedback-classification",
            &admin,
            json!({"urgent_keywords": [" Recall "], "important_keywords": [], "key_tier_severity": "important",
                   "key_tier_kinds": ["complaint"], "kind_floors": []}),
        )
        .await;
    assert_eq!(rules.body["urgent_keywords"], json!(["recall"]));
    let recall = file(
        app,
        json!({"customer_id": c, "channel": "web", "kind": "question", "subject": "Recall?", "body": "Is my kettle in the recall"}),
    )
    .await;
    assert_eq!(recall["severity_rule"], "keyword:recall");
}

async fn the_report_counts_times_attainment_keywords_and_sentiment(app: &TestApp) {
    put_policies(app).await;
    let c = customer(app, "Gus").await;
    let mut ids = Vec::new();
    for (kind, body) in [
        ("complaint", "The parcel arrived broken, terrible packaging"),
        ("complaint", "Parcel late and broken again"),
        ("praise", "Lovely staff, very helpful"),
    ] {
        let item = file(
            app,
            json!({"customer_id": c, "channel": "email", "kind": kind, "subject": "Parcel", "body": body}),
        )
        .await;
        ids.push(item["id"].as_str().unwrap().to_owned());
    }
    move_to(app, &ids[0], json!({"to": "acknowledged"})).await;
    move_to(app, &ids[1], json!({"to": "acknowledged"})).await;
    // The third breaches its first response before anyone answers.
    sla::sweep(&app.db, chrono::Utc::now() + Duration::days(10))
        .await
        .unwrap();

    let report = app
        .get("/api/v1/analytics/feedback?group_by=kind", &app.token(Role::Analyst))
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let r = &report.body;
    assert_eq!(r["items"], 3);
    assert_eq!(
        r["by_kind"],
        json!([{"value": "complaint", "items": 2}, {"value": "praise", "items": 1}])
    );
    assert_eq!(r["by_channel"], json!([{"value": "email", "items": 3}]));
    let all = &r["timings"][0];
    assert_eq!(all["value"], "all");
    assert_eq!(all["first_response"]["items"], 2, "{r}");
    assert!(all["first_response"]["median_minutes"].as_f64().unwrap() < 5.0);
    // Two answered in time, one breached: 66.67%.
    assert_eq!(all["first_response"]["attainment_percent"], 66.67);
    let groups: Vec<&str> = r["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["all", "complaint", "praise"]);
    assert_eq!(r["timings"][2]["first_response"]["attainment_percent"], 0.0);
    assert_eq!(r["top_keywords"][0]["keyword"], "parcel", "{r}");
    assert_eq!(r["top_keywords"][0]["items"], 3);
    let weeks = r["sentiment_by_week"].as_array().unwrap();
    assert_eq!(weeks.len(), 1);
    assert_eq!(weeks[0]["items"], 3);
    let monday = chrono::Utc::now().date_naive().week(chrono::Weekday::Mon).first_day();
    assert_eq!(weeks[0]["week_start"], monday.to_string());

    app.get(
        "/api/v1/analytics/feedback?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z",
        &app.token(Role::Admin),
    )
    .await
    .assert_problem(422, Some("from"));
    let partner = app.get("/api/v1/analytics/feedback", &app.token(Role::Partner)).await;
    assert_eq!(partner.status, 200);
}

async fn tasks_belong_to_their_assignee(app: &TestApp) {
    let c = customer(app, "Hal").await;
    let agent = app.token(Role::Agent);
    let mine = app
        .post(
            "/api/v1/tasks",
            &agent,
            json!({"kind": "callback", "customer_id": c, "title": "Call back", "due_at": "2030-01-01T09:00:00Z"}),
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.body);
    assert_eq!(mine.body["assignee_id"], AGENT);
    app.post(
        "/api/v1/tasks",
        &agent,
        json!({"kind": "callback", "customer_id": c, "title": "x", "assignee_id": "other"}),
    )
    .await
    .assert_problem(422, Some("assignee_id"));
    let theirs = app
        .post(
            "/api/v1/tasks",
            &app.token(Role::Manager),
            json!({"kind": "review", "customer_id": c, "title": "Review", "assignee_id": "agent-2"}),
        )
        .await;
    assert_eq!(theirs.status, 201);
    let list = app.get("/api/v1/tasks", &agent).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "agents see their own");
    let all = app.get("/api/v1/tasks", &app.token(Role::Analyst)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    app.get(&format!("/api/v1/tasks/{}", theirs.id()), &agent)
        .await
        .assert_problem(404, None);
    app.patch(
        &format!("/api/v1/tasks/{}", theirs.id()),
        &agent,
        json!({"status": "done"}),
    )
    .await
    .assert_problem(404, None);
    let path = format!("/api/v1/tasks/{}", mine.id());
    app.patch(&path, &agent, json!({"status": "done"}))
        .await
        .assert_problem(422, Some("outcome"));
    app.patch(&path, &agent, json!({"assignee_id": "agent-2"}))
        .await
        .assert_problem(422, Some("assignee_id"));
    let done = app
        .patch(&path, &agent, json!({"status": "done", "outcome": "Reached, all good"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body["completed_at"].is_string());
    app.patch(&path, &app.token(Role::Analyst), json!({"title": "x"}))
        .await
        .assert_problem(403, None);
    app.post(
        "/api/v1/tasks",
        &app.token(Role::Admin),
        json!({"kind": "callback", "customer_id": "0192f5e0-0000-7000-8000-000000000000", "title": "x"}),
    )
    .await
    .assert_problem(422, Some("customer_id"));
}

/// The records the feedback matrix acts on.
struct LoopRecords {
    c: String,
    id: String,
    task: String,
    own: String,
}

async fn loop_records(app: &TestApp) -> LoopRecords {
    let c = customer(app, "Ivy").await;
    let item = file(
        app,
        json!({"customer_id": c, "channel": "web", "kind": "question", "subject": "Q", "body": "Q?"}),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    let task = app
        .post(
            "/api/v1/tasks",
            &app.token(Role::Manager),
            json!({"kind": "follow_up", "customer_id": c, "title": "Follow up", "assignee_id": AGENT}),
        )
        .await
        .id();
    app.put("/api/v1/staff/lead", &app.token(Role::Admin), json!({"name": "Lead"}))
        .await;
    let own = app
        .post(
            "/api/v1/me/feedback",
            &app.customer_token(&c),
            json!({"channel": "app", "kind": "question", "subject": "Mine", "body": "Mine"}),
        )
        .await
        .id();
    LoopRecords { c, id, task, own }
}

/// (method, path, body, roles allowed) — everyone else gets 403.
fn loop_routes(r: &LoopRecords) -> Vec<(Method, String, Option<Value>, &'static [Role])> {
    let LoopRecords { c, id, task, own } = r;
    let new_item = json!({"customer_id": c, "channel": "web", "kind": "praise", "subject": "P", "body": "Nice"});
    let calendar = json!({"time_zone": "UTC", "week": [{"day": "mon", "hours": [{"start": "09:00", "end": "17:00"}]}], "holidays": []});
    let list: Vec<Value> = ["urgent", "important", "general"]
        .iter()
        .map(|s| json!({"severity": s, "first_response": {"amount": 1, "unit": "hours"}, "resolution": {"amount": 1, "unit": "days"}}))
        .collect();
    let policies = json!({ "policies": list });
    let classification = serde_json::to_value(rapport::contract::settings::ClassificationSettings::default()).unwrap();
    vec![
        (
            Method::POST,
            "/api/v1/feedback".into(),
            Some(new_item.clone()),
            &[Role::Admin, Role::Manager, Role::Agent],
        ),
        (
            Method::GET,
            "/api/v1/feedback".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::GET,
            format!("/api/v1/feedback/{id}"),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PATCH,
            format!("/api/v1/feedback/{id}"),
            Some(json!({"severity": "general"})),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            format!("/api/v1/feedback/{id}/events"),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::GET,
            format!("/api/v1/feedback/{id}/comments"),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::POST,
            format!("/api/v1/feedback/{id}/comments"),
            Some(json!({"body": "hi"})),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            "/api/v1/settings/sla-policies".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PUT,
            "/api/v1/settings/sla-policies".into(),
            Some(policies),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            "/api/v1/settings/business-calendar".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PUT,
            "/api/v1/settings/business-calendar".into(),
            Some(calendar),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            "/api/v1/settings/feedback-classification".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PUT,
            "/api/v1/settings/feedback-classification".into(),
            Some(classification),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            "/api/v1/analytics/feedback".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Analyst, Role::Partner],
        ),
        (
            Method::GET,
            "/api/v1/tasks".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::POST,
            "/api/v1/tasks".into(),
            Some(json!({"kind": "other", "customer_id": c, "title": "T"})),
            &[Role::Admin, Role::Manager, Role::Agent],
        ),
        (
            Method::GET,
            "/api/v1/staff".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PUT,
            "/api/v1/staff/someone".into(),
            Some(json!({"name": "Some One"})),
            &[Role::Admin, Role::Manager],
        ),
        (
            Method::GET,
            format!("/api/v1/tasks/{task}"),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}"),
            Some(json!({"title": "Follow up again"})),
            &[Role::Admin, Role::Manager, Role::Agent],
        ),
        (
            Method::GET,
            "/api/v1/staff/lead".into(),
            None,
            &[Role::Admin, Role::Manager, Role::Agent, Role::Analyst],
        ),
        (
            Method::GET,
            format!("/api/v1/me/feedback/{own}"),
            None,
            &[Role::Customer],
        ),
        (Method::GET, "/api/v1/me/feedback".into(), None, &[Role::Customer]),
        (
            Method::POST,
            "/api/v1/me/feedback".into(),
            Some(json!({"channel": "app", "kind": "praise", "subject": "S", "body": "B"})),
            &[Role::Customer],
        ),
    ]
}

async fn every_route_answers_each_role_as_designed(app: &TestApp) {
    let records = loop_records(app).await;
    let c = &records.c;
    let routes = loop_routes(&records);
    for (method, path, body, allowed) in routes {
        for role in Role::ALL {
            let token = if role == Role::Customer {
                app.customer_token(c)
            } else {
                app.token(role)
            };
            let reply = app.request(method.clone(), &path, Some(&token), body.clone()).await;
            if allowed.contains(&role) {
                assert!(
                    reply.status.is_success(),
                    "{role} {method} {path}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                reply.assert_problem(403, None);
            }
        }
        let anonymous = app.request(method.clone(), &path, None, body.clone()).await;
        anonymous.assert_problem(401, None);
    }
}

async fn transitions_are_for_managers_and_the_assignee_only(app: &TestApp) {
    let c = customer(app, "Ivy").await;
    let item = file(
        app,
        json!({"customer_id": c, "channel": "web", "kind": "question", "subject": "Q", "body": "Q?"}),
    )
    .await;
    let id = item["id"].as_str().unwrap().to_owned();
    // Transitions: admins and managers any item, agents only their own.
    let to = |s: &str| json!({"to": s});
    let path = format!("/api/v1/feedback/{id}/transitions");
    for role in [Role::Agent, Role::Analyst, Role::Partner] {
        app.post(&path, &app.token(role), to("acknowledged"))
            .await
            .assert_problem(403, None);
    }
    app.post(&path, &app.customer_token(&c), to("acknowledged"))
        .await
        .assert_problem(403, None);
    app.patch(
        &format!("/api/v1/feedback/{id}"),
        &app.token(Role::Admin),
        json!({"assignee_id": AGENT}),
    )
    .await;
    let ok = app.post(&path, &app.token(Role::Agent), to("acknowledged")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let comment = app
        .post(
            &format!("/api/v1/feedback/{id}/comments"),
            &app.token(Role::Agent),
            json!({"body": "on it"}),
        )
        .await;
    assert_eq!(comment.status, 201);
    // Another customer's token sees none of it.
    let other = customer(app, "Jo").await;
    app.get(&format!("/api/v1/me/feedback/{id}"), &app.customer_token(&other))
        .await
        .assert_problem(404, None);
}

async fn graphql_covers_the_same_loop_with_the_same_rules(app: &TestApp) {
    let c = customer(app, "Kit").await;
    let create = "mutation($c: UUID!) { createFeedback(input: {customerId: $c, channel: WEB, kind: COMPLAINT, \
        subject: \"Broken\", body: \"Arrived broken\"}) { id severity severityRule firstResponse { dueAt business } } }";
    let denied = app
        .graphql(Some(&app.token(Role::Analyst)), create, json!({"c": c}))
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "forbidden", "{denied}");
    let made = app
        .graphql(Some(&app.token(Role::Manager)), create, json!({"c": c}))
        .await;
    let item = &made["data"]["createFeedback"];
    assert_eq!(item["severity"], "IMPORTANT", "{made}");
    assert_eq!(item["severityRule"], "keyword:broken");
    let id = item["id"].as_str().unwrap().to_owned();

    let illegal = app
        .graphql(
            Some(&app.token(Role::Manager)),
            "mutation($id: ID!) { transitionFeedback(id: $id, input: {to: RESOLVED}) { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(illegal["errors"][0]["extensions"]["code"], "conflict", "{illegal}");
    assert_eq!(illegal["errors"][0]["extensions"]["errors"][0]["path"], "to");
    let moved = app
        .graphql(
            Some(&app.token(Role::Manager)),
            "mutation($id: ID!) { transitionFeedback(id: $id, input: {to: ACKNOWLEDGED, note: \"on it\"}) { status } \
               commentFeedback(id: $id, input: {body: \"Called\"}) { kind } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(moved["data"]["transitionFeedback"]["status"], "ACKNOWLEDGED", "{moved}");
    let agent = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "mutation($id: ID!) { updateFeedback(id: $id, patch: {assigneeId: \"agent-1\"}) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(agent["errors"][0]["extensions"]["code"], "forbidden");

    let read = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "query($id: ID!, $c: ID!) { feedback(id: $id) { status events(first: 10) { edges { node { kind actor } } } } \
               customer(id: $c) { openFeedback { id } } \
               feedbacks(filter: {kind: COMPLAINT}, first: 5) { edges { node { id } } } \
               slaPolicies { policies { severity } } businessCalendar { timeZone } }",
            json!({"id": id, "c": c}),
        )
        .await;
    let kinds: Vec<&str> = read["data"]["feedback"]["events"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{read}"))
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "status_changed", "comment"]);
    assert_eq!(read["data"]["customer"]["openFeedback"][0]["id"], id.as_str());
    assert_eq!(read["data"]["feedbacks"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(read["data"]["slaPolicies"]["policies"].as_array().unwrap().len(), 3);

    let mine = app
        .graphql(
            Some(&app.customer_token(&c)),
            "mutation { createMyFeedback(input: {channel: APP, kind: PRAISE, subject: \"Thanks\", body: \"Great help\"}) { status } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["createMyFeedback"]["status"], "NEW", "{mine}");
    let listed = app
        .graphql(
            Some(&app.customer_token(&c)),
            "{ myFeedback { edges { node { subject } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["myFeedback"]["edges"].as_array().unwrap().len(), 2);
    let report = app
        .graphql(
            Some(&app.token(Role::Partner)),
            "{ feedbackReport(input: {groupBy: KIND}) { items byKind { value items } timings { value } } }",
            json!({}),
        )
        .await;
    assert_eq!(report["data"]["feedbackReport"]["items"], 2, "{report}");
    let task = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "mutation($c: UUID!) { createTask(input: {kind: CALLBACK, customerId: $c, title: \"Ring\"}) { assigneeId status } }",
            json!({"c": c}),
        )
        .await;
    assert_eq!(task["data"]["createTask"]["assigneeId"], AGENT, "{task}");
    let tasks = app
        .graphql(
            Some(&app.token(Role::Agent)),
            "{ tasks { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(tasks["data"]["tasks"]["edges"].as_array().unwrap().len(), 1);
}

on_both_databases!(
    graphql_covers_the_same_loop_with_the_same_rules,
    intake_classifies_analyses_and_starts_both_clocks,
    customers_file_their_own_and_lists_filter_and_show_in_the_360,
    bad_input_names_the_field_and_writes_nothing,
    every_transition_is_checked_and_recorded,
    assignment_severity_and_comments_are_history_with_actor_and_time,
    the_sweeper_warns_and_breaches_at_the_right_minute_once,
    two_instances_sweeping_together_fire_each_breach_once,
    settings_validate_and_apply,
    the_report_counts_times_attainment_keywords_and_sentiment,
    tasks_belong_to_their_assignee,
    every_route_answers_each_role_as_designed,
    transitions_are_for_managers_and_the_assignee_only,
);
