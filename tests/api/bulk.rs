//! Bulk import and export as an integrator uses them: good and bad rows,
//! re-import unchanged, the errors file fixed and sent again, the edge cases
//! of real files, and an export that re-imports unchanged.

use crate::common::TestApp;
use rapport::auth::Role;
use serde_json::{Value, json};

async fn upload(app: &TestApp, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(app.token(Role::Admin))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn text(app: &TestApp, path: &str) -> String {
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(app.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

fn counts(r: &Value) -> [i64; 5] {
    ["rows", "created", "updated", "unchanged", "failed"].map(|k| r[k].as_i64().unwrap_or(-1))
}

async fn imports_count_every_row_and_store_no_bad_one(app: &TestApp) {
    app.create_customer(json!({"name": "Existing", "email": "taken@example.com", "external_id": "other"}))
        .await;
    // A BOM, CRLF line ends, a quoted newline, a formula-looking phone, the
    // same external_id twice (the first row counts, the later one is a row
    // error), an e-mail of another customer, an unknown tier, a missing
    // external_id.
    let file = "\u{feff}external_id,name,email,phone,value_tier,tags,notes\r\n\
        c-1,Ann Lee,ann@example.com,'+33 6 12 34 56 78,key,vip;eu,\"line one\r\nline two\"\r\n\
        c-2,Bob Stone,bob@example.com,,general,,\r\n\
        c-1,Ann Lee-Smith,ann@example.com,'+33 6 12 34 56 78,key,vip;eu,\"line one\r\nline two\"\r\n\
        c-3,Eve,taken@example.com,,,,\r\n\
        c-4,Dan,dan@example.com,,platinum,,\r\n\
        ,Nobody,nobody@example.com,,,,\r\n";
    let before = app.count("customer").await;
    let (status, dry) = upload(app, "/api/v1/imports/customers?dry_run=true", "text/csv", file).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(counts(&dry), [6, 2, 0, 0, 4], "{dry}");
    assert_eq!(app.count("customer").await, before, "a dry run writes nothing");

    let (status, report) = upload(app, "/api/v1/imports/customers", "text/csv", file).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(counts(&report), [6, 2, 0, 0, 4], "{report}");
    assert_eq!(app.count("customer").await, before + 2, "no bad row stored");
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(3, "external_id"), (4, "email"), (5, "value_tier"), (6, "external_id")]
    );
    let ann = app
        .get("/api/v1/customers/by-external-id/c-1", &app.token(Role::Admin))
        .await;
    assert_eq!(ann.body["name"], "Ann Lee", "the first row counts");
    assert_eq!(ann.body["phone"], "+33612345678");
    assert_eq!(ann.body["notes"], "line one\r\nline two");
    assert_eq!(ann.body["tags"], json!(["vip", "eu"]));

    // The same file again: nothing changes.
    let (_, again) = upload(app, "/api/v1/imports/customers", "text/csv", file).await;
    assert_eq!(counts(&again), [6, 0, 0, 2, 4], "{again}");

    // The errors file has the original columns and why; fixed, it imports.
    let errors = text(
        app,
        &format!("/api/v1/imports/{}/errors?format=csv", report["id"].as_str().unwrap()),
    )
    .await;
    let mut lines = errors.lines();
    assert_eq!(
        lines.next(),
        Some("external_id,name,email,phone,value_tier,tags,notes,_row,_field,_error")
    );
    let mut reader = csv::Reader::from_reader(errors.as_bytes());
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    out.write_record(&header[..header.len() - 3]).unwrap();
    for record in reader.records() {
        let cells: Vec<String> = record
            .unwrap()
            .iter()
            .map(|c| match c {
                "taken@example.com" => "eve@example.com".to_owned(),
                "platinum" => "important".to_owned(),
                "" => String::new(),
                other => other.to_owned(),
            })
            .collect();
        let mut cells = cells[..cells.len() - 3].to_vec();
        if cells[0].is_empty() {
            cells[0] = "c-6".into();
        }
        out.write_record(&cells).unwrap();
    }
    let fixed = String::from_utf8(out.into_inner().unwrap()).unwrap();
    let (_, refit) = upload(app, "/api/v1/imports/customers", "text/csv", &fixed).await;
    assert_eq!(counts(&refit), [4, 3, 1, 0, 0], "{refit}\n{fixed}");

    // NDJSON takes the same rows as objects.
    let ndjson = "{\"external_id\": \"n-1\", \"name\": \"Nia\", \"tags\": [\"eu\"]}\n\n{\"external_id\": \"n-2\", \"name\": \"\"}\nnot json\n";
    let (_, nd) = upload(app, "/api/v1/imports/customers", "application/x-ndjson", ndjson).await;
    assert_eq!(counts(&nd), [3, 1, 0, 0, 2], "{nd}");
    let (status, _) = upload(app, "/api/v1/imports/customers", "application/json", "{}").await;
    assert_eq!(status, 415);
    // Bytes that are no CSV at all, NUL characters included, are row errors.
    let (status, odd) = upload(
        app,
        "/api/v1/imports/customers?format=csv",
        "application/octet-stream",
        "external_id,na\u{0}me\nx\u{0},a\u{0}b\n\u{0}\n",
    )
    .await;
    assert_eq!(status, 200, "{odd}");
    assert_eq!(counts(&odd), [2, 0, 0, 0, 2], "{odd}");
    let errors = text(app, &format!("/api/v1/imports/{}/errors", odd["id"].as_str().unwrap())).await;
    assert!(errors.contains("NUL"), "{errors}");
    let (status, _) = upload(app, "/api/v1/imports/customers", "application/octet-stream", "").await;
    assert_eq!(status, 400, "an empty body is no file");
    // Only admins and managers.
    let res = app
        .client
        .post(format!("{}/api/v1/imports/customers", app.address))
        .bearer_auth(app.token(Role::Agent))
        .header("content-type", "text/csv")
        .body("external_id,name\nx,y\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn a_repeat_in_a_later_batch_names_the_first_row(app: &TestApp) {
    // Batches are 500 rows: row 1 and its repeat at row 601 fall in different ones.
    let mut file = String::from("external_id,name\n");
    for i in 1..=600 {
        file.push_str(&format!("b-{i},Batch {i}\n"));
    }
    file.push_str("b-1,Batch again\n");
    let (status, report) = upload(app, "/api/v1/imports/customers", "text/csv", &file).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(counts(&report), [601, 600, 0, 0, 1], "{report}");
    assert_eq!(report["errors"][0]["row"], 601);
    assert_eq!(report["errors"][0]["error"], "repeats row 1 of this file, which counts");
    assert_eq!(app.count("import_key").await, 0, "the ids met are dropped at the end");
}

async fn orders_import_by_external_id(app: &TestApp) {
    app.create_customer(json!({"name": "Buyer", "external_id": "buyer-1"}))
        .await;
    let file = "external_id,customer_external_id,amount_minor,currency,ordered_at\n\
        o-1,buyer-1,1250,EUR,2026-01-05T10:00:00Z\n\
        o-2,buyer-1,x,EUR,\n\
        o-3,nobody,100,EUR,\n";
    let (status, report) = upload(app, "/api/v1/imports/orders", "text/csv", file).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(counts(&report), [3, 1, 0, 0, 2], "{report}");
    let (_, again) = upload(app, "/api/v1/imports/orders", "text/csv", file).await;
    assert_eq!(counts(&again), [3, 0, 0, 1, 2], "{again}");
    let changed = "external_id,customer_external_id,amount_minor,currency\no-1,buyer-1,999,EUR\n";
    let (_, conflict) = upload(app, "/api/v1/imports/orders", "text/csv", changed).await;
    assert_eq!(conflict["errors"][0]["field"], "external_id", "{conflict}");

    // A batch is written together: several orders of one customer in it all
    // count, an order id of another customer's order is that row's error,
    // and each created order tells its event once.
    app.create_customer(json!({"name": "Second", "external_id": "buyer-2"}))
        .await;
    let events_before = app.event_types("order.completed").await.len();
    let batch = "external_id,customer_external_id,amount_minor,currency\n\
        o-10,buyer-1,100,EUR\n\
        o-11,buyer-2,200,EUR\n\
        o-1,buyer-2,1250,EUR\n\
        o-12,buyer-1,300,EUR\n\
        o-13,buyer-2,400,EUR\n";
    let (_, report) = upload(app, "/api/v1/imports/orders", "text/csv", batch).await;
    assert_eq!(counts(&report), [5, 4, 0, 0, 1], "{report}");
    assert_eq!(report["errors"][0]["row"], 3, "{report}");
    assert_eq!(
        report["errors"][0]["error"], "an order with this external_id belongs to another customer",
        "{report}"
    );
    assert_eq!(app.event_types("order.completed").await.len(), events_before + 4);
    assert_eq!(
        app.count("customer WHERE external_id = 'buyer-1' AND order_count = 3")
            .await,
        1
    );
    assert_eq!(
        app.count("customer WHERE external_id = 'buyer-2' AND order_count = 2")
            .await,
        1
    );
}

async fn an_export_reimports_unchanged_and_neutralises_formulas(app: &TestApp) {
    let admin = app.token(Role::Admin);
    app.create_customer(
        json!({"name": "=HYPERLINK(\"x\")", "external_id": "f-1", "phone": "+1 555 123 4567",
        "tags": ["a", "b"], "custom_attributes": {"plan": "gold"}, "notes": "@mention\nsecond line"}),
    )
    .await;
    app.create_customer(json!({"name": "Plain", "external_id": "f-2", "value_tier": "key"}))
        .await;
    let csv = text(app, "/api/v1/exports/customers?format=csv&sort=created_at_asc").await;
    assert!(csv.starts_with("id,external_id,kind,name,"), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    assert!(csv.contains("'+15551234567"), "{csv}");
    let (_, report) = upload(app, "/api/v1/imports/customers", "text/csv", &csv).await;
    assert_eq!(counts(&report), [2, 0, 0, 2, 0], "{report}\n{csv}");
    let nd = text(app, "/api/v1/exports/customers?format=ndjson&value_tier=key").await;
    assert_eq!(nd.lines().count(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(nd.lines().next().unwrap()).unwrap()["name"],
        "Plain"
    );
    // Analysts get the masked view; a refused sort is a problem, not a broken file.
    let masked = app
        .client
        .get(format!("{}/api/v1/exports/customers?format=ndjson", app.address))
        .bearer_auth(app.token(Role::Analyst))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(masked.contains("P****"), "{masked}");
    app.get("/api/v1/exports/customers?sort=name_asc", &app.token(Role::Analyst))
        .await
        .assert_problem(422, Some("sort"));
    app.get("/api/v1/exports/customers", &app.token(Role::Partner))
        .await
        .assert_problem(403, None);
    let _ = admin;
}

on_both_databases!(
    imports_count_every_row_and_store_no_bad_one,
    orders_import_by_external_id,
    a_repeat_in_a_later_batch_names_the_first_row,
    an_export_reimports_unchanged_and_neutralises_formulas,
);
