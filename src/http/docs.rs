//! The OpenAPI document, assembled from each module's paths.

use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT whose `role` claim is one of admin, manager, agent, analyst, partner, \
                         customer. Each operation's security requirement lists, as scopes, the \
                         roles that may call it; any other role gets 403 before its body is read.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport API",
        description = "Customer relationship maintenance: customers, segments, feedback loops, \
            surveys, loyalty, health. Errors are application/problem+json with a stable `code`; \
            lists use cursor pagination (`limit` ≤ 200, `next_cursor`).",
    ),
    servers((url = "http://127.0.0.1:8080", description = "A local server (`cargo run`)")),
    modifiers(&BearerScheme),
    components(schemas(crate::contract::customers::CustomerSort, crate::contract::feedback::FeedbackGroupBy)),
    tags(
        (name = "customers", description = "Customer records, 360 overview and timeline"),
        (name = "contacts", description = "People at company customers"),
        (name = "interactions", description = "Touchpoints"),
        (name = "orders", description = "Purchases"),
        (name = "segments", description = "Dynamic and static segments: rules, preview, refresh, members"),
        (name = "analytics", description = "RFM scores, value tiers and lifetime value; their settings"),
        (name = "feedback", description = "Feedback loops: intake, classification, SLA clocks, states, history; SLA policies, business calendar, report"),
        (name = "tasks", description = "Tasks and the staff directory (who manages whom, for escalations)"),
        (name = "me", description = "The signed-in customer"),
        (name = "events", description = "The event feed: every change, in commit order, for integrations"),
        (name = "webhooks", description = "Standard Webhooks subscriptions: deliveries, log, tests, secret rotation, replay"),
        (name = "bulk", description = "Import and export of customers and orders, CSV or NDJSON"),
        (name = "operations", description = "Probes and background jobs"),
        (name = "loyalty", description = "Loyalty points: the program, accounts, an append-only ledger with lots, expiry, reversals and debt; statements and the audit"),
        (name = "health", description = "Health scores that explain themselves: weighted factors with data, coverage, levels, history and a manual factor"),
        (name = "cadence", description = "Contact cadence per tier, the overdue list, and the follow-up, review and care tasks the daily jobs create"),
        (name = "needs", description = "The needs register: each customer's needs by urgency × importance, their solution, owner and confirmation, the success plan, and the needs report"),
    )
)]
struct Root;

/// The document as utoipa assembles it from each module's paths.
fn assembled() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(super::customers::Doc::openapi());
    doc.merge(super::orders::Doc::openapi());
    doc.merge(super::segments::Doc::openapi());
    doc.merge(super::feedback::Doc::openapi());
    doc.merge(super::tasks::Doc::openapi());
    doc.merge(super::staff::Doc::openapi());
    doc.merge(super::settings::Doc::openapi());
    doc.merge(super::me::Doc::openapi());
    doc.merge(super::ops::Doc::openapi());
    doc.merge(super::metrics::Doc::openapi());
    doc.merge(super::events::Doc::openapi());
    doc.merge(super::jobs::Doc::openapi());
    doc.merge(super::webhooks::Doc::openapi());
    doc.merge(super::bulk::Doc::openapi());
    doc.merge(super::surveys::Doc::openapi());
    doc.merge(super::loyalty::Doc::openapi());
    doc.merge(super::loyalty::holds::Doc::openapi());
    doc.merge(super::health::Doc::openapi());
    doc.merge(super::cadence::Doc::openapi());
    doc.merge(super::needs::Doc::openapi());
    doc.merge(super::payments::Doc::openapi());
    doc
}

/// The whole OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> Value {
    let mut doc = serde_json::to_value(assembled()).unwrap_or_else(|_| json!({}));
    finish(&mut doc);
    doc
}

