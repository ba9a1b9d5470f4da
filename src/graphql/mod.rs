//! GraphQL at `/graphql`: resolvers are thin wrappers over the same service
//! functions REST uses; relations load through per-request DataLoaders.

mod cadence;
mod customers;
mod events;
mod feedback;
pub mod guard;
mod health;
mod loaders;
mod loyalty;
mod needs;
mod orders;
mod paging;
mod segments;
mod settings;
mod staff;
mod surveys;
mod tasks;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{Context, EmptySubscription, ErrorExtensions, MergedObject, Schema};
use sea_orm::DatabaseConnection;

use crate::auth::Actor;
use crate::config::GraphqlSettings;
use crate::database::Outage;
use crate::error::AppError;

pub use guard::MAX_DEPTH;

/// Highest query complexity accepted (each field counts 1, lists by their `first`/`limit`).
pub const MAX_COMPLEXITY: usize = 10_000;
/// The weight of a field that reads a whole table (reports, previews,
/// distributions): at most four of them fit in one request.
pub const SET_WIDE_READ: usize = 2_000;
/// The weight of a mutation that starts set-wide work (a recompute, a
/// refresh): two of them exceed [`MAX_COMPLEXITY`], so one per request.
pub const SET_WIDE_WRITE: usize = MAX_COMPLEXITY / 2 + 1;

/// The complexity of a list field: its children's times the items it may
/// return — the requested count (or `default`) held to `0..=max`, so a
/// negative or huge argument neither wraps nor overflows the sum.
pub(crate) fn list_weight(requested: Option<i32>, default: u64, max: u64, child_complexity: usize) -> usize {
    let count = requested.map_or(default, |n| u64::try_from(n).unwrap_or(0).min(max));
    usize::try_from(count)
        .unwrap_or(usize::MAX)
        .saturating_mul(child_complexity)
}

/// [`list_weight`] for a connection's `first` (default 50, at most 200).
pub(crate) fn page_weight(first: Option<i32>, child_complexity: usize) -> usize {
    use crate::domain::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    list_weight(first, DEFAULT_LIMIT, MAX_LIMIT, child_complexity)
}

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    customers::CustomerQuery,
    orders::OrderQuery,
    segments::SegmentQuery,
    feedback::FeedbackQuery,
    settings::SettingsQuery,
    tasks::TasksQuery,
    staff::StaffQuery,
    events::EventsQuery,
    surveys::SurveysQuery,
    loyalty::LoyaltyQuery,
    health::HealthQuery,
    cadence::CadenceQuery,
    needs::NeedsQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    customers::CustomerMutation,
    orders::OrderMutation,
    segments::SegmentMutation,
    feedback::FeedbackMutation,
    settings::SettingsMutation,
    tasks::TasksMutation,
    staff::StaffMutation,
    surveys::SurveysMutation,
    loyalty::LoyaltyMutation,
    health::HealthMutation,
    cadence::CadenceMutation,
    needs::NeedsMutation,
);

/// The application's schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema with its limits: nesting, depth and introspection
/// through [`guard::Guard`], complexity here; no "did you mean" suggestions.
pub fn schema() -> AppSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .extension(guard::Guard)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .disable_suggestions()
        .finish()
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let errors = self.field_errors();
        let mut error = async_graphql::Error::new(self.detail());
        if let Self::DatabaseUnavailable { outage, cause } = self {
            tracing::warn!(%cause, "database unavailable");
            // Kept for the handler: a query cut off by a dropped connection is run again.
            error.source = Some(std::sync::Arc::new(*outage));
        }
        error.extend_with(|_, ext| {
            ext.set("code", self.code());
            ext.set("status", self.status());
            if !errors.is_empty() {
                let list: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("path"),
                            async_graphql::Value::from(f.path.clone()),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(f.message.clone()),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                ext.set("errors", async_graphql::Value::List(list));
            }
        })
    }
}

/// Maps a service result into a GraphQL result with `extensions.code`.
pub(crate) fn gql<T>(r: Result<T, AppError>) -> async_graphql::Result<T> {
    r.map_err(|e| e.extend())
}

/// The caller and the database, as every resolver needs them.
pub(crate) fn ctx<'a>(c: &Context<'a>) -> async_graphql::Result<(&'a Actor, &'a DatabaseConnection)> {
    let actor = c
        .data_opt::<Actor>()
        .ok_or_else(|| AppError::Unauthorized("no bearer token".into()).extend())?;
    let db = c.data::<DatabaseConnection>()?;
    Ok((actor, db))
}

