//! The rule grammar as OpenAPI components: one named shape per field group
//! and operator class, generated from [`super::FIELDS`], so a schema-valid
//! condition is one the parser takes.

use super::FIELDS;
use crate::domain::segment_rule::{CUSTOM_PREFIX, FieldType, Op};

/// The named parts of the rule grammar, as OpenAPI components: the three
/// groups and the condition, so generators see a plain union of named types.
fn rule_parts() -> Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)> {
    use utoipa::openapi::Ref;
    use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder};
    let rule = || Ref::from_schema_name("SegmentRule");
    let group = |key: &str, description: &str| {
        ObjectBuilder::new()
            .title(Some(format!("SegmentRule{}{}", key[..1].to_uppercase(), &key[1..])))
            .description(Some(description))
            .property(key, ArrayBuilder::new().items(rule()).min_items(Some(1)))
            .required(key)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
    };
    let mut lines = Vec::new();
    for f in FIELDS {
        let allowed = Op::allowed(f.field_type);
        let kind = match f.field_type {
            FieldType::Enum(values) => format!("one of {}", values.join(", ")),
            FieldType::Text => "text".into(),
            FieldType::Number => "whole number".into(),
            FieldType::DateTime => "RFC 3339 date-time".into(),
            FieldType::Tags => "tags".into(),
            FieldType::Custom => "JSON scalar".into(),
        };
        lines.push(format!("- `{}` ({kind}): {}", f.name, allowed.join(", ")));
    }
    lines.push(format!(
        "- `{CUSTOM_PREFIX}<key>` (string, number or boolean): {}",
        Op::allowed(FieldType::Custom).join(", ")
    ));
    let description = format!(
        "A condition on one field: one of the named shapes below, by the field's type and the \
         operator. `in`, `not_in`, `has_any` and `has_all` take a list; `between` takes \
         `[low, high]` with low ≤ high; `is_null` takes true or false; `ne` and `not_in` also \
         match customers without a value.\n\n{}",
        lines.join("\n")
    );
    let variants = condition_variants();
    let mut condition = OneOfBuilder::new()
        .title(Some("SegmentCondition"))
        .description(Some(description));
    for (name, _) in &variants {
        condition = condition.item(Ref::from_schema_name(name.clone()));
    }
    let not = ObjectBuilder::new()
        .title(Some("SegmentRuleNot"))
        .description(Some("The rule does not hold (a missing value counts as not holding)."))
        .property("not", rule())
        .required("not")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    vec![
        ("SegmentRuleAll".into(), group("all", "Every rule holds.").into()),
        ("SegmentRuleAny".into(), group("any", "At least one rule holds.").into()),
        ("SegmentRuleNot".into(), not.into()),
        ("SegmentCondition".into(), condition.into()),
    ]
    .into_iter()
    .chain(variants)
    .collect()
}

/// One named shape per field group and operator class: which fields, which
/// operators, and what `value` holds for them, so that a schema-valid
/// condition is one the parser accepts.
fn condition_variants() -> Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)> {
    use crate::domain::segment_rule::MAX_LIST;
    use serde_json::{Value as Json, json};
    let custom_field = json!({
        "type": "string",
        "pattern": format!("^{}[A-Za-z0-9_-]{{1,64}}$", CUSTOM_PREFIX.replace('.', "\\.")),
    });
    // Field groups: each enum field on its own (its values differ), the
    // other types with every field of that type.
    let mut groups: Vec<(String, Json, FieldType)> = Vec::new();
    for f in FIELDS {
        let title = match f.field_type {
            FieldType::Enum(_) => f.name.to_owned(),
            FieldType::Text => "text".into(),
            FieldType::Number => "number".into(),
            FieldType::DateTime => "date_time".into(),
            FieldType::Tags => "tags".into(),
            FieldType::Custom => "custom".into(),
        };
        match groups.iter_mut().find(|g| g.0 == title) {
            Some(group) => group.1["enum"]
                .as_array_mut()
                .into_iter()
                .for_each(|v| v.push(f.name.into())),
            None => groups.push((title, json!({"type": "string", "enum": [f.name]}), f.field_type)),
        }
    }
    groups.push(("custom_attribute".into(), custom_field, FieldType::Custom));
    let mut out = Vec::new();
    for (title, field, field_type) in groups {
        let scalar = match field_type {
            FieldType::Enum(values) => json!({"type": "string", "enum": values}),
            FieldType::Text => json!({"type": "string", "maxLength": 200}),
            FieldType::Number => json!({"type": "integer", "format": "int64"}),
            FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
            FieldType::Tags => {
                json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": crate::domain::parse::TAG_PATTERN})
            }
            FieldType::Custom => json!({"oneOf": [
                {"type": "string", "maxLength": 200},
                {"type": "number", "minimum": -crate::domain::parse::MAX_JSON_NUMBER,
                    "maximum": crate::domain::parse::MAX_JSON_NUMBER},
                {"type": "boolean"},
            ]}),
        };
        let list = json!({"type": "array", "items": scalar, "minItems": 1, "maxItems": MAX_LIST});
        let range = json!({"type": "array", "items": scalar, "minItems": 2, "maxItems": 2,
            "description": "`[low, high]`, low not greater than high."});
        let allowed = Op::allowed(field_type);
        let classes: [(&str, &[&str], Json); 5] = [
            ("compare", &["eq", "ne", "gt", "gte", "lt", "lte"], scalar.clone()),
            (
                "contains",
                &["contains"],
                json!({"type": "string", "minLength": 1, "maxLength": 200}),
            ),
            ("list", &["in", "not_in", "has_any", "has_all"], list),
            ("range", &["between"], range),
            (
                "null",
                &["is_null"],
                json!({"type": "boolean", "description": "true: has no value; false: has one."}),
            ),
        ];
        for (class, class_ops, value) in classes {
            let ops: Vec<&str> = class_ops.iter().copied().filter(|o| allowed.contains(o)).collect();
            if ops.is_empty() {
                continue;
            }
            let name = format!("SegmentCondition{}{}", pascal(&title), pascal(class));
            let schema = json!({
                "type": "object",
                "title": name,
                "properties": {"field": field, "op": {"type": "string", "enum": ops}, "value": value},
                "required": ["field", "op", "value"],
                "additionalProperties": false,
            });
            if let Ok(schema) = serde_json::from_value(schema) {
                out.push((name, schema));
            }
        }
    }
    out
}

/// `lifecycle_stage` → `LifecycleStage`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

impl utoipa::PartialSchema for crate::contract::segments::SegmentRuleDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::OneOfBuilder;
        use utoipa::openapi::{Ref, RefOr};
        RefOr::T(
            rule_parts()
                .into_iter()
                // The condition shapes are reached through `SegmentCondition`.
                .filter(|(name, _)| name == "SegmentCondition" || !name.starts_with("SegmentCondition"))
                .fold(
                    OneOfBuilder::new().description(Some(format!(
                        "A segment rule: a group or a condition, nested at most {} levels, at most {} conditions.",
                        crate::domain::segment_rule::MAX_DEPTH,
                        crate::domain::segment_rule::MAX_LEAVES
                    ))),
                    |one_of, (name, _)| one_of.item(Ref::from_schema_name(name)),
                )
                .into(),
        )
    }
}

impl utoipa::ToSchema for crate::contract::segments::SegmentRuleDoc {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("SegmentRule")
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.extend(rule_parts());
    }
}
