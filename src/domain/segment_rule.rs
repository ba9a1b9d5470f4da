//! The segment rule language: parsing and validation, with the JSON path of
//! every error (`rule.all[2].op`). Which fields exist and what type they have
//! comes from the caller (the service's field table), so adding a field
//! needs no change here.
//!
//! Grammar: `{"all": [rule, ...]}`, `{"any": [rule, ...]}`, `{"not": rule}`,
//! or a leaf `{"field": name, "op": op, "value": v}`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::FieldError;

/// Deepest nesting of all/any/not accepted.
pub const MAX_DEPTH: usize = 10;
/// Most leaves in one rule.
pub const MAX_LEAVES: usize = 200;
/// Most values in an `in`/`has_any` list.
pub const MAX_LIST: usize = 500;

/// What kind of values a field holds, which decides its operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// One of a closed set of strings.
    Enum(&'static [&'static str]),
    Text,
    /// Whole numbers.
    Number,
    DateTime,
    /// The customer's tag set.
    Tags,
    /// A key of the customer's custom attributes.
    Custom,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    Contains,
    IsNull,
    HasAny,
    HasAll,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "in" => Self::In,
            "not_in" => Self::NotIn,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "between" => Self::Between,
            "contains" => Self::Contains,
            "is_null" => Self::IsNull,
            "has_any" => Self::HasAny,
            "has_all" => Self::HasAll,
            _ => return None,
        })
    }

    /// The operators a field type accepts.
    pub fn allowed(t: FieldType) -> &'static [&'static str] {
        match t {
            FieldType::Enum(_) => &["eq", "ne", "in", "not_in", "is_null"],
            FieldType::Text => &["eq", "ne", "in", "not_in", "contains", "is_null"],
            FieldType::Number => &[
                "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null",
            ],
            FieldType::DateTime => &["gt", "gte", "lt", "lte", "between", "is_null"],
            FieldType::Tags => &["has_any", "has_all"],
            FieldType::Custom => &["eq", "ne", "is_null"],
        }
    }
}

/// A single comparable value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(i64),
    DateTime(DateTime<Utc>),
    /// A custom attribute's JSON scalar (string, number or boolean).
    Json(Value),
}

/// The right-hand side of a leaf.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    One(Scalar),
    List(Vec<Scalar>),
    Range(Scalar, Scalar),
    /// `is_null`: true for IS NULL, false for IS NOT NULL.
    Null(bool),
}

/// A comparison on one field.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub field: String,
    /// For custom attributes, the attribute key.
    pub key: Option<String>,
    pub field_type: FieldType,
    pub op: Op,
    pub operand: Operand,
}

/// A parsed, valid rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Leaf(Leaf),
}

/// The prefix of custom-attribute fields: `custom_attributes.plan`.
pub const CUSTOM_PREFIX: &str = "custom_attributes.";

struct Parser<'a> {
    lookup: &'a dyn Fn(&str) -> Option<FieldType>,
    errors: Vec<FieldError>,
    leaves: usize,
}

/// Parses and validates a rule. `lookup` names the fields that exist.
///
/// # Errors
/// Every problem found, each with its JSON path under `root`.
pub fn parse(value: &Value, root: &str, lookup: &dyn Fn(&str) -> Option<FieldType>) -> Result<Rule, Vec<FieldError>> {
    let mut p = Parser {
        lookup,
        errors: Vec::new(),
        leaves: 0,
    };
    let rule = p.rule(value, root, 0);
    if p.leaves > MAX_LEAVES {
        p.errors
            .push(FieldError::new(root, format!("has more than {MAX_LEAVES} conditions")));
    }
    match rule {
        Some(rule) if p.errors.is_empty() => Ok(rule),
        _ => Err(p.errors),
    }
}

