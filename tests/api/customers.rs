//! Customers over REST: create, read, update, delete, list, validation.

use crate::access::{
    ADMIN_200, CUSTOMER_ONLY, MANAGERS_200, MANAGERS_204, OWNER_WRITERS_200, OWNER_WRITERS_201, READERS, Route,
    answers_as_the_matrix_says,
};
use crate::common::{AGENT, TestApp};
use rapport::auth::Role;
use reqwest::Method;
use serde_json::json;

async fn creating_a_customer_normalises_and_returns_it(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let reply = app
        .post(
            "/api/v1/customers",
            &admin,
            json!({
                "name": "  Ann Lee ", "email": "Ann@Example.COM", "phone": "+49 (30) 123-4567",
                "tags": [" VIP ", "vip", "Beta"], "country": "de", "external_id": "crm-1",
                "custom_attributes": {"plan": "pro"}, "birthday": "1990-05-01", "marketing_consent": true,
                "kind": "company", "company": "Acme", "lifecycle_stage": "active", "value_tier": "key"
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.id();
    assert_eq!(
        reply.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/customers/{id}").as_str())
    );
    let body = &reply.body;
    assert_eq!(body["name"], "Ann Lee");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["phone"], "+49301234567");
    assert_eq!(body["tags"], json!(["vip", "beta"]));
    assert_eq!(body["country"], "DE");
    assert_eq!(body["custom_attributes"], json!({"plan": "pro"}));
    assert!(body["marketing_consent_at"].is_string());
    assert_eq!(app.count("customer_tag").await, 2);

    let got = app.get(&format!("/api/v1/customers/{id}"), &admin).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, reply.body);
    let by_ext = app.get("/api/v1/customers/by-external-id/crm-1", &admin).await;
    assert_eq!(by_ext.body["id"], id.as_str());
}

async fn a_taken_external_id_is_a_conflict_naming_the_field(app: &TestApp) {
    app.create_customer(json!({"name": "A", "external_id": "dup"})).await;
    let reply = app
        .post(
            "/api/v1/customers",
            &app.token(Role::Admin),
            json!({"name": "B", "external_id": "dup"}),
        )
        .await;
    reply.assert_problem(409, Some("external_id"));
    assert_eq!(app.count("customer").await, 1);
}

async fn bad_customer_input_names_every_field_and_writes_nothing(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "A", "email": "not-an-email"}), "email"),
        (json!({"name": "A", "phone": "12"}), "phone"),
        (json!({"name": "A", "phone": "call me maybe"}), "phone"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "A", "birthday": "2999-01-01"}), "birthday"),
        (json!({"name": "A", "birthday": "not a date"}), "birthday"),
        (json!({"name": "A", "tags": ["ok", "  "]}), "tags[1]"),
        (json!({"name": "A", "tags": ["t".repeat(65)]}), "tags[0]"),
        (
            json!({"name": "A", "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tags",
        ),
        (json!({"name": "A", "custom_attributes": [1, 2]}), "custom_attributes"),
        (
            json!({"name": "A", "custom_attributes": {"big": "x".repeat(9000)}}),
            "custom_attributes",
        ),
        // jsonb would keep it as a decimal no reader parses back.
        (
            json!({"name": "A", "custom_attributes": {"n": [1.797_693_134_862_315_7e308]}}),
            "custom_attributes",
        ),
        (json!({"name": "A", "country": "Germany"}), "country"),
        (json!({"name": "A", "lifecycle_stage": "zombie"}), "lifecycle_stage"),
        (json!({"name": "A", "id": "00000000-0000-0000-0000-000000000000"}), "id"),
        (json!({"name": "A", "deleted_at": null}), "deleted_at"),
        (json!({"email": "a@b.co"}), "name"),
        (json!({"name": 5}), "name"),
        (
            json!({"name": "A", "preferred_language": "english please"}),
            "preferred_language",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/api/v1/customers", &admin, body.clone()).await;
        assert!(reply.status.is_client_error(), "{body} → {}", reply.status);
        reply.assert_problem(422, Some(field));
    }
    let malformed = app
        .client
        .post(format!("{}/api/v1/customers", app.address))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), 400);
    assert_eq!(app.count("customer").await, 0);
    assert_eq!(app.count("customer_tag").await, 0);
}