/// `POST /graphql`: runs a query as the bearer token's caller. The body is
/// read under the same cap as every route; transport errors (not JSON, too
/// large, not a GraphQL request) are problem+json, everything after that is
/// a GraphQL response whose every error carries `extensions.code`.
pub async fn graphql(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    settings: web::Data<GraphqlSettings>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    if !crate::http::extract::is_json(&req) {
        return Err(AppError::BadRequest("Content-Type must be application/json".into()));
    }
    let bytes = crate::http::extract::read_body(&req, &mut payload.into_inner()).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(AppError::BadRequest(
            "the body must be one GraphQL request object (batches are not supported)".into(),
        ));
    }
    if let Some(path) = crate::http::edge::find_nul(&value) {
        let err = AppError::field(path, crate::http::edge::NUL_MESSAGE).extend();
        let response = async_graphql::Response::from_errors(vec![err.into_server_error(Default::default())]);
        return Ok(HttpResponse::Ok().json(response));
    }
    let actor = match crate::auth::actor_from_request(&req) {
        Ok(actor) => Some(actor),
        Err(AppError::Unauthorized(reason)) => {
            tracing::debug!(%reason, "graphql request without valid token");
            None
        }
        Err(e) => return Err(e),
    };
    let prepare = |value: serde_json::Value| -> Result<async_graphql::Request, AppError> {
        let mut request: async_graphql::Request =
            serde_json::from_value(value).map_err(|e| AppError::BadRequest(format!("not a GraphQL request: {e}")))?;
        if !guard::may_introspect(actor.as_ref(), settings.introspection) {
            request = request.disable_introspection();
        }
        if let Some(actor) = &actor {
            request = request.data(actor.clone());
        }
        Ok(request
            .data(settings.introspection)
            .data(loaders::Loaders::new(db.get_ref().clone()))
            .data(db.get_ref().clone()))
    };
    let request = prepare(value.clone())?;
    let read_only = only_queries(&request);
    let mut response = schema.execute(request).await;
    if read_only && outage(&response) == Some(Outage::Dropped) {
        crate::database::weed_out_dead_connections(db.get_ref()).await;
        tracing::info!("query cut off by the database; trying once more");
        response = schema.execute(prepare(value)?).await;
    }
    for err in &mut response.errors {
        if !guard::has_code(err) {
            let code = if err.path.is_empty() {
                "graphql_validation_failed"
            } else {
                "bad_user_input"
            };
            err.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
    if outage(&response).is_some() {
        // The same signal as REST: retry shortly (a mutation with its
        // Idempotency-Key), nothing is wrong with the request.
        return Ok(HttpResponse::ServiceUnavailable()
            .insert_header(("retry-after", crate::error::UNAVAILABLE_RETRY_AFTER_SECS))
            .json(response));
    }
    Ok(HttpResponse::Ok().json(response))
}

/// Whether every operation of the document is a query (no mutation).
fn only_queries(request: &async_graphql::Request) -> bool {
    async_graphql::parser::parse_query(&request.query).is_ok_and(|doc| {
        doc.operations
            .iter()
            .all(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Query)
    })
}

/// The database outage behind a response's errors, if any.
fn outage(response: &async_graphql::Response) -> Option<Outage> {
    response.errors.iter().find_map(|e| e.source::<Outage>().copied())
}

/// The GraphiQL page and its scripts, served from the binary so the IDE works
/// without internet (versions and licences in `assets/graphiql/LICENSES.txt`).
const GRAPHIQL_PAGE: &str = include_str!("../../assets/graphiql/index.html");
const GRAPHIQL_ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "LICENSES.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSES.txt"),
    ),
];

/// `GET /graphql`: the GraphiQL IDE.
pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GRAPHIQL_PAGE)
}

/// `GET /graphql/assets/{file}`: the IDE's scripts, styles and licences.
async fn graphiql_asset(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = GRAPHIQL_ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or(AppError::NotFound("asset"))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(*body))
}

/// Mounts `/graphql`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql))
            .route(web::get().to(graphiql)),
    )
    .route("/graphql/assets/{file}", web::get().to(graphiql_asset));
}
