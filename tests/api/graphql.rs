//! GraphQL: the same service layer through the other door.

use crate::common::{AGENT, TestApp};
use rapport::auth::Role;
use serde_json::{Value, json};

fn code(reply: &Value) -> Option<&str> {
    reply["errors"][0]["extensions"]["code"].as_str()
}

async fn a_page_of_customers_with_relations_costs_a_fixed_number_of_statements(app: &TestApp) {
    let admin = app.token(Role::Admin);
    for i in 0..50 {
        let id = app.create_customer(json!({"name": format!("Customer {i}")})).await;
        for c in 0..2 {
            app.post(
                &format!("/api/v1/customers/{id}/contacts"),
                &admin,
                json!({"name": format!("Contact {c}")}),
            )
            .await;
            app.post(
                "/api/v1/orders",
                &admin,
                json!({"customer_id": id, "amount_minor": 100 + c, "currency": "EUR"}),
            )
            .await;
        }
    }
    let query = "{ customers(first: 50) { edges { node { id name contacts { id name } orders(limit: 5) { id amountMinor } \
                 interactions { id } orderSummary { orderCount } } } pageInfo { hasNextPage } } }";
    let before = app.statements();
    let reply = app.graphql(Some(&admin), query, json!({})).await;
    let statements = app.statements() - before;
    assert!(reply["errors"].is_null(), "{reply}");
    let edges = reply["data"]["customers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    for edge in edges {
        assert_eq!(edge["node"]["contacts"].as_array().unwrap().len(), 2);
        assert_eq!(edge["node"]["orders"].as_array().unwrap().len(), 2);
        assert_eq!(edge["node"]["orderSummary"]["orderCount"], 2);
    }
    // The page, then every relation of every customer on it in one statement.
    assert_eq!(statements, 2, "statements for one page of 50 customers with relations");

    let aliased =
        "{ customers(first: 10) { edges { node { latest: orders(limit: 1) { id } all: orders(limit: 5) { id } } } } }";
    let before = app.statements();
    let reply = app.graphql(Some(&admin), aliased, json!({})).await;
    assert_eq!(
        app.statements() - before,
        2,
        "the page, then both lists of orders in one statement"
    );
    let node = &reply["data"]["customers"]["edges"][0]["node"];
    assert_eq!(node["latest"].as_array().unwrap().len(), 1);
    assert_eq!(node["all"].as_array().unwrap().len(), 2);
}

async fn the_connection_filters_sorts_and_pages_like_rest(app: &TestApp) {
    let admin = app.token(Role::Admin);
    for (name, tier) in [("A", "key"), ("B", "key"), ("C", "key"), ("D", "general")] {
        app.create_customer(json!({"name": name, "value_tier": tier, "tags": ["t"]}))
            .await;
    }
    let query = "query($after: String) { customers(first: 2, after: $after, sort: NAME_ASC, filter: {valueTier: KEY, tag: \"t\"}) \
                 { edges { cursor node { name valueTier } } pageInfo { hasNextPage endCursor } } }";
    let page1 = app.graphql(Some(&admin), query, json!({})).await;
    let conn = &page1["data"]["customers"];
    assert_eq!(conn["edges"][0]["node"]["name"], "A");
    assert_eq!(conn["edges"][1]["node"]["name"], "B");
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let page2 = app
        .graphql(Some(&admin), query, json!({"after": conn["pageInfo"]["endCursor"]}))
        .await;
    let names: Vec<&str> = page2["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C"]);
    assert_eq!(page2["data"]["customers"]["pageInfo"]["hasNextPage"], false);
    let too_many = app
        .graphql(
            Some(&admin),
            "{ customers(first: 500) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&too_many), Some("validation_failed"));
}

