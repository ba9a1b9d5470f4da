//! What an attacker and a strict client try: deep and huge payloads, NUL
//! characters, giant amounts, role checks before validation, arrays for
//! objects, JWT edge cases, GraphQL limits, unknown methods, late SLA marks.

use crate::common::{SECRET, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rapport::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

fn deep_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

async fn alive(app: &TestApp) {
    let reply = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(reply.status, 200, "the server must still answer");
}

async fn deep_payloads_never_take_the_server_down(app: &TestApp) {
    const DEPTH: usize = 100_000;
    let admin = app.token(Role::Admin);
    for token in [None, Some(admin.as_str())] {
        for nested in [deep_list(DEPTH), deep_object(DEPTH)] {
            // REST: the JSON reader's own recursion limit.
            let body = format!("{{\"name\": \"Deep\", \"custom_attributes\": {nested}}}");
            let reply = app
                .raw(
                    Method::POST,
                    "/api/v1/customers",
                    token,
                    Some(("application/json", body.into_bytes())),
                )
                .await;
            let expected = if token.is_some() { 400 } else { 401 };
            reply.assert_problem(expected, None);

            // GraphQL: the nesting scan runs before the parser, token or not.
            let query = format!("{{ me(x: {}) {{ id }} }}", nested.replace("\"a\":", "a:"));
            let body = serde_json::to_vec(&json!({ "query": query })).expect("json");
            let reply = app
                .raw(Method::POST, "/graphql", token, Some(("application/json", body)))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(
                reply.body["errors"][0]["extensions"]["code"], "query_too_nested",
                "{}",
                reply.body
            );

            // GraphQL variables are JSON: the same reader limit, as a problem.
            let body = format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"v\": {nested}}}}}");
            let reply = app
                .raw(
                    Method::POST,
                    "/graphql",
                    token,
                    Some(("application/json", body.into_bytes())),
                )
                .await;
            reply.assert_problem(400, None);
            alive(app).await;
        }
    }
    // A directive argument nests too.
    let query = format!("{{ __typename @include(if: {}) }}", deep_list(5_000));
    let reply = app.graphql(None, &query, json!({})).await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_nested", "{reply}");
    alive(app).await;
}

async fn bodies_over_the_cap_are_413_on_every_route(app: &TestApp) {
    let big = vec![b' '; rapport::config::DEFAULT_MAX_BODY_BYTES + 1];
    for (path, token) in [
        ("/graphql", None),
        ("/api/v1/customers", None),
        ("/api/v1/customers", Some(app.token(Role::Admin))),
        ("/healthz", None),
    ] {
        let reply = app
            .raw(
                Method::POST,
                path,
                token.as_deref(),
                Some(("application/json", big.clone())),
            )
            .await;
        reply.assert_problem(413, None);
    }
    // Not JSON, and not a GraphQL request object, are problems too.
    let reply = app
        .raw(
            Method::POST,
            "/graphql",
            None,
            Some(("application/json", b"{not json".to_vec())),
        )
        .await;
    reply.assert_problem(400, None);
    let reply = app
        .raw(
            Method::POST,
            "/graphql",
            None,
            Some(("application/json", b"[]".to_vec())),
        )
        .await;
    reply.assert_problem(400, None);
    alive(app).await;
}

