//! The task list as a team lead works it: filters by kind, due range and
//! lateness, "my tasks", and handing open tasks to someone else in bulk.

use crate::common::{AGENT, TestApp};
use rapport::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn days(d: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(d)).to_rfc3339()
}

async fn titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let list = app.get(&format!("/api/v1/tasks?{query}"), token).await;
    assert_eq!(list.status, StatusCode::OK, "{query}: {}", list.body);
    let mut t: Vec<String> = list.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

async fn the_task_list_filters_and_open_tasks_change_hands_in_bulk(app: &TestApp) {
    let customer = app.create_customer(json!({"name": "Task Co"})).await;
    let manager = app.token(Role::Manager);
    let mut ids = Vec::new();
    for (title, kind, due, assignee) in [
        ("late care", "care", -2, AGENT),
        ("soon upsell", "upsell", 3, AGENT),
        ("later review", "review", 30, "agent-2"),
        ("mine", "follow_up", 1, "manager"),
    ] {
        let made = app
            .post(
                "/api/v1/tasks",
                &manager,
                json!({"kind": kind, "customer_id": customer, "title": title, "due_at": days(due), "assignee_id": assignee}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        ids.push(made.id());
    }
    assert_eq!(titles(app, &manager, "kind=upsell").await, ["soon upsell"]);
    assert_eq!(titles(app, &manager, "overdue=true").await, ["late care"]);
    assert_eq!(titles(app, &manager, "overdue=false").await.len(), 3);
    assert_eq!(
        titles(app, &manager, &format!("due_after={}", urlencoding(&days(2)))).await,
        ["later review", "soon upsell"]
    );
    assert_eq!(titles(app, &manager, "mine=true").await, ["mine"]);
    // A finished task is no longer late.
    let done = app
        .patch(
            &format!("/api/v1/tasks/{}", ids[0]),
            &manager,
            json!({"status": "done", "outcome": "Sent flowers"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(titles(app, &manager, "overdue=true").await.is_empty());
    // Everything agent-1 still has open goes to agent-3; the finished one stays.
    let moved = app
        .post(
            "/api/v1/tasks/reassign",
            &manager,
            json!({"from_assignee_id": AGENT, "assignee_id": "agent-3"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["reassigned"], 1);
    assert_eq!(titles(app, &manager, "assignee_id=agent-3").await, ["soon upsell"]);
    let named = app
        .post(
            "/api/v1/tasks/reassign",
            &manager,
            json!({"task_ids": [ids[2], ids[3]], "assignee_id": "agent-3"}),
        )
        .await;
    assert_eq!(named.body["reassigned"], 2, "{}", named.body);
    for (body, field) in [
        (json!({"assignee_id": "agent-3"}), "task_ids"),
        (json!({"task_ids": [], "assignee_id": "agent-3"}), "task_ids"),
        (
            json!({"task_ids": [ids[1]], "from_assignee_id": AGENT, "assignee_id": "agent-3"}),
            "task_ids",
        ),
        (json!({"task_ids": [ids[1]], "assignee_id": ""}), "assignee_id"),
    ] {
        app.post("/api/v1/tasks/reassign", &manager, body)
            .await
            .assert_problem(422, Some(field));
    }
    for role in [Role::Agent, Role::Analyst, Role::Partner, Role::Customer] {
        app.post(
            "/api/v1/tasks/reassign",
            &app.token(role),
            json!({"task_ids": [ids[1]], "assignee_id": "agent-3"}),
        )
        .await
        .assert_problem(403, None);
    }
    let gql: Value = app
        .graphql(
            Some(&manager),
            "mutation($ids: [UUID!]) { reassignTasks(input: {taskIds: $ids, assigneeId: \"agent-4\"}) { reassigned } }",
            json!({"ids": [ids[1]]}),
        )
        .await;
    assert_eq!(gql["data"]["reassignTasks"]["reassigned"], 1, "{gql}");
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

on_both_databases!(the_task_list_filters_and_open_tasks_change_hands_in_bulk);