async fn mutations_write_through_the_service_layer(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let created = app
        .graphql(
            Some(&admin),
            "mutation($i: NewCustomerInput!) { createCustomer(input: $i) { id name email tags } }",
            json!({"i": {"name": "Ann", "email": "ANN@x.example", "tags": ["A"], "externalId": "g-1"}}),
        )
        .await;
    let id = created["data"]["createCustomer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["createCustomer"]["email"], "ann@x.example");
    let updated = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { updateCustomer(id: $id, patch: {email: null, notes: \"hi\"}) { email notes } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(updated["data"]["updateCustomer"], json!({"email": null, "notes": "hi"}));
    let contact = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { createContact(customerId: $id, input: {name: \"Pat\", isPrimary: true}) { id isPrimary } }",
            json!({"id": id}),
        )
        .await;
    let contact_id = contact["data"]["createContact"]["id"].as_str().unwrap().to_owned();
    let left = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { updateContact(id: $id, patch: {active: false}) { active leftAt } }",
            json!({"id": contact_id}),
        )
        .await;
    assert_eq!(left["data"]["updateContact"]["active"], false);
    let logged = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { logInteraction(customerId: $id, input: {channel: EMAIL, direction: OUTBOUND, summary: \"Sent offer\"}) { id channel } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(logged["data"]["logInteraction"]["channel"], "EMAIL");
    let order_q = "mutation { recordOrder(input: {customerExternalId: \"g-1\", externalId: \"o-9\", amountMinor: 500, currency: \"EUR\"}) { id status } }";
    let o1 = app.graphql(Some(&admin), order_q, json!({})).await;
    let o2 = app.graphql(Some(&admin), order_q, json!({})).await;
    assert_eq!(o1["data"]["recordOrder"]["id"], o2["data"]["recordOrder"]["id"]);
    let order_id = o1["data"]["recordOrder"]["id"].as_str().unwrap().to_owned();
    let refunded = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { refundOrder(id: $id) { status } }",
            json!({"id": order_id}),
        )
        .await;
    assert_eq!(refunded["data"]["refundOrder"]["status"], "REFUNDED");
    let customer = app
        .graphql(
            Some(&admin),
            "query($id: ID!) { customer(id: $id) { name lastContactedAt contacts { name } interactions { summary } orders { status } orderSummary { orderCount } } }",
            json!({"id": id}),
        )
        .await;
    let c = &customer["data"]["customer"];
    assert!(c["lastContactedAt"].is_string());
    assert_eq!(c["interactions"][0]["summary"], "Sent offer");
    assert_eq!(c["orderSummary"]["orderCount"], 0);
    let by_ext = app
        .graphql(
            Some(&admin),
            "{ customerByExternalId(externalId: \"g-1\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(by_ext["data"]["customerByExternalId"]["name"], "Ann");
    let deleted = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({"id": contact_id}),
        )
        .await;
    assert!(deleted["errors"].is_null(), "{deleted}");
    let gone = app
        .graphql(
            Some(&admin),
            "mutation($id: ID!) { deleteCustomer(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert!(gone["errors"].is_null(), "{gone}");
    let missing = app
        .graphql(
            Some(&admin),
            "query($id: ID!) { customer(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&missing), Some("not_found"));
}

async fn graphql_errors_carry_the_rest_codes_and_write_nothing(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let bad = app
        .graphql(
            Some(&admin),
            "mutation { createCustomer(input: {name: \"\", email: \"nope\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&bad), Some("validation_failed"));
    let paths: Vec<&str> = bad["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["name", "email"]);
    app.create_customer(json!({"name": "A", "external_id": "dup"})).await;
    let dup = app
        .graphql(
            Some(&admin),
            "mutation { createCustomer(input: {name: \"B\", externalId: \"dup\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&dup), Some("conflict"));
    let order = app
        .graphql(
            Some(&admin),
            "mutation { recordOrder(input: {amountMinor: 0, currency: \"EUR\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&order), Some("validation_failed"));
    assert_eq!(app.count("customer").await, 1);
    assert_eq!(app.count("customer_order").await, 0);
    let anonymous = app.graphql(None, "{ customers { edges { cursor } } }", json!({})).await;
    assert_eq!(code(&anonymous), Some("unauthorized"));
    let expired = app
        .graphql(Some("garbage"), "{ customers { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(code(&expired), Some("unauthorized"));
}

async fn graphql_applies_the_same_role_rules(app: &TestApp) {
    let owned = app
        .create_customer(json!({"name": "Ann Lee", "email": "ann@example.com", "owner_id": AGENT}))
        .await;
    let list = "{ customers(filter: {q: \"lee\"}) { edges { node { name email } } } }";
    for role in Role::ALL {
        let token = if role == Role::Customer {
            app.customer_token(&owned)
        } else {
            app.token(role)
        };
        let reply = app.graphql(Some(&token), list, json!({})).await;
        match role {
            Role::Admin | Role::Manager | Role::Agent => {
                assert_eq!(
                    reply["data"]["customers"]["edges"][0]["node"]["email"],
                    "ann@example.com"
                )
            }
            Role::Analyst => assert_eq!(
                reply["data"]["customers"]["edges"],
                json!([]),
                "a masked name cannot be searched: {reply}"
            ),
            Role::Partner | Role::Customer => assert_eq!(code(&reply), Some("forbidden"), "{role}: {reply}"),
        }
        let create = app
            .graphql(
                Some(&token),
                "mutation { createCustomer(input: {name: \"X\"}) { id } }",
                json!({}),
            )
            .await;
        let allowed = matches!(role, Role::Admin | Role::Manager | Role::Agent);
        assert_eq!(create["errors"].is_null(), allowed, "{role}: {create}");
        let me = app.graphql(Some(&token), "{ me { id name } }", json!({})).await;
        if role == Role::Customer {
            assert_eq!(me["data"]["me"]["id"], owned.as_str());
        } else {
            assert_eq!(code(&me), Some("forbidden"));
        }
        let delete = app
            .graphql(
                Some(&token),
                "mutation($id: ID!) { deleteCustomer(id: $id) }",
                json!({"id": uuid::Uuid::now_v7()}),
            )
            .await;
        let expected = if matches!(role, Role::Admin | Role::Manager) {
            "not_found"
        } else {
            "forbidden"
        };
        assert_eq!(code(&delete), Some(expected), "{role}: {delete}");
    }
    let me = app.customer_token(&owned);
    let updated = app
        .graphql(
            Some(&me),
            "mutation { updateMe(patch: {preferredLanguage: \"de\"}) { preferredLanguage } }",
            json!({}),
        )
        .await;
    assert_eq!(updated["data"]["updateMe"]["preferredLanguage"], "de");
}

async fn overly_deep_or_complex_queries_are_refused(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let deep = "{ customers { edges { node { contacts { a { b { c { d { e { f } } } } } } } } } }";
    let reply = app.graphql(Some(&admin), deep, json!({})).await;
    assert!(
        reply["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("deeper than"),
        "{reply}"
    );
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_deep", "{reply}");
    let complex =
        "{ customers(first: 200) { edges { node { orders(limit: 100) { id amountMinor currency status } } } } }";
    let reply = app.graphql(Some(&admin), complex, json!({})).await;
    assert!(
        reply["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("complex"),
        "{reply}"
    );
    assert_eq!(reply["errors"][0]["extensions"]["code"], "query_too_complex", "{reply}");
}

on_both_databases!(
    a_page_of_customers_with_relations_costs_a_fixed_number_of_statements,
    the_connection_filters_sorts_and_pages_like_rest,
    mutations_write_through_the_service_layer,
    graphql_errors_carry_the_rest_codes_and_write_nothing,
    graphql_applies_the_same_role_rules,
    overly_deep_or_complex_queries_are_refused,
);