async fn nul_characters_are_a_422_naming_the_field_on_both_databases(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let customer = app
        .create_customer(json!({"name": "Nul Test", "external_id": "nul-1"}))
        .await;
    let customers_before = app.count("customer").await;
    for (path, field) in [
        ("/api/v1/customers?q=a%00b", "q"),
        ("/api/v1/customers?tag=a%00b", "tag"),
        ("/api/v1/customers?owner_id=a%00b", "owner_id"),
        ("/api/v1/feedback?assignee_id=a%00b", "assignee_id"),
        ("/api/v1/customers/by-external-id/a%00b", "external_id"),
        ("/api/v1/staff/a%00b", "id"),
    ] {
        app.get(path, &admin).await.assert_problem(422, Some(field));
    }
    let posts = [
        (
            "/api/v1/customers",
            json!({"name": "X", "custom_attributes": {"k\u{0}": 1}}),
            "custom_attributes.k\\u0000",
        ),
        (
            "/api/v1/customers",
            json!({"name": "X", "custom_attributes": {"k": "v\u{0}"}}),
            "custom_attributes.k",
        ),
        (
            "/api/v1/segments/preview",
            json!({"rule": {"field": "tags", "op": "has_all", "value": ["a\u{0}"]}}),
            "rule.value[0]",
        ),
        (
            "/api/v1/orders",
            json!({"customer_external_id": "a\u{0}b", "amount_minor": 100, "currency": "EUR"}),
            "customer_external_id",
        ),
    ];
    for (path, body, field) in posts {
        app.post(path, &admin, body).await.assert_problem(422, Some(field));
    }
    let segment = app
        .post(
            "/api/v1/segments",
            &admin,
            json!({"name": "Static nul", "kind": "static"}),
        )
        .await
        .id();
    app.post(
        &format!("/api/v1/segments/{segment}/members"),
        &admin,
        json!({"external_ids": ["a\u{0}"]}),
    )
    .await
    .assert_problem(422, Some("external_ids[0]"));
    let mut rules = app.get("/api/v1/settings/feedback-classification", &admin).await.body;
    rules["urgent_keywords"] = json!(["fire\u{0}"]);
    app.put("/api/v1/settings/feedback-classification", &admin, rules)
        .await
        .assert_problem(422, Some("urgent_keywords[0]"));
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        &admin,
        json!({"notes": "x\u{0}"}),
    )
    .await
    .assert_problem(422, Some("notes"));
    assert_eq!(app.count("customer").await, customers_before, "nothing written");

    for query in [
        "{ customers(filter: {q: \"a\\u0000b\"}) { edges { node { id } } } }",
        "{ customerByExternalId(externalId: \"a\\u0000b\") { id } }",
    ] {
        let reply = app.graphql(Some(&admin), query, json!({})).await;
        assert_eq!(reply["errors"][0]["extensions"]["code"], "validation_failed", "{reply}");
    }
    let reply = app
        .graphql(
            Some(&admin),
            "query($q: String) { customers(filter: {q: $q}) { edges { node { id } } } }",
            json!({"q": "a\u{0}b"}),
        )
        .await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "validation_failed", "{reply}");
    assert_eq!(
        reply["errors"][0]["extensions"]["errors"][0]["path"], "variables.q",
        "{reply}"
    );
}