/// An import's file is bytes (generated clients upload it as a file); the
/// NUL rule for strings does not apply to it.
fn ndjson_uploads(doc: &mut Value) {
    for path in ["/api/v1/imports/customers", "/api/v1/imports/orders"] {
        if let Some(body) = doc["paths"][path]["post"]["requestBody"].as_object_mut() {
            body.insert(
                "content".into(),
                json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary", "minLength": 1}}}),
            );
        }
    }
}

/// `POST`s that create or move nothing, or act outside the request's
/// transaction, and so take no `Idempotency-Key`. Survey sends and token
/// issues answer with tokens, which must never be stored (only their
/// hashes are); a send repeated skips the customers already invited. A
/// token's finish has no subject to scope a key by, and a second finish is
/// a 409 anyway.
const NOT_IDEMPOTENT: [&str; 8] = [
    "/api/v1/imports/customers",
    "/api/v1/imports/orders",
    "/api/v1/segments/preview",
    "/api/v1/jobs/{name}/run",
    "/api/v1/webhooks/{id}/test",
    "/api/v1/surveys/{id}/invitations",
    "/api/v1/surveys/{id}/invitations/{invitation_id}/token",
    "/api/v1/public/survey-invitations/{token}/response/finish",
];

/// `POST`s that move loyalty points: a retry must never credit or debit
/// twice, so the key is required (400 without it) — except with
/// `?simulate=true`, which writes nothing.
const KEY_REQUIRED: [&str; 9] = [
    "/api/v1/customers/{id}/loyalty/holds",
    "/api/v1/customers/by-external-id/{external_id}/loyalty/holds",
    "/api/v1/loyalty/rewards/{id}/redeem",
    "/api/v1/customers/{id}/loyalty/earn",
    "/api/v1/customers/{id}/loyalty/redeem",
    "/api/v1/customers/{id}/loyalty/adjust",
    "/api/v1/customers/by-external-id/{external_id}/loyalty/earn",
    "/api/v1/customers/by-external-id/{external_id}/loyalty/redeem",
    "/api/v1/loyalty/entries/{id}/cancel",
];