async fn patch_keeps_absent_fields_clears_nulls_and_rejects_bad_ones(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app
        .create_customer(json!({"name": "Ann", "email": "ann@example.com", "city": "Berlin", "tags": ["a"]}))
        .await;
    let path = format!("/api/v1/customers/{id}");
    let reply = app
        .patch(
            &path,
            &admin,
            json!({"city": null, "tags": ["b", "c"], "notes": "likes tea"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["email"], "ann@example.com");
    assert!(reply.body["city"].is_null());
    assert_eq!(reply.body["tags"], json!(["b", "c"]));
    assert_eq!(reply.body["notes"], "likes tea");

    let before = app.get(&path, &admin).await.body;
    for (body, field) in [
        (json!({"email": "nope"}), "email"),
        (json!({"name": null}), "name"),
        (json!({"tags": [""]}), "tags[0]"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"value_tier": "platinum"}), "value_tier"),
    ] {
        app.patch(&path, &admin, body).await.assert_problem(422, Some(field));
    }
    assert_eq!(
        app.get(&path, &admin).await.body,
        before,
        "a rejected patch must change nothing"
    );
    let tag_rows = app.count("customer_tag").await;
    assert_eq!(tag_rows, 2);
}

async fn deleted_customers_disappear_from_reads(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Gone", "external_id": "g-1"})).await;
    let keep = app.create_customer(json!({"name": "Kept"})).await;
    assert_eq!(app.delete(&format!("/api/v1/customers/{id}"), &admin).await.status, 204);
    app.get(&format!("/api/v1/customers/{id}"), &admin)
        .await
        .assert_problem(404, None);
    app.get("/api/v1/customers/by-external-id/g-1", &admin)
        .await
        .assert_problem(404, None);
    app.delete(&format!("/api/v1/customers/{id}"), &admin)
        .await
        .assert_problem(404, None);
    let list = app.get("/api/v1/customers", &admin).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![keep.as_str()]);
    assert_eq!(app.count("customer").await, 2, "soft delete keeps the row");
    app.get("/api/v1/customers/not-a-uuid", &admin)
        .await
        .assert_problem(404, None);
}

