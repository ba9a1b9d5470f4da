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
    let doc: serde_json::Value =
        serde_json::from_str(&rapport::http::docs::openapi_json().expect("openapi")).expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            if path.starts_with("/api/v1") {
                assert!(op["security"].is_array(), "{method} {path} lacks security");
                assert!(op["responses"]["401"].is_object(), "{method} {path} lacks 401");
            }
        }
    }
}
