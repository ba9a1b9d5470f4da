//! The OpenAPI document, assembled from each module's paths.

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
    modifiers(&BearerScheme),
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
        (name = "operations", description = "Probes"),
    )
)]
struct Root;

/// The whole OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(super::customers::Doc::openapi());
    doc.merge(super::orders::Doc::openapi());
    doc.merge(super::segments::Doc::openapi());
    doc.merge(super::analytics::Doc::openapi());
    doc.merge(super::feedback::Doc::openapi());
    doc.merge(super::tasks::Doc::openapi());
    doc.merge(super::me::Doc::openapi());
    doc.merge(super::ops::Doc::openapi());
    doc
}

/// The OpenAPI document as pretty JSON with a trailing newline, as checked into `schema/`.
///
/// # Errors
/// Serialization failures.
pub fn openapi_json() -> anyhow::Result<String> {
    Ok(openapi().to_pretty_json()? + "\n")
}