async fn list_filters_by_tier_stage_tag_owner_text_and_created_range(app: &TestApp) {
    let admin = app.token(Role::Admin);
    app.create_customer(json!({"name": "Alpha GmbH", "value_tier": "key", "lifecycle_stage": "active", "tags": ["vip"], "owner_id": AGENT})).await;
    app.create_customer(
        json!({"name": "Beta", "email": "boss@alpha.example", "value_tier": "important", "tags": ["vip", "beta"]}),
    )
    .await;
    app.create_customer(json!({"name": "Gamma", "company": "100% Real_Co", "lifecycle_stage": "churned"}))
        .await;
    let names = |path: String| {
        let admin = admin.clone();
        async move {
            let r = app.get(&path, &admin).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let mut n: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(names("/api/v1/customers?value_tier=key".into()).await, ["Alpha GmbH"]);
    assert_eq!(
        names("/api/v1/customers?lifecycle_stage=churned".into()).await,
        ["Gamma"]
    );
    assert_eq!(names("/api/v1/customers?tag=VIP".into()).await, ["Alpha GmbH", "Beta"]);
    assert_eq!(
        names(format!("/api/v1/customers?owner_id={AGENT}")).await,
        ["Alpha GmbH"]
    );
    assert_eq!(names("/api/v1/customers?q=ALPHA".into()).await, ["Alpha GmbH", "Beta"]);
    assert_eq!(names("/api/v1/customers?q=100%25".into()).await, ["Gamma"]);
    assert_eq!(
        names("/api/v1/customers?q=e_l".into()).await,
        Vec::<String>::new(),
        "_ is literal"
    );
    assert_eq!(
        names("/api/v1/customers?created_from=2000-01-01T00:00:00Z".into())
            .await
            .len(),
        3
    );
    assert_eq!(
        names("/api/v1/customers?created_to=2000-01-01T00:00:00Z".into())
            .await
            .len(),
        0
    );
    app.get("/api/v1/customers?value_tier=gold", &admin)
        .await
        .assert_problem(422, Some("value_tier"));
    app.get("/api/v1/customers?limit=500", &admin)
        .await
        .assert_problem(422, Some("limit"));
    app.get("/api/v1/customers?cursor=garbage", &admin)
        .await
        .assert_problem(422, Some("cursor"));
    app.get("/api/v1/customers?colour=red", &admin)
        .await
        .assert_problem(422, Some("colour"));
    app.get("/api/v1/customers?created_from=yesterday", &admin)
        .await
        .assert_problem(422, Some("created_from"));
}

async fn cursor_pages_cover_every_customer_once_in_every_sort(app: &TestApp) {
    let admin = app.token(Role::Admin);
    for i in 0..7 {
        // Two pairs share a name, so ties are broken by id.
        app.create_customer(json!({"name": format!("C{}", i / 2)})).await;
    }
    for sort in [
        "created_at_desc",
        "created_at_asc",
        "updated_at_desc",
        "updated_at_asc",
        "name_asc",
        "name_desc",
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/customers?limit=3&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get(&path, &admin).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let items = page.body["items"].as_array().unwrap();
            assert!(items.len() <= 3);
            seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 7, "{sort}: {seen:?}");
        assert_eq!(seen.len(), 7, "{sort}: duplicates in {seen:?}");
    }
    let by_name = app.get("/api/v1/customers?sort=name_asc&limit=200", &admin).await;
    let names: Vec<&str> = by_name.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C0", "C0", "C1", "C1", "C2", "C2", "C3"]);
}

async fn analysts_see_personal_data_masked(app: &TestApp) {
    let id = app
        .create_customer(
            json!({"name": "Ann Lee", "email": "ann@example.com", "phone": "+49301234567", "birthday": "1990-01-02"}),
        )
        .await;
    let reply = app
        .get(&format!("/api/v1/customers/{id}"), &app.token(Role::Analyst))
        .await;
    assert_eq!(reply.body["name"], "A** L**");
    assert_eq!(reply.body["email"], "a***@example.com");
    assert_eq!(reply.body["phone"], "**********67");
    assert!(reply.body["birthday"].is_null());
    let list = app.get("/api/v1/customers", &app.token(Role::Analyst)).await;
    assert_eq!(list.body["items"][0]["email"], "a***@example.com");
}

async fn agents_own_what_they_create_and_cannot_assign(app: &TestApp) {
    let agent = app.token(Role::Agent);
    let reply = app.post("/api/v1/customers", &agent, json!({"name": "Mine"})).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["owner_id"], AGENT);
    let id = reply.id();
    app.post(
        "/api/v1/customers",
        &agent,
        json!({"name": "Theirs", "owner_id": "someone-else"}),
    )
    .await
    .assert_problem(403, None);
    app.patch(
        &format!("/api/v1/customers/{id}"),
        &agent,
        json!({"owner_id": "someone-else"}),
    )
    .await
    .assert_problem(403, None);
    let reassigned = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &app.token(Role::Manager),
            json!({"owner_id": "agent-2"}),
        )
        .await;
    assert_eq!(reassigned.body["owner_id"], "agent-2");
    app.patch(&format!("/api/v1/customers/{id}"), &agent, json!({"notes": "x"}))
        .await
        .assert_problem(403, None);
}

