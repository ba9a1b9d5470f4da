//! GraphQL at `/graphql`: resolvers are thin wrappers over the same service
//! functions REST uses; relations load through per-request DataLoaders.

mod customers;
mod feedback;
mod loaders;
mod orders;
mod segments;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::{Context, EmptySubscription, ErrorExtensions, MergedObject, Schema};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use sea_orm::DatabaseConnection;

use crate::auth::Actor;
use crate::error::AppError;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 8;
/// Highest query complexity accepted (each field counts 1, lists by their `first`/`limit`).
pub const MAX_COMPLEXITY: usize = 10_000;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    customers::CustomerQuery,
    orders::OrderQuery,
    segments::SegmentQuery,
    feedback::FeedbackQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    customers::CustomerMutation,
    orders::OrderMutation,
    segments::SegmentMutation,
    feedback::FeedbackMutation,
);

/// The application's schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema with depth and complexity limits.
pub fn schema() -> AppSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .finish()
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let errors = self.field_errors();
        async_graphql::Error::new(self.detail()).extend_with(|_, ext| {
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

/// `POST /graphql`: runs a query as the bearer token's caller.
pub async fn graphql(
    schema: web::Data<AppSchema>,
    db: web::Data<DatabaseConnection>,
    req: HttpRequest,
    gql_req: GraphQLRequest,
) -> GraphQLResponse {
    let mut request = gql_req.into_inner();
    match crate::auth::actor_from_request(&req) {
        Ok(actor) => request = request.data(actor),
        Err(AppError::Unauthorized(reason)) => tracing::debug!(%reason, "graphql request without valid token"),
        Err(e) => tracing::error!(error = ?e, "auth failure"),
    }
    request = request
        .data(loaders::Loaders::new(db.get_ref().clone()))
        .data(db.get_ref().clone());
    schema.execute(request).await.into()
}

/// `GET /graphql`: the GraphiQL IDE.
pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Rapport GraphQL")
            .finish(),
    )
}

/// Mounts `/graphql`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql))
            .route(web::get().to(graphiql)),
    );
}