/// Every other `POST` under `/api/v1` takes an optional `Idempotency-Key`
/// (the idempotency middleware reads this document to know which), and may
/// answer 409 while a request with the same key runs.
fn idempotent_posts(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/v1/") || NOT_IDEMPOTENT.contains(&path.as_str()) {
            continue;
        }
        let Some(op) = item.get_mut("post").and_then(Value::as_object_mut) else {
            continue;
        };
        let required = KEY_REQUIRED.contains(&path.as_str());
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        if let Some(params) = params.as_array_mut() {
            let mut description =
                "Makes a retry safe: the first answer (a 2xx or a 4xx) is stored with the change and \
                replayed for the same key, method, route and caller (with `Idempotent-Replayed: true`); the same \
                key with another body is a 422, and while the first request runs a second is a 409. Kept 24 hours."
                    .to_owned();
            if required {
                description.push_str(
                    " Required here (400 without it), simulations included (`simulate=true` writes nothing and \
                     stores nothing under the key). The ledger also keeps the key, per account, for good: a \
                     retry after 24 hours answers the entry the key made.",
                );
            }
            params.push(json!({
                "name": super::edge::IDEMPOTENCY_KEY,
                "in": "header",
                "required": required,
                "description": description,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7E]+$"}
            }));
        }
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            responses.entry("409").or_insert_with(|| {
                problem_response(
                    "A request with the same Idempotency-Key is still running, or a conflict with the current state.",
                )
            });
        }
    }
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// Conventions applied to every operation in one place, so a new area gets
/// them by declaring its paths:
/// - `operationId` is the handler's name in lowerCamelCase (handlers are
///   named verb_noun, e.g. `list_customers` → `listCustomers`);
/// - an operation with a body documents 400 (not JSON, malformed JSON) and
///   413 (over the body cap);
/// - every error response is `application/problem+json`;
/// - an operation without a security requirement says so (`security: []`);
/// - every free string says it holds no NUL character, and `limit` says 1–200;
/// - request-body strings carry their parsers' own patterns and lengths;
/// - the RFM label grid is part of the analytics tag.
fn finish(doc: &mut Value) {
    survey_maps(doc);
    no_nul_in_strings(doc);
    constrain_inputs(doc);
    idempotent_posts(doc);
    ndjson_uploads(doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut().filter_map(Value::as_object_mut) {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    let camel = lower_camel(id);
                    op.insert("operationId".into(), camel.into());
                }
                let has_body = op.contains_key("requestBody");
                for param in op
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                    .filter(|p| p["name"] == "limit" && p["in"] == "query")
                {
                    param["schema"]["minimum"] = json!(1);
                    param["schema"]["maximum"] = json!(crate::domain::pagination::MAX_LIMIT);
                }
                for param in op
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                    .filter(|p| {
                        p["in"] == "path" && p["schema"]["type"] == "string" && p["schema"].get("format").is_none()
                    })
                {
                    // A string path id (a staff member's, an external id) is read as an id.
                    let name = if param["name"] == "id" {
                        "external_id"
                    } else {
                        param["name"].as_str().unwrap_or("")
                    };
                    if let (Some(format), Some(schema)) = (input_format(name), param["schema"].as_object_mut()) {
                        schema.remove("pattern");
                        schema.extend(format.as_object().cloned().unwrap_or_default());
                    }
                }
                op.entry("security").or_insert_with(|| json!([]));
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                if !super::rate_limit::UNLIMITED.contains(&path.as_str()) {
                    responses.entry("429").or_insert_with(|| {
                        problem_response(
                            "The caller's quota is used up (per token, or per IP without one); `Retry-After` says when to retry, `RateLimit` and `RateLimit-Policy` describe the quota.",
                        )
                    });
                }
                if !["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
                    responses.entry("503").or_insert_with(|| {
                        problem_response(
                            "The database cannot be reached or is not taking writes now (`database_unavailable`); `Retry-After` says when to retry — a write with the same `Idempotency-Key`.",
                        )
                    });
                }
                if has_body {
                    responses
                        .entry("400")
                        .or_insert_with(|| problem_response("The body is not JSON, or not readable."));
                    responses
                        .entry("413")
                        .or_insert_with(|| problem_response("The body is larger than the configured cap."));
                }
                for (status, response) in responses.iter_mut() {
                    if status.as_str() < "400" {
                        continue;
                    }
                    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                        && let Some(json) = content.remove("application/json")
                    {
                        content.insert("application/problem+json".into(), json);
                    }
                }
            }
        }
    }
    link_created_resources(doc);
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        for tag in tags.iter_mut().filter(|t| t["name"] == "analytics") {
            let grid = crate::domain::rfm::grid_markdown();
            tag["description"] = format!(
                "RFM scores, value tiers and lifetime value; their settings.\n\n\
                 Each of R, F and M is scored 1–5 by cumulative quintile (ties share the higher \
                 score). The label comes from R and FM = ⌈(F + M) / 2⌉:\n\n{grid}"
            )
            .into();
        }
    }
}

