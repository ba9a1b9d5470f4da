//! The privacy export holds everything about a customer; erasure leaves no
//! trace of the person in any table, keeps the aggregates, and can be
//! repeated after a restore.

use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp};
use rapport::auth::Role;
use rapport::config::Settings;
use sea_orm::ConnectionTrait;
use serde_json::json;

fn local(s: &mut Settings) {
    s.webhooks.allow_private_networks = "127.0.0.1".into();
}

/// Names of every table in the database.
async fn tables(app: &TestApp) -> Vec<String> {
    let sql = match app.backend {
        Backend::Postgres => "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'",
        Backend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "t").unwrap()).collect()
}

/// Rows of `table` whose text anywhere holds `needle` (case-insensitive).
async fn rows_holding(app: &TestApp, table: &str, needle: &str) -> i64 {
    let needle = needle.to_lowercase();
    let whole_row = match app.backend {
        Backend::Postgres => format!("lower(CAST(\"{table}\" AS text))"),
        Backend::Sqlite => {
            let cols = app
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    format!("SELECT name AS c FROM pragma_table_info('{table}')"),
                ))
                .await
                .unwrap();
            let parts: Vec<String> = cols
                .iter()
                .map(|r| {
                    format!(
                        "coalesce(CAST(\"{}\" AS TEXT), '')",
                        r.try_get::<String>("", "c").unwrap()
                    )
                })
                .collect();
            format!("lower({})", parts.join(" || ' ' || "))
        }
    };
    app.count(&format!("\"{table}\" WHERE {whole_row} LIKE '%{needle}%'"))
        .await
}

async fn erasure_leaves_no_trace_and_keeps_the_aggregates(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let receiver = Receiver::start().await;
    let hook = app
        .post("/api/v1/webhooks", &admin, json!({"url": receiver.url("/echo")}))
        .await
        .id();
    let customer = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Zelda Quintero", "email": "zelda.q@example.com", "phone": "+33 6 12 34 56 78",
                   "external_id": "crm-zelda", "notes": "Zelda prefers mornings", "tags": ["vip"],
                   "custom_attributes": {"nickname": "Zelda"}, "birthday": "1990-04-01", "city": "Lyon",
                   "time_zone": "Pacific/Chatham"}),
        )
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let id = customer.id();
    let keyed = app
        .client
        .post(format!("{}/api/v1/customers/{id}/contacts", app.address))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "zelda-contact")
        .json(&json!({"name": "Zelda Quintero", "email": "zelda.q@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 201);
    app.post(
        &format!("/api/v1/customers/{id}/interactions"),
        &admin,
        json!({"channel": "phone", "direction": "inbound", "summary": "Zelda Quintero called about zelda.q@example.com"}),
    )
    .await;
    let feedback = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": id, "channel": "email", "kind": "complaint", "subject": "Zelda's parcel",
                   "body": "Quintero here, write to zelda.q@example.com"}),
        )
        .await
        .id();
    app.post(
        &format!("/api/v1/feedback/{feedback}/comments"),
        &admin,
        json!({"body": "Replied to Zelda"}),
    )
    .await;
    app.post(
        "/api/v1/tasks",
        &admin,
        json!({"customer_id": id, "kind": "follow_up", "title": "Call Zelda Quintero"}),
    )
    .await;
    let order = json!({"customer_id": id, "amount_minor": 4200, "currency": "EUR"});
    assert_eq!(app.post("/api/v1/orders", &admin, order).await.status, 201);
    let bonus = app
        .client
        .post(format!("{}/api/v1/customers/{id}/loyalty/earn", app.address))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "zelda-bonus")
        .json(&json!({"points": 15, "note": "Birthday bonus for Zelda Quintero"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bonus.status(), 201);
    // An endpoint that echoes the name into the delivery log.
    receiver.script("/echo", vec![(200, vec![], "got Zelda Quintero".into()); 20]);
    crate::webhooks::deliver(app).await;
    let log = app.get(&format!("/api/v1/webhooks/{hook}/attempts"), &admin).await;
    assert!(log.body.to_string().contains("Zelda"), "{}", log.body);

    let export = app.get(&format!("/api/v1/customers/{id}/export"), &admin).await;
    assert_eq!(export.status, 200, "{}", export.body);
    let e = &export.body;
    assert_eq!(e["customer"]["email"], "zelda.q@example.com");
    assert_eq!(e["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(e["interactions"].as_array().unwrap().len(), 1);
    assert_eq!(e["orders"].as_array().unwrap().len(), 1);
    assert_eq!(e["feedback"].as_array().unwrap().len(), 1);
    assert!(e["feedback_history"].as_array().unwrap().len() >= 2);
    assert_eq!(e["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(e["loyalty_account"]["balance"], 15);
    assert_eq!(e["loyalty_entries"][0]["note"], "Birthday bonus for Zelda Quintero");
    assert!(
        e["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["type"] == "customer.created")
    );
    assert!(e["erased_at"].is_null());
    app.get(&format!("/api/v1/customers/{id}/export"), &app.token(Role::Analyst))
        .await
        .assert_problem(403, None);
    app.post(
        &format!("/api/v1/customers/{id}/erase"),
        &app.token(Role::Manager),
        json!({}),
    )
    .await
    .assert_problem(403, None);

    let erased = app
        .post(&format!("/api/v1/customers/{id}/erase"), &admin, json!({}))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(erased.body["erased_by"], "admin");
    for needle in [
        "zelda",
        "quintero",
        "zelda.q@example.com",
        "crm-zelda",
        "12 34 56",
        "1990-04-01",
        "Chatham",
    ] {
        for table in tables(app).await {
            assert_eq!(
                rows_holding(app, &table, needle).await,
                0,
                "{needle:?} still in {table}"
            );
        }
    }
    // The record stays, deleted and anonymised, with its orders and totals.
    app.get(&format!("/api/v1/customers/{id}"), &admin)
        .await
        .assert_problem(404, None);
    let after = app.get(&format!("/api/v1/customers/{id}/export"), &admin).await;
    assert_eq!(after.body["customer"]["name"], "Erased customer");
    assert_eq!(after.body["orders"][0]["amount_minor"], 4200);
    // The ledger stays whole: points are owed whoever held them.
    assert_eq!(after.body["loyalty_account"]["balance"], 15);
    assert_eq!(after.body["loyalty_entries"][0]["points"], 15);
    assert!(after.body["loyalty_entries"][0]["note"].is_null());
    assert!(after.body["erased_at"].is_string());
    assert!(
        after.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["type"] == "customer.erased")
    );
    // Erasing again changes nothing and keeps the first record.
    let again = app
        .post(&format!("/api/v1/customers/{id}/erase"), &admin, json!({}))
        .await;
    assert_eq!(again.body["erased_at"], erased.body["erased_at"]);

    // A restored backup brings the person back; the recorded erasure runs again.
    app.db
        .execute_unprepared(
            "UPDATE customer SET name = 'Zelda Quintero', email = 'zelda.q@example.com' WHERE name = 'Erased customer'",
        )
        .await
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["erase", "--replay"])
        .env("DATABASE_URL", &app.url)
        .env("RAPPORT__LOG__FILTER", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rows_holding(app, "customer", "zelda").await, 0);
}

on_both_databases!(settings = local; erasure_leaves_no_trace_and_keeps_the_aggregates);