impl Parser<'_> {
    fn fail(&mut self, path: String, message: impl Into<String>) -> Option<Rule> {
        self.errors.push(FieldError::new(path, message));
        None
    }

    fn rule(&mut self, value: &Value, path: &str, depth: usize) -> Option<Rule> {
        if depth > MAX_DEPTH {
            return self.fail(path.into(), format!("nests deeper than {MAX_DEPTH} levels"));
        }
        let Some(obj) = value.as_object() else {
            return self.fail(
                path.into(),
                "must be an object: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or a condition",
            );
        };
        let group = ["all", "any", "not"].into_iter().find(|k| obj.contains_key(*k));
        if let Some(key) = group {
            if obj.len() != 1 {
                let extra = obj.keys().find(|k| k.as_str() != key).cloned().unwrap_or_default();
                return self.fail(format!("{path}.{extra}"), format!("is not allowed beside \"{key}\""));
            }
            let inner = &obj[key];
            let inner_path = format!("{path}.{key}");
            if key == "not" {
                return self.rule(inner, &inner_path, depth + 1).map(|r| Rule::Not(Box::new(r)));
            }
            let Some(items) = inner.as_array() else {
                return self.fail(inner_path, "must be an array of rules");
            };
            if items.is_empty() {
                return self.fail(inner_path, "must not be empty");
            }
            let parsed: Vec<Option<Rule>> = items
                .iter()
                .enumerate()
                .map(|(i, r)| self.rule(r, &format!("{inner_path}[{i}]"), depth + 1))
                .collect();
            let rules: Option<Vec<Rule>> = parsed.into_iter().collect();
            return rules.map(|rs| if key == "all" { Rule::All(rs) } else { Rule::Any(rs) });
        }
        self.leaf(obj, path)
    }

    fn leaf(&mut self, obj: &serde_json::Map<String, Value>, path: &str) -> Option<Rule> {
        self.leaves += 1;
        if let Some(extra) = obj.keys().find(|k| !["field", "op", "value"].contains(&k.as_str())) {
            return self.fail(
                format!("{path}.{extra}"),
                "is not a rule key: use field, op and value, or all/any/not",
            );
        }
        let Some(field) = obj.get("field").and_then(Value::as_str) else {
            return self.fail(format!("{path}.field"), "is required and must be a string");
        };
        let (field_type, key) = match field.strip_prefix(CUSTOM_PREFIX) {
            Some(key) => {
                let valid = !key.is_empty()
                    && key.len() <= 64
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return self.fail(
                        format!("{path}.field"),
                        "custom attribute keys are 1–64 letters, digits, _ or -",
                    );
                }
                (FieldType::Custom, Some(key.to_owned()))
            }
            None => match (self.lookup)(field) {
                Some(t) => (t, None),
                None => return self.fail(format!("{path}.field"), format!("unknown field \"{field}\"")),
            },
        };
        let allowed = Op::allowed(field_type);
        let Some(op_name) = obj.get("op").and_then(Value::as_str) else {
            return self.fail(
                format!("{path}.op"),
                format!("is required; one of {}", allowed.join(", ")),
            );
        };
        let op = match Op::parse(op_name) {
            Some(op) if allowed.contains(&op_name) => op,
            _ => {
                return self.fail(
                    format!("{path}.op"),
                    format!(
                        "\"{op_name}\" does not apply to {field}; use one of {}",
                        allowed.join(", ")
                    ),
                );
            }
        };
        let vpath = format!("{path}.value");
        let Some(value) = obj.get("value") else {
            return self.fail(vpath, "is required");
        };
        let operand = self.operand(field_type, op, value, &vpath)?;
        Some(Rule::Leaf(Leaf {
            field: field.to_owned(),
            key,
            field_type,
            op,
            operand,
        }))
    }

    fn operand(&mut self, t: FieldType, op: Op, value: &Value, path: &str) -> Option<Operand> {
        match op {
            Op::IsNull => match value.as_bool() {
                Some(b) => Some(Operand::Null(b)),
                None => {
                    self.fail(path.into(), "must be true (is null) or false (is not null)");
                    None
                }
            },
            Op::In | Op::NotIn | Op::HasAny | Op::HasAll => {
                let Some(items) = value.as_array() else {
                    self.fail(path.into(), "must be an array");
                    return None;
                };
                if items.is_empty() || items.len() > MAX_LIST {
                    self.fail(path.into(), format!("must hold 1 to {MAX_LIST} values"));
                    return None;
                }
                let list: Option<Vec<Scalar>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.scalar(t, v, &format!("{path}[{i}]")))
                    .collect();
                list.map(Operand::List)
            }
            Op::Between => {
                let pair = value.as_array().filter(|a| a.len() == 2);
                let Some(pair) = pair else {
                    self.fail(path.into(), "must be an array of two values [low, high]");
                    return None;
                };
                let lo = self.scalar(t, &pair[0], &format!("{path}[0]"))?;
                let hi = self.scalar(t, &pair[1], &format!("{path}[1]"))?;
                let ordered = match (&lo, &hi) {
                    (Scalar::Number(a), Scalar::Number(b)) => a <= b,
                    (Scalar::DateTime(a), Scalar::DateTime(b)) => a <= b,
                    _ => true,
                };
                if !ordered {
                    self.fail(path.into(), "low must not be greater than high");
                    return None;
                }
                Some(Operand::Range(lo, hi))
            }
            Op::Contains => match value.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= 200 => Some(Operand::One(Scalar::Text(s.to_owned()))),
                _ => {
                    self.fail(path.into(), "must be a string of 1 to 200 characters");
                    None
                }
            },
            _ => self.scalar(t, value, path).map(Operand::One),
        }
    }

    fn scalar(&mut self, t: FieldType, value: &Value, path: &str) -> Option<Scalar> {
        let result = match t {
            FieldType::Enum(allowed) => match value.as_str() {
                Some(s) if allowed.contains(&s) => Ok(Scalar::Text(s.to_owned())),
                _ => Err(format!("must be one of {}", allowed.join(", "))),
            },
            FieldType::Text => match value.as_str() {
                Some(s) if s.chars().count() <= 200 => Ok(Scalar::Text(s.to_owned())),
                _ => Err("must be a string of at most 200 characters".into()),
            },
            FieldType::Tags => match value.as_str().map(|s| super::parse::tag(s.to_owned())) {
                Some(Ok(tag)) => Ok(Scalar::Text(tag)),
                _ => Err("must be a tag (1 to 64 characters, no control characters)".into()),
            },
            FieldType::Number => match value.as_i64() {
                Some(n) => Ok(Scalar::Number(n)),
                None => Err("must be a whole number".into()),
            },
            FieldType::DateTime => match value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
                Some(d) => Ok(Scalar::DateTime(d.with_timezone(&Utc))),
                None => Err("must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z".into()),
            },
            FieldType::Custom => match value {
                Value::String(s) if s.chars().count() <= 200 => Ok(Scalar::Json(value.clone())),
                // The rule is stored as JSON: a number PostgreSQL's jsonb could not give back is refused.
                Value::Number(_) if !super::parse::json_numbers_fit(value) => {
                    Err("numbers must be within ±1e300".into())
                }
                Value::Number(_) | Value::Bool(_) => Ok(Scalar::Json(value.clone())),
                _ => Err("must be a string, number or boolean".into()),
            },
        };
        match result {
            Ok(s) => Some(s),
            Err(message) => {
                self.errors.push(FieldError::new(path, message));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<FieldType> {
        match name {
            "tier" => Some(FieldType::Enum(&["key", "important", "general"])),
            "order_count" => Some(FieldType::Number),
            "tags" => Some(FieldType::Tags),
            _ => None,
        }
    }

    fn paths(v: Value) -> Vec<String> {
        parse(&v, "rule", &lookup)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn errors_name_the_exact_path() {
        let rule = json!({"all": [
            {"field": "tier", "op": "eq", "value": "key"},
            {"field": "nope", "op": "eq", "value": 1},
            {"field": "order_count", "op": "contains", "value": "x"},
            {"any": [{"field": "tier", "op": "in", "value": ["key", "gold"]}]},
            {"not": {"field": "order_count", "op": "between", "value": [5, 1]}}
        ]});
        assert_eq!(
            paths(rule),
            [
                "rule.all[1].field",
                "rule.all[2].op",
                "rule.all[3].any[0].value[1]",
                "rule.all[4].not.value"
            ]
        );
    }

    #[test]
    fn a_valid_rule_parses() {
        let rule = json!({"any": [{"field": "tags", "op": "has_all", "value": ["VIP", "beta"]}, {"not": {"field": "custom_attributes.plan", "op": "eq", "value": "pro"}}]});
        let parsed = parse(&rule, "rule", &lookup).expect("valid");
        let Rule::Any(items) = parsed else { panic!("any") };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn shapes_that_are_not_rules_are_refused() {
        assert_eq!(paths(json!([])), ["rule"]);
        assert_eq!(
            paths(json!({"field": "custom_attributes.n", "op": "eq", "value": 1.797_693_134_862_315_7e308})),
            ["rule.value"]
        );
        assert_eq!(paths(json!({"all": []})), ["rule.all"]);
        assert_eq!(paths(json!({"all": [], "any": []})), ["rule.any"]);
        assert_eq!(paths(json!({"field": "tier", "op": "eq"})), ["rule.value"]);
        assert_eq!(
            paths(json!({"field": "tier", "op": "eq", "value": "key", "x": 1})),
            ["rule.x"]
        );
        assert_eq!(
            paths(json!({"field": "custom_attributes.a b", "op": "eq", "value": 1})),
            ["rule.field"]
        );
        let mut deep = json!({"field": "tier", "op": "eq", "value": "key"});
        for _ in 0..12 {
            deep = json!({"not": deep});
        }
        assert_eq!(paths(deep).len(), 1);
    }
}