/// The constraints a request-body property's parser enforces, by the
/// property's name (a name means one thing across the API), so that
/// schema-valid means accepted. `None` for properties without a string format.
/// The maps of the survey schemas, stated in full: texts by language tag,
/// and answers by question id.
fn survey_maps(doc: &mut Value) {
    use crate::domain::parse as p;
    let texts = json!({
        "type": "object",
        "minProperties": 1,
        "maxProperties": crate::domain::surveys::MAX_LANGUAGES,
        "propertyNames": {"maxLength": p::MAX_LANGUAGE, "pattern": p::LANGUAGE_PATTERN},
        "additionalProperties": {"type": "string", "minLength": 1,
            "maxLength": crate::domain::surveys::MAX_LABEL, "pattern": p::TEXT_PATTERN},
    });
    let answers = json!({
        "type": "object",
        "maxProperties": crate::domain::surveys::MAX_QUESTIONS,
        "propertyNames": {"pattern": crate::domain::surveys::ID_PATTERN},
        "additionalProperties": {"anyOf": [
            {"type": "number"},
            {"type": "string", "maxLength": crate::domain::surveys::MAX_TEXT, "pattern": "^[^\\u0000]*$"},
            {"type": "array", "maxItems": crate::domain::surveys::MAX_CHOICES,
                "items": {"type": "string", "pattern": crate::domain::surveys::ID_PATTERN}},
            {"type": "null"},
        ]},
    });
    let schemas = &mut doc["components"]["schemas"];
    for (schema, field, shape) in [
        ("NewSurvey", "score_text", &texts),
        ("NewSurvey", "comment_text", &texts),
        ("SurveyPatch", "score_text", &texts),
        ("SurveyPatch", "comment_text", &texts),
        ("QuestionSpec", "text", &texts),
        ("ChoiceSpec", "label", &texts),
        ("AnswersInput", "answers", &answers),
        ("FinishInput", "answers", &answers),
    ] {
        let prop = &mut schemas[schema]["properties"][field];
        let nullable = matches!(&prop["type"], Value::Array(t) if t.iter().any(|x| x == "null"));
        let mut shaped = shape.clone();
        if nullable {
            shaped["type"] = json!(["object", "null"]);
        }
        if let Some(description) = prop.get("description").cloned() {
            shaped["description"] = description;
        }
        *prop = shaped;
    }
}