async fn amounts_are_bounded_and_sums_never_overflow(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Whale"})).await;
    let max = rapport::domain::parse::MAX_AMOUNT_MINOR;
    app.post(
        "/api/v1/orders",
        &admin,
        json!({"customer_id": id, "amount_minor": max + 1, "currency": "EUR"}),
    )
    .await
    .assert_problem(422, Some("amount_minor"));
    for currency in ["EUR", "EUR", "EUR", "USD", "USD"] {
        let reply = app
            .post(
                "/api/v1/orders",
                &admin,
                json!({"customer_id": id, "amount_minor": max, "currency": currency}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // A schema-valid integer written with a zero fraction is that integer.
    let reply = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": id, "amount_minor": 6.0, "currency": "EUR"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let overview = app.get(&format!("/api/v1/customers/{id}/overview"), &admin).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let spend = &overview.body["orders"]["total_spend"];
    assert_eq!(
        spend[0],
        json!({"currency": "EUR", "amount_minor": 3 * max + 6}),
        "{spend}"
    );
    assert_eq!(spend[1], json!({"currency": "USD", "amount_minor": 2 * max}), "{spend}");
    let recompute = app.post("/api/v1/analytics/rfm/recompute", &admin, json!({})).await;
    assert_eq!(recompute.status, 200, "{}", recompute.body);
    let rfm = app.get("/api/v1/analytics/rfm", &admin).await;
    assert_eq!(rfm.status, 200, "{}", rfm.body);
    let reply = app
        .graphql(Some(&admin), "{ rfmDistribution { customers } }", json!({}))
        .await;
    assert_eq!(reply["data"]["rfmDistribution"]["customers"], 1, "{reply}");
}

async fn roles_are_decided_before_the_body_is_read(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Real"})).await;
    let contact = app
        .post(
            &format!("/api/v1/customers/{id}/contacts"),
            &admin,
            json!({"name": "Pat"}),
        )
        .await
        .id();
    let customer = app.customer_token(&id);
    let analyst = app.token(Role::Analyst);
    let garbage = json!({"amount_minor": "lots", "nonsense": [1]});
    for (method, path, token) in [
        (Method::POST, "/api/v1/orders".to_owned(), &customer),
        (Method::PUT, "/api/v1/settings/sla-policies".to_owned(), &customer),
        (Method::PUT, "/api/v1/settings/business-calendar".to_owned(), &customer),
        (Method::POST, "/api/v1/orders".to_owned(), &analyst),
        (Method::PATCH, format!("/api/v1/customers/{id}"), &customer),
        (
            Method::PATCH,
            format!("/api/v1/customers/{}", uuid::Uuid::now_v7()),
            &customer,
        ),
        (Method::DELETE, format!("/api/v1/contacts/{contact}"), &customer),
        (
            Method::DELETE,
            format!("/api/v1/contacts/{}", uuid::Uuid::now_v7()),
            &customer,
        ),
    ] {
        let reply = app
            .request(method.clone(), &path, Some(token), Some(garbage.clone()))
            .await;
        reply.assert_problem(403, None);
    }
    let nul = json!({"customer_id": id, "amount_minor": 1, "currency": "E\u{0}"});
    app.post("/api/v1/orders", &analyst, nul)
        .await
        .assert_problem(403, None);
    // No token at all is still a 401 first.
    let reply = app.request(Method::POST, "/api/v1/orders", None, Some(garbage)).await;
    reply.assert_problem(401, None);
}

async fn only_json_objects_are_read_as_objects(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Arr"})).await;
    let contact = app
        .post(
            &format!("/api/v1/customers/{id}/contacts"),
            &admin,
            json!({"name": "Pat"}),
        )
        .await
        .id();
    app.patch(&format!("/api/v1/contacts/{contact}"), &admin, json!(["Renamed"]))
        .await
        .assert_problem(422, Some("body"));
    let reply = app.get(&format!("/api/v1/contacts/{contact}"), &admin).await;
    assert_eq!(reply.body["name"], "Pat");
    app.patch("/api/v1/me", &app.customer_token(&id), json!([]))
        .await
        .assert_problem(422, Some("body"));
    // A wrong enum value names its field instead of quoting a JSON position.
    app.post("/api/v1/customers", &admin, json!({"name": "E", "kind": "robot"}))
        .await
        .assert_problem(422, Some("kind"));
}

fn sign(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

async fn tokens_not_yet_valid_from_the_future_or_without_subject_are_refused(app: &TestApp) {
    let now = chrono::Utc::now().timestamp();
    let base =
        json!({"sub": "admin", "role": "admin", "iss": "rapport", "aud": "rapport-api", "iat": now, "exp": now + 600});
    let with = |patch: Value| {
        let mut c = base.clone();
        for (k, v) in patch.as_object().expect("object") {
            c[k] = v.clone();
        }
        sign(c)
    };
    let ok = app.get("/api/v1/customers", &with(json!({}))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for (what, token) in [
        ("nbf an hour ahead", with(json!({"nbf": now + 3600}))),
        ("iat a day ahead", with(json!({"iat": now + 86_400}))),
        ("empty sub", with(json!({"sub": ""}))),
        ("blank sub", with(json!({"sub": "   "}))),
    ] {
        let reply = app.get("/api/v1/customers", &token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    }
}

async fn graphql_limits_hold_and_every_error_has_a_code(app: &TestApp) {
    let partner = app.token(Role::Partner);
    let reports = (0..5)
        .map(|i| format!("r{i}: feedbackReport {{ items }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let reply = app
        .graphql(Some(&partner), &format!("{{ {reports} }}"), json!({}))
        .await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_complex", "{reply}");
    let admin = app.token(Role::Admin);
    let reply = app
        .graphql(
            Some(&admin),
            "mutation { a: recomputeRfm { customersScored } b: recomputeRfm { customersScored } }",
            json!({}),
        )
        .await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_complex", "{reply}");
    assert!(reply["data"].is_null(), "nothing ran: {reply}");

    // List sizes weigh as held to their bounds: a negative size neither wraps
    // to a huge weight nor slips under the limit, a huge one does not overflow.
    let reply = app
        .graphql(
            Some(&admin),
            "{ customers(first: 2147483647) { edges { node { orders(limit: 2147483647) { id } \
             interactions(limit: -2147483648) { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_complex", "{reply}");
    let reply = app
        .graphql(
            Some(&admin),
            "{ customers(first: -1) { edges { node { orders(limit: -5) { id } } } } }",
            json!({}),
        )
        .await;
    assert!(reply["errors"][0]["extensions"]["code"].is_string(), "{reply}");
    assert_ne!(reply["errors"][0]["extensions"]["code"], "internal", "{reply}");

    // Introspection: staff only; the standard query works for them.
    let introspection = "{ __schema { queryType { name } types { name fields { name type { ...T } } } } }
        fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let reply = app.graphql(Some(&admin), introspection, json!({})).await;
    assert_eq!(reply["data"]["__schema"]["queryType"]["name"], "QueryRoot", "{reply}");
    let id = app.create_customer(json!({"name": "Intro"})).await;
    for token in [None, Some(app.customer_token(&id))] {
        let reply = app.graphql(token.as_deref(), introspection, json!({})).await;
        assert_eq!(reply["errors"][0]["extensions"]["code"], "forbidden", "{reply}");
        let reply = app
            .graphql(token.as_deref(), "{ __type(name: \"Customer\") { name } }", json!({}))
            .await;
        assert_eq!(reply["errors"][0]["extensions"]["code"], "forbidden", "{reply}");
    }

    // No suggestions, and codes on parse and validation errors.
    let reply = app
        .graphql(Some(&admin), "{ custmers { edges { node { id } } } }", json!({}))
        .await;
    let message = reply["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean"), "{reply}");
    assert_eq!(
        reply["errors"][0]["extensions"]["code"], "graphql_validation_failed",
        "{reply}"
    );
    let reply = app.graphql(None, "{ customers(", json!({})).await;
    assert_eq!(
        reply["errors"][0]["extensions"]["code"], "graphql_parse_failed",
        "{reply}"
    );
    let reply = app
        .graphql(Some(&admin), "{ customer(id: \"nope\") { id } }", json!({}))
        .await;
    for err in reply["errors"].as_array().into_iter().flatten() {
        assert!(err["extensions"]["code"].is_string(), "{reply}");
    }
}

async fn unknown_methods_are_405_with_allow(app: &TestApp) {
    for (method, path, allow) in [
        (Method::PUT, "/readyz", "GET"),
        (Method::TRACE, "/healthz", "GET"),
        (Method::DELETE, "/api/v1/orders", "GET, POST"),
        (Method::GET, "/api/v1/segments/preview", "POST"),
    ] {
        let reply = app.request(method.clone(), path, None, None).await;
        reply.assert_problem(405, None);
        assert_eq!(reply.headers["allow"], allow, "{method} {path}");
    }
    let reply = app.request(Method::GET, "/api/v1/nothing-here", None, None).await;
    reply.assert_problem(404, None);
}

/// Sends raw bytes on a fresh connection and reads the whole answer.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), body)
}

/// The answers the HTTP layer gives before any handler runs carry a
/// problem+json body like every other error.
async fn oversized_and_malformed_requests_get_problem_bodies(app: &TestApp) {
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}\r\n");
    for (request, status, code) in [
        (huge.as_bytes(), 431, "headers_too_large"),
        (many.as_bytes(), 431, "headers_too_large"),
        (&b"NOT HTTP AT ALL\r\n\r\n"[..], 400, "malformed_request"),
    ] {
        let (got, head, body) = raw_exchange(app, request).await;
        assert_eq!(got, status, "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
    // An ordinary exchange on the same kind of connection is untouched.
    let (got, _, body) = raw_exchange(app, b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert_eq!(got, 200, "{body}");
}

async fn an_answer_after_the_due_instant_is_a_breach_recorded_once(app: &TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let admin = app.token(Role::Admin);
    let id = app.create_customer(json!({"name": "Late"})).await;
    let item = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": id, "channel": "email", "kind": "complaint", "subject": "Late",
                   "body": "Nobody answered", "severity": "urgent"}),
        )
        .await;
    let fid = item.id();
    // The first-response clock ran out an hour ago, and no sweep has run since.
    let due = chrono::Utc::now() - chrono::Duration::hours(1);
    let backend = app.db.get_database_backend();
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        sea_orm::DbBackend::Postgres => (
            "UPDATE feedback_item SET response_due_at = $1, response_warn_at = $1 WHERE id = $2",
            vec![due.into(), uuid::Uuid::parse_str(&fid).expect("uuid").into()],
        ),
        _ => (
            "UPDATE feedback_item SET response_due_at = ?, response_warn_at = ? WHERE id = ?",
            vec![
                due.into(),
                due.into(),
                uuid::Uuid::parse_str(&fid).expect("uuid").into(),
            ],
        ),
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("move the due instant");
    let ack = app
        .post(
            &format!("/api/v1/feedback/{fid}/transitions"),
            &admin,
            json!({"to": "acknowledged"}),
        )
        .await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    let breached_at = ack.body["first_response"]["breached_at"].as_str().expect("breached");
    let breached_at = chrono::DateTime::parse_from_rfc3339(breached_at).expect("time");
    assert!(
        (breached_at.timestamp_micros() - due.timestamp_micros()).abs() < 1_000,
        "{breached_at} vs {due}"
    );
    let events = app.get(&format!("/api/v1/feedback/{fid}/events"), &admin).await;
    let breaches = events.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == "sla_breach")
        .count();
    assert_eq!(breaches, 1, "{}", events.body);
    let report = app.get("/api/v1/analytics/feedback", &admin).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let all = &report.body["timings"][0]["first_response"];
    assert_eq!(
        all["attainment_percent"],
        json!(0.0),
        "a late answer is not met: {}",
        report.body
    );
}

async fn set_clocks(
    app: &TestApp,
    id: &str,
    response_due: chrono::DateTime<chrono::Utc>,
    resolution_due: chrono::DateTime<chrono::Utc>,
) {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    let warn = |due: chrono::DateTime<chrono::Utc>| due - chrono::Duration::milliseconds(500);
    let sql = "UPDATE feedback_item SET response_warn_at = $1, response_due_at = $2, \
               resolution_warn_at = $3, resolution_due_at = $4 WHERE id = $5";
    let sql = if backend == sea_orm::DbBackend::Postgres {
        sql.to_owned()
    } else {
        sql.replace('$', "?")
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            [
                warn(response_due).into(),
                response_due.into(),
                warn(resolution_due).into(),
                resolution_due.into(),
                id.into(),
            ],
        ))
        .await
        .expect("set clocks");
}

fn time(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    v.as_str()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).expect("time").to_utc())
}

/// Transitions race a sweeper that runs every second: neither may lose the
/// other's write. Every item ends with every move recorded, each mark at most
/// once and matching its clock field, and each clock stopped when it was.
async fn race(backend: crate::common::Backend) {
    let app = TestApp::spawn_with(backend, |s| s.jobs.sla_sweep_interval_secs = 1).await;
    let admin = app.token(Role::Admin);
    let customer = app.create_customer(json!({"name": "Racer"})).await;
    let mut ids = Vec::new();
    for i in 0..12i64 {
        let id = app
            .post(
                "/api/v1/feedback",
                &admin,
                json!({"customer_id": customer, "channel": "email", "kind": "complaint",
                       "subject": format!("Race {i}"), "body": "Racing", "severity": "urgent"}),
            )
            .await
            .id();
        ids.push(id);
    }
    // Due instants fall among the moves: some clocks stop in time, some late,
    // some are swept while running.
    let start = chrono::Utc::now();
    let mut items = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let i = i as i64;
        let response_due = start + chrono::Duration::milliseconds(300 + 120 * i);
        let resolution_due = start + chrono::Duration::milliseconds(1_000 + 200 * i);
        set_clocks(&app, &id, response_due, resolution_due).await;
        items.push((id, response_due, resolution_due));
    }
    let path = [
        "acknowledged",
        "in_progress",
        "waiting_customer",
        "in_progress",
        "resolved",
    ];
    let mut runs = Vec::new();
    for (n, (id, _, _)) in items.iter().enumerate() {
        let (client, address, token, id) = (app.client.clone(), app.address.clone(), admin.clone(), id.clone());
        runs.push(tokio::spawn(async move {
            for (step, to) in path.iter().enumerate() {
                let pause = 200 * ((n + step) % 5) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                let res = client
                    .post(format!("{address}/api/v1/feedback/{id}/transitions"))
                    .bearer_auth(&token)
                    .json(&json!({"to": to}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), 200, "{to}: {}", res.text().await.unwrap_or_default());
            }
        }));
    }
    for run in runs {
        run.await.expect("run");
    }
    // Let the sweeper look at everything once more.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let mut marked = 0;
    for (id, response_due, resolution_due) in &items {
        marked += check_raced_item(&app, &admin, id, *response_due, *resolution_due, &path).await;
    }
    assert!(marked > 0, "the sweeper marked clocks while items moved");
    app.cleanup().await;
}

