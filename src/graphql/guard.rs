//! Limits that hold before a GraphQL query runs: a nesting scan over the raw
//! text before the parser sees it (the parser recurses per bracket, so a
//! 2,000-deep argument would overflow a worker's stack), NUL escapes in
//! string literals, the field depth (with introspection measured on its own,
//! so the standard introspection query works for staff), who may
//! introspect, and a `code` on every error the library raises itself.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, ValidationResult, Variables};

use crate::auth::{Actor, Role};
use crate::config::Introspection;

/// Deepest bracket nesting (`{`, `[`, `(`) the raw query text may have.
pub const MAX_NESTING: usize = 64;
/// Deepest field nesting of a query outside introspection.
pub const MAX_DEPTH: usize = 8;
/// Deepest field nesting inside `__schema` / `__type` (the standard
/// introspection query needs about 13).
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

/// A GraphQL error with `extensions.code`.
pub fn coded(message: impl Into<String>, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    set_code(&mut err, code);
    err
}

fn set_code(err: &mut ServerError, code: &str) {
    err.extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code);
}

/// Whether an error already carries a code.
pub fn has_code(err: &ServerError) -> bool {
    err.extensions.as_ref().is_some_and(|e| e.get("code").is_some())
}

/// The deepest bracket nesting of a GraphQL text, outside strings and comments.
pub fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// Whether a string literal in the text spells a NUL character (`\u0000`).
fn has_nul_escape(query: &str) -> bool {
    query.contains('\0') || query.to_ascii_lowercase().contains("\\u0000")
}

/// Field depth of a document: (outside introspection, inside it).
pub fn depths(doc: &ExecutableDocument) -> (usize, usize) {
    let mut memo = HashMap::new();
    let mut outside = 0;
    let mut inside = 0;
    for (_, op) in doc.operations.iter() {
        let (o, i) = set_depth(doc, &op.node.selection_set.node, &mut memo, &mut Vec::new());
        outside = outside.max(o);
        inside = inside.max(i);
    }
    (outside, inside)
}

type Memo = HashMap<String, (usize, usize)>;

fn set_depth(doc: &ExecutableDocument, set: &SelectionSet, memo: &mut Memo, stack: &mut Vec<String>) -> (usize, usize) {
    let mut outside = 0;
    let mut inside = 0;
    for item in &set.items {
        let (o, i) = match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let (o, i) = set_depth(doc, &field.node.selection_set.node, memo, stack);
                if name == "__schema" || name == "__type" {
                    (0, 1 + o.max(i))
                } else {
                    (1 + o, if i > 0 { 1 + i } else { 0 })
                }
            }
            Selection::InlineFragment(f) => set_depth(doc, &f.node.selection_set.node, memo, stack),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                if let Some(d) = memo.get(&name) {
                    *d
                } else if stack.contains(&name) {
                    (0, 0) // a cycle; validation reports it
                } else if let Some(def) = doc.fragments.get(spread.node.fragment_name.node.as_str()) {
                    stack.push(name.clone());
                    let d = set_depth(doc, &def.node.selection_set.node, memo, stack);
                    stack.pop();
                    memo.insert(name, d);
                    d
                } else {
                    (0, 0)
                }
            }
        };
        outside = outside.max(o);
        inside = inside.max(i);
    }
    (outside, inside)
}

fn introspects(doc: &ExecutableDocument) -> bool {
    fn in_set(doc: &ExecutableDocument, set: &SelectionSet, seen: &mut Vec<String>) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(f) => in_set(doc, &f.node.selection_set.node, seen),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.to_string();
                if seen.contains(&name) {
                    return false;
                }
                seen.push(name);
                doc.fragments
                    .get(s.node.fragment_name.node.as_str())
                    .is_some_and(|d| in_set(doc, &d.node.selection_set.node, seen))
            }
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| in_set(doc, &op.node.selection_set.node, &mut Vec::new()))
}

/// Whether a caller may introspect the schema.
pub fn may_introspect(actor: Option<&Actor>, setting: Introspection) -> bool {
    setting == Introspection::Staff && actor.is_some_and(|a| a.role != Role::Customer)
}

/// The extension that applies these checks to every request.
pub struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension)
    }
}

struct GuardExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if nesting(query) > MAX_NESTING {
            return Err(coded(
                format!("the query nests brackets deeper than {MAX_NESTING} levels"),
                "query_too_nested",
            ));
        }
        if has_nul_escape(query) {
            let mut err = coded("query: a string must not contain NUL characters", "validation_failed");
            if let Some(ext) = err.extensions.as_mut() {
                ext.set(
                    "errors",
                    async_graphql::Value::List(vec![async_graphql::value!({
                        "path": "query", "message": crate::http::edge::NUL_MESSAGE
                    })]),
                );
            }
            return Err(err);
        }
        let doc = next.run(ctx, query, variables).await.map_err(|mut e| {
            if !has_code(&e) {
                set_code(&mut e, "graphql_parse_failed");
            }
            e
        })?;
        if introspects(&doc) {
            let setting = ctx.data_opt::<Introspection>().copied().unwrap_or(Introspection::Staff);
            if !may_introspect(ctx.data_opt::<Actor>(), setting) {
                return Err(coded("introspection is for staff tokens only", "forbidden"));
            }
        }
        let (outside, inside) = depths(&doc);
        if outside > MAX_DEPTH || inside > MAX_INTROSPECTION_DEPTH {
            return Err(coded(
                format!(
                    "the query nests fields deeper than {MAX_DEPTH} levels \
                     ({MAX_INTROSPECTION_DEPTH} inside introspection)"
                ),
                "query_too_deep",
            ));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                if !has_code(e) {
                    let code = if e.message.contains("too complex") {
                        "query_too_complex"
                    } else {
                        "graphql_validation_failed"
                    };
                    set_code(e, code);
                }
            }
            errors
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        assert_eq!(nesting("{ a(x: [[1]]) { b } }"), 4);
        assert_eq!(nesting("{ a(x: \"[[[[[\") # {{{{{\n }"), 2);
        assert_eq!(nesting("{ a(x: \"\"\" {{{ \\\"\"\" \"\"\") }"), 2);
        let deep = format!("{{ me(x: {}1{}) {{ id }} }}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(nesting(&deep), 100_002);
    }

    #[test]
    fn introspection_depth_is_counted_on_its_own() {
        let doc = async_graphql::parser::parse_query(
            "{ a { b { c } } __schema { types { fields { type { ...T } } } } }
             fragment T on __Type { ofType { ofType { name } } }",
        )
        .expect("parse");
        assert_eq!(depths(&doc), (3, 7));
    }
}