fn input_format(key: &str) -> Option<Value> {
    use crate::domain::parse as p;
    let pattern =
        |pattern: &str, min: usize, max: usize| json!({"minLength": min, "maxLength": max, "pattern": pattern});
    Some(match key {
        "name" | "subject" | "title" | "company" | "industry" | "size_band" | "city" | "source" | "stage" => {
            pattern(p::NAME_PATTERN, 1, p::MAX_NAME)
        }
        "body" | "summary" | "notes" | "note" | "review_note" | "outcome" | "reason" | "solution" => {
            pattern(p::TEXT_PATTERN, 1, p::MAX_TEXT)
        }
        "description" => pattern(p::TEXT_PATTERN, 1, p::MAX_DESCRIPTION),
        "external_id"
        | "customer_external_id"
        | "owner_id"
        | "assignee_id"
        | "from_assignee_id"
        | "staff_id"
        | "manager_id"
        | "external_ids" => pattern(p::ID_PATTERN, 1, p::MAX_EXTERNAL_ID),
        "tags" | "urgent_keywords" | "important_keywords" => pattern(p::TAG_PATTERN, 1, p::MAX_TAG_LEN),
        "email" => json!({"maxLength": p::MAX_EMAIL, "pattern": p::EMAIL_PATTERN}),
        // A public host name (private addresses are refused unless allowed),
        // no user info or port; labels never hold `--` (punycode).
        "url" => json!({"maxLength": 2048, "pattern": crate::service::webhooks::URL_PATTERN}),
        "phone" => json!({"pattern": p::PHONE_PATTERN}),
        "country" => json!({"pattern": p::COUNTRY_PATTERN}),
        "currency" => json!({"pattern": p::CURRENCY_PATTERN}),
        "preferred_language" | "default_language" => {
            json!({"maxLength": p::MAX_LANGUAGE, "pattern": p::LANGUAGE_PATTERN})
        }
        "reason_code" => pattern(crate::domain::loyalty::CODE_PATTERN, 1, 64),
        "referral_code" => pattern("^[0-9A-Za-z]+$", 1, 32),
        "start" => json!({"pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
        "end" => json!({"pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}),
        // The shape of an IANA name; the ~600 names themselves would make an
        // enum that client generators choke on (`GMT+0` and `GMT-0`).
        "time_zone" => json!({"maxLength": 64, "pattern": "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"}),
        _ => return None,
    })
}

/// Applies [`input_format`] to every string property (or array of strings)
/// of every schema a request body reaches, following `$ref`s.
fn constrain_inputs(doc: &mut Value) {
    let mut pending: Vec<String> = Vec::new();
    for item in doc["paths"].as_object().into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            collect_refs(&op["requestBody"], &mut pending);
        }
    }
    let mut done: Vec<String> = Vec::new();
    while let Some(name) = pending.pop() {
        if done.contains(&name) {
            continue;
        }
        let schema = &mut doc["components"]["schemas"][&name];
        collect_refs(schema, &mut pending);
        constrain_properties(schema);
        done.push(name);
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
            {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn constrain_properties(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else { return };
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for (key, prop) in props.iter_mut() {
            let Some(format) = input_format(key) else { continue };
            let is = |s: &Value, t: &str| match &s["type"] {
                Value::String(x) => x == t,
                Value::Array(types) => types.iter().any(|x| x == t),
                _ => false,
            };
            let target = if is(prop, "array") { &mut prop["items"] } else { prop };
            if is(target, "string")
                && target.get("enum").is_none()
                && let (Some(obj), Some(extra)) = (target.as_object_mut(), format.as_object())
            {
                obj.remove("format");
                obj.remove("pattern");
                obj.extend(extra.clone());
            }
        }
    }
    for key in ["items", "oneOf", "anyOf", "allOf"] {
        match map.get_mut(key) {
            Some(Value::Array(items)) => items.iter_mut().for_each(constrain_properties),
            Some(one) => constrain_properties(one),
            None => {}
        }
    }
    if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(constrain_properties);
    }
}

/// Links each `201` of a create operation to the operations on the created
/// resource (`/api/v1/<collection>/{id}…`, the collection being the create
/// path's last segment), so clients and stateful testers can follow them.
fn link_created_resources(doc: &mut Value) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    let mut links: Vec<(String, Value)> = Vec::new();
    for (path, item) in paths {
        if item.get("post").is_none_or(|op| op["responses"].get("201").is_none()) {
            continue;
        }
        let Some(collection) = path.rsplit('/').find(|s| !s.is_empty() && !s.starts_with('{')) else {
            continue;
        };
        let mut found = serde_json::Map::new();
        for (target, target_item) in paths {
            let by_external_id = *target == format!("/api/v1/{collection}/by-external-id/{{external_id}}");
            let on_item = target
                .strip_prefix(&format!("/api/v1/{collection}/{{id}}"))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if !on_item && !by_external_id {
                continue;
            }
            for op in target_item.as_object().into_iter().flat_map(|o| o.values()) {
                let Some(id) = op["operationId"].as_str() else { continue };
                let parameters = if by_external_id {
                    json!({"external_id": "$response.body#/external_id"})
                } else {
                    json!({"id": "$response.body#/id"})
                };
                found.insert(id.to_owned(), json!({"operationId": id, "parameters": parameters}));
            }
        }
        if !found.is_empty() {
            links.push((path.clone(), Value::Object(found)));
        }
    }
    for (path, found) in links {
        doc["paths"][&path]["post"]["responses"]["201"]["links"] = found;
    }
}

/// Adds `pattern: ^[^\u0000]*$` to every string schema without a format,
/// pattern or enum: the server refuses NUL characters everywhere.
fn no_nul_in_strings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string
                && !["format", "pattern", "enum", "const"]
                    .iter()
                    .any(|k| map.contains_key(*k))
            {
                map.insert("pattern".into(), Value::from("^[^\\u0000]*$"));
            }
            map.values_mut().for_each(no_nul_in_strings);
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul_in_strings),
        _ => {}
    }
}

/// `list_customers` → `listCustomers`.
fn lower_camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The OpenAPI document as pretty JSON with a trailing newline, as checked into `schema/`.
///
/// # Errors
/// Serialization failures.
pub fn openapi_json() -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&openapi())? + "\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn handler_names_become_lower_camel_operation_ids() {
        assert_eq!(super::lower_camel("list_customers"), "listCustomers");
        assert_eq!(
            super::lower_camel("get_customer_by_external_id"),
            "getCustomerByExternalId"
        );
    }
}