/// Checks one raced item: resolved, every move recorded once, each SLA mark
/// at most once and matching its clock, each clock stopped when it was.
/// Returns how many marks the sweeper made on it.
async fn check_raced_item(
    app: &TestApp,
    admin: &str,
    id: &str,
    response_due: chrono::DateTime<chrono::Utc>,
    resolution_due: chrono::DateTime<chrono::Utc>,
    path: &[&str],
) -> usize {
    let mut marked = 0;
    let item = app.get(&format!("/api/v1/feedback/{id}"), admin).await.body;
    assert_eq!(item["status"], "resolved", "{item}");
    let events = app
        .get(&format!("/api/v1/feedback/{id}/events?limit=200"), admin)
        .await
        .body;
    let events = events["items"].as_array().expect("items").clone();
    let moves: Vec<&Value> = events.iter().filter(|e| e["kind"] == "status_changed").collect();
    let mut tos: Vec<&str> = moves.iter().filter_map(|e| e["to_value"].as_str()).collect();
    if tos.first() == Some(&"new") {
        tos.remove(0);
    }
    assert_eq!(tos, path, "every move recorded once: {events:?}");
    let moved_at = |to: &str| {
        moves
            .iter()
            .filter(|e| e["to_value"] == to)
            .filter_map(|e| time(&e["created_at"]))
            .min()
            .expect("move time")
    };
    for (clock, due, stopped) in [
        ("first_response", response_due, moved_at("acknowledged")),
        ("resolution", resolution_due, moved_at("waiting_customer")),
    ] {
        let view = &item[clock];
        let marks = |kind: &str| {
            events
                .iter()
                .filter(|e| e["kind"] == kind && e["to_value"] == clock)
                .count()
        };
        assert!(
            marks("sla_breach") <= 1 && marks("sla_warning") <= 1,
            "{clock}: {events:?}"
        );
        marked += marks("sla_breach") + marks("sla_warning");
        assert_eq!(
            marks("sla_breach") == 1,
            view["breached_at"].is_string(),
            "{clock}: {item} {events:?}"
        );
        assert_eq!(
            marks("sla_warning") == 1,
            view["warned_at"].is_string(),
            "{clock}: {item} {events:?}"
        );
        if stopped >= due {
            let breached = time(&view["breached_at"]).expect("a clock stopped late is breached");
            assert!(
                (breached - due).num_milliseconds().abs() <= 1,
                "{clock}: breached at the due instant"
            );
        } else if clock == "first_response" {
            assert!(view["breached_at"].is_null(), "{clock} met in time: {item}");
        }
    }
    assert_eq!(
        time(&item["first_response"]["met_at"]),
        Some(moved_at("acknowledged")),
        "{item}"
    );
    assert_eq!(
        time(&item["resolution"]["met_at"]),
        Some(moved_at("resolved")),
        "{item}"
    );
    marked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_transitions_race_a_one_second_sweeper() {
    race(crate::common::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transitions_race_a_one_second_sweeper() {
    race(crate::common::Backend::Sqlite).await;
}

on_both_databases!(
    deep_payloads_never_take_the_server_down,
    bodies_over_the_cap_are_413_on_every_route,
    nul_characters_are_a_422_naming_the_field_on_both_databases,
    amounts_are_bounded_and_sums_never_overflow,
    roles_are_decided_before_the_body_is_read,
    only_json_objects_are_read_as_objects,
    tokens_not_yet_valid_from_the_future_or_without_subject_are_refused,
    graphql_limits_hold_and_every_error_has_a_code,
    unknown_methods_are_405_with_allow,
    an_answer_after_the_due_instant_is_a_breach_recorded_once,
    graphql_money_is_a_64_bit_string_scalar,
    personal_data_stays_out_of_reports_and_masked_fields_cannot_be_probed,
    what_the_document_admits_is_accepted_and_what_it_refuses_is_refused,
    oversized_and_malformed_requests_get_problem_bodies,
);

async fn graphql_money_is_a_64_bit_string_scalar(app: &TestApp) {
    let admin = app.token(Role::Admin);
    app.create_customer(json!({"name": "Big", "external_id": "big-1"}))
        .await;
    let reply = app
        .graphql(
            Some(&admin),
            "mutation { recordOrder(input: {customerExternalId: \"big-1\", amountMinor: \"5000000000\", currency: \"EUR\"}) { amountMinor } }",
            json!({}),
        )
        .await;
    assert_eq!(reply["data"]["recordOrder"]["amountMinor"], "5000000000", "{reply}");
    let reply = app
        .graphql(
            Some(&admin),
            "query($ext: String!) { customerByExternalId(externalId: $ext) { orderSummary { totalSpend { amountMinor } } } }",
            json!({"ext": "big-1"}),
        )
        .await;
    assert_eq!(
        reply["data"]["customerByExternalId"]["orderSummary"]["totalSpend"][0]["amountMinor"], "5000000000",
        "{reply}"
    );
    assert!(
        app.graphql(Some(&admin), "{ __type(name: \"MinorUnits\") { kind } }", json!({}))
            .await["data"]["__type"]["kind"]
            == "SCALAR"
    );
}

async fn personal_data_stays_out_of_reports_and_masked_fields_cannot_be_probed(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let id = app
        .create_customer(json!({"name": "Zacharias Quimby", "email": "zacharias.quimby@example.com"}))
        .await;
    let item = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": id, "channel": "email", "kind": "complaint",
                   "subject": "Refund for order 88812345",
                   "body": "Zacharias Quimby here: the parcel arrived broken. Call 555-123-4567 or \
                            5551234567, or mail zacharias.quimby@example.com, see https://example.com/x"}),
        )
        .await;
    assert_eq!(item.status, 201, "{}", item.body);
    let fid = item.id();
    app.post(
        &format!("/api/v1/feedback/{fid}/comments"),
        &admin,
        json!({"body": "Called back on +49 30 1234567, wrote to zacharias.quimby@example.com"}),
    )
    .await;
    for role in [Role::Partner, Role::Analyst, Role::Admin] {
        let report = app.get("/api/v1/analytics/feedback", &app.token(role)).await;
        assert_eq!(report.status, 200, "{}", report.body);
        for k in report.body["top_keywords"].as_array().expect("keywords") {
            let k = k["keyword"].as_str().unwrap_or_default();
            assert!(
                !k.contains("zacharias") && !k.contains("quimby") && !k.chars().any(|c| c.is_ascii_digit()),
                "{role}: personal data as a keyword: {k}"
            );
        }
        let reply = app
            .graphql(
                Some(&app.token(role)),
                "{ feedbackReport { topKeywords { keyword } } }",
                json!({}),
            )
            .await;
        let text = reply.to_string();
        assert!(
            !text.contains("zacharias") && !text.contains("5551234567"),
            "{role}: {text}"
        );
    }
    let analyst = app.token(Role::Analyst);
    let seen = app
        .get(&format!("/api/v1/feedback/{fid}"), &analyst)
        .await
        .body
        .to_string();
    assert!(
        !seen.contains("zacharias.quimby@") && !seen.contains("4567"),
        "analyst sees: {seen}"
    );
    assert!(seen.contains("z***@example.com"), "{seen}");
    let events = app
        .get(&format!("/api/v1/feedback/{fid}/events"), &analyst)
        .await
        .body
        .to_string();
    assert!(
        !events.contains("1234567") && !events.contains("zacharias.quimby@"),
        "{events}"
    );
    let timeline = app
        .get(&format!("/api/v1/customers/{id}/timeline"), &analyst)
        .await
        .body
        .to_string();
    assert!(
        !timeline.contains("1234567") && !timeline.contains("zacharias.quimby@"),
        "{timeline}"
    );

    // Masked fields can be neither searched nor sorted by.
    let found = app.get("/api/v1/customers?q=zacharias", &admin).await;
    assert_eq!(found.body["items"].as_array().map(Vec::len), Some(1), "{}", found.body);
    let probed = app.get("/api/v1/customers?q=zacharias", &analyst).await;
    assert_eq!(probed.body["items"], json!([]), "a masked name cannot be confirmed");
    let probed = app.get("/api/v1/customers?q=quimby%40example", &analyst).await;
    assert_eq!(probed.body["items"], json!([]), "a masked e-mail cannot be confirmed");
    for sort in ["name_asc", "name_desc"] {
        app.get(&format!("/api/v1/customers?sort={sort}"), &analyst)
            .await
            .assert_problem(422, Some("sort"));
    }
    let reply = app
        .graphql(
            Some(&analyst),
            "{ customers(sort: NAME_ASC) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "validation_failed", "{reply}");
}

/// The edges where the document and the parsers once disagreed: lengths are
/// counted as sent, an optional body may be `null`, a number outside 64 bits
/// is not an integer, keywords obey the tag rules, a static segment's rule is
/// a conflict with its kind.
async fn what_the_document_admits_is_accepted_and_what_it_refuses_is_refused(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/analytics/rfm/recompute",
            Some(&admin),
            Some(("application/json", b"null".to_vec())),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // 64 characters that lower-case into 128 are still a 64-character tag;
    // 60 characters and 10 blanks are 70 as sent.
    let long = "\u{130}".repeat(64);
    let created = app
        .post("/api/v1/customers", &admin, json!({"name": "T", "tags": [long]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let padded = format!("{}{}", "t".repeat(60), " ".repeat(10));
    app.post("/api/v1/customers", &admin, json!({"name": "T", "tags": [padded]}))
        .await
        .assert_problem(422, Some("tags[0]"));

    let classification = app.get("/api/v1/settings/feedback-classification", &admin).await.body;
    let mut bad = classification.clone();
    bad["urgent_keywords"] = json!(["two\nwords"]);
    app.put("/api/v1/settings/feedback-classification", &admin, bad)
        .await
        .assert_problem(422, Some("urgent_keywords[0]"));
    let mut upper = classification;
    upper["urgent_keywords"] = json!([" Outage "]);
    let saved = app.put("/api/v1/settings/feedback-classification", &admin, upper).await;
    assert_eq!(saved.body["urgent_keywords"], json!(["outage"]), "{}", saved.body);

    let rule = r#"{"rule": {"field": "order_count", "op": "in", "value": [-9223372036854775809]}}"#;
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/segments/preview",
            Some(&admin),
            Some(("application/json", rule.as_bytes().to_vec())),
        )
        .await;
    reply.assert_problem(422, Some("rule.value[0]"));

    let segment = app
        .post("/api/v1/segments", &admin, json!({"name": "By hand", "kind": "static"}))
        .await
        .id();
    app.patch(
        &format!("/api/v1/segments/{segment}"),
        &admin,
        json!({"rule": {"field": "tier", "op": "eq", "value": "key"}}),
    )
    .await
    .assert_problem(409, Some("rule"));
}