async fn customers_read_and_update_only_themselves_through_me(app: &TestApp) {
    let id = app
        .create_customer(json!({"name": "Ann", "email": "ann@example.com", "notes": "internal"}))
        .await;
    let other = app.create_customer(json!({"name": "Bob"})).await;
    let me = app.customer_token(&id);
    let reply = app.get("/api/v1/me", &me).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["id"], id.as_str());
    assert!(
        reply.body.get("notes").is_none(),
        "internal notes are not shown to the customer"
    );
    let updated = app
        .patch(
            "/api/v1/me",
            &me,
            json!({"phone": "+15551234567", "marketing_consent": true}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["phone"], "+15551234567");
    app.patch("/api/v1/me", &me, json!({"owner_id": "me"}))
        .await
        .assert_problem(422, Some("owner_id"));
    app.patch("/api/v1/me", &me, json!({"value_tier": "key"}))
        .await
        .assert_problem(422, Some("value_tier"));
    app.patch("/api/v1/me", &me, json!({"email": "bad"}))
        .await
        .assert_problem(422, Some("email"));
    app.get(&format!("/api/v1/customers/{other}"), &me)
        .await
        .assert_problem(403, None);
    let gone = app.customer_token(&uuid::Uuid::now_v7().to_string());
    app.get("/api/v1/me", &gone).await.assert_problem(404, None);
}

async fn unknown_routes_and_probes_answer_as_documented(app: &TestApp) {
    let reply = app.request(reqwest::Method::GET, "/nope", None, None).await;
    reply.assert_problem(404, None);
    let health = app.request(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200);
    assert!(health.headers.contains_key("x-request-id"));
    assert_eq!(
        app.request(reqwest::Method::GET, "/readyz", None, None).await.status,
        200
    );
    let doc = app.request(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert!(doc.body["paths"]["/api/v1/customers"].is_object());
    let docs = app
        .client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    let ide = app
        .client
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .expect("ide");
    assert!(ide.text().await.unwrap_or_default().contains("graphiql"));
    let problem = app.get("/api/v1/customers/not-a-uuid", &app.token(Role::Admin)).await;
    assert_eq!(
        problem.body["request_id"].as_str(),
        problem.headers.get("x-request-id").and_then(|v| v.to_str().ok())
    );
}

/// The role matrix of customer records and the signed-in customer.
fn routes() -> Vec<Route> {
    vec![
        (
            Method::POST,
            "/api/v1/customers",
            Some(json!({"name": "New"})),
            OWNER_WRITERS_201,
        ),
        (Method::GET, "/api/v1/customers", None, READERS),
        (Method::GET, "/api/v1/customers/{owned}", None, READERS),
        (
            Method::GET,
            "/api/v1/customers/by-external-id/{owned_ext}",
            None,
            READERS,
        ),
        (
            Method::PATCH,
            "/api/v1/customers/{owned}",
            Some(json!({"notes": "n"})),
            OWNER_WRITERS_200,
        ),
        (Method::DELETE, "/api/v1/customers/{owned}", None, MANAGERS_204),
        (Method::GET, "/api/v1/customers/{owned}/overview", None, READERS),
        (Method::GET, "/api/v1/customers/{owned}/export", None, MANAGERS_200),
        (
            Method::POST,
            "/api/v1/customers/{owned}/erase",
            Some(json!({})),
            ADMIN_200,
        ),
        (Method::GET, "/api/v1/customers/{owned}/timeline", None, READERS),
        (Method::GET, "/api/v1/me", None, CUSTOMER_ONLY),
        (
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"preferred_language": "en"})),
            CUSTOMER_ONLY,
        ),
    ]
}

async fn every_customers_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

on_both_databases!(
    every_customers_route_answers_each_role_as_the_matrix_says,
    creating_a_customer_normalises_and_returns_it,
    a_taken_external_id_is_a_conflict_naming_the_field,
    bad_customer_input_names_every_field_and_writes_nothing,
    patch_keeps_absent_fields_clears_nulls_and_rejects_bad_ones,
    deleted_customers_disappear_from_reads,
    list_filters_by_tier_stage_tag_owner_text_and_created_range,
    cursor_pages_cover_every_customer_once_in_every_sort,
    analysts_see_personal_data_masked,
    agents_own_what_they_create_and_cannot_assign,
    customers_read_and_update_only_themselves_through_me,
    unknown_routes_and_probes_answer_as_documented,
);
