//! The checked-in contracts match what the code generates.

#[test]
fn checked_in_schemas_are_fresh() {
    let root = env!("CARGO_MANIFEST_DIR");
    let sdl = std::fs::read_to_string(format!("{root}/schema/schema.graphql")).expect("schema/schema.graphql");
    let openapi = std::fs::read_to_string(format!("{root}/schema/openapi.json")).expect("schema/openapi.json");
    let stale = "is stale: run `cargo run -- export-schema` and commit schema/";
    assert!(sdl == rapport::graphql::schema().sdl(), "schema/schema.graphql {stale}");
    assert!(
        openapi == rapport::http::docs::openapi_json().expect("openapi"),
        "schema/openapi.json {stale}"
    );
}

#[test]
fn every_rest_operation_is_documented_with_auth_and_errors() {
    let doc: serde_json::Value = rapport::http::docs::openapi();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            if path.starts_with("/api/v1/public/") {
                // Answered without login (a survey link's token is the credential).
                assert_eq!(op["security"], serde_json::json!([]), "{method} {path} needs no token");
            } else if path.starts_with("/api/v1") {
                assert!(op["security"].is_array(), "{method} {path} lacks security");
                assert!(op["responses"]["401"].is_object(), "{method} {path} lacks 401");
            }
        }
    }
}

fn collect_refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("$ref", Some(target)) => out.push(target),
                    _ => collect_refs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_and_every_operation_id_is_unique() {
    let doc = rapport::http::docs::openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {target}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
    }
    let mut seen = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !id.contains('_'),
                "{id} is not lowerCamelCase"
            );
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                if status.as_str() >= "400" {
                    assert!(
                        response["content"].get("application/json").is_none(),
                        "{method} {path} {status} must be application/problem+json"
                    );
                }
            }
            assert!(op["security"].is_array(), "{method} {path} lacks security");
        }
    }
}
