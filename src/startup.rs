//! Building and running the application: `Application::build(settings)` binds
//! its own listener (port 0 in tests), then `run_until_stopped`.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{App, HttpMessage, HttpResponse, web};
use anyhow::Context;
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::error::AppError;
use crate::http::edge::{BodyLimit, RouteTable};
use crate::http::problem::REQUEST_ID;
use crate::http::wire::ProblemStream;
use crate::service::jobs::JobContext;

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    db: DatabaseConnection,
    statements: Arc<AtomicU64>,
    jobs: JobContext,
}

/// Connects to the database with logging of every statement turned off, and
/// counts statements into `counter`.
///
/// # Errors
/// Fails when the database cannot be reached.
pub async fn connect(settings: &Settings, counter: Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(settings.database.url.clone());
    opts.max_connections(settings.database.max_connections)
        .test_before_acquire_if_idle_for(std::time::Duration::from_secs(settings.database.ping_idle_secs))
        .sqlx_logging(false);
    let mut db = Database::connect(opts)
        .await
        .with_context(|| format!("connecting to the database ({})", redact_url(&settings.database.url)))?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // WAL lets readers proceed while one writer commits.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The PostgreSQL advisory lock key migrations run under (any constant
/// the application uses for nothing else).
const MIGRATION_LOCK: i64 = 0x7261_7070_6f72_7401;

/// Runs pending migrations. On PostgreSQL they run in one transaction under
/// an advisory lock, so instances starting together take turns: the first
/// migrates, the others wait, then find nothing pending (SQLite serialises
/// writers by itself). A database holding a migration this build does not
/// know (a newer release migrated it) is refused.
///
/// # Errors
/// Fails when a migration fails, or the database is newer than this build.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let result = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let txn = db.begin().await.context("starting the migrations' transaction")?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .context("waiting for the migration lock")?;
        match migration::Migrator::up(&txn, None).await {
            Ok(()) => txn.commit().await,
            Err(e) => Err(e),
        }
    } else {
        migration::Migrator::up(db, None).await
    };
    result.map_err(|e| {
        let message = e.to_string();
        if message.contains("has been applied but its file is missing") {
            anyhow::anyhow!(
                "the database was migrated by a newer release than this one ({message}); \
                 run that release or newer — this one refuses to start rather than work on a schema it does not know"
            )
        } else {
            anyhow::Error::new(e).context("running migrations")
        }
    })
}

/// Stamps the request id on the response and error bodies, and logs one line per request.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let mut res = REQUEST_ID.scope(id.clone(), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    tracing::info!(
        %method,
        %path,
        status = res.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request finished"
    );
    Ok(res)
}

async fn serve_openapi(doc: web::Data<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(doc.get_ref())
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("route"))
}

impl Application {
    /// Connects, migrates (unless disabled), and binds the listener.
    ///
    /// # Errors
    /// Fails on bad settings, an unreachable database, a failed migration or a taken port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let db = connect(&settings, statements.clone()).await?;
        if settings.database.migrate_on_start {
            migrate(&db).await?;
        }
        let keys = JwtKeys::from_settings(&settings.auth)?;
        let listener =
            TcpListener::bind(&settings.server.addr).with_context(|| format!("binding {}", settings.server.addr))?;
        let port = listener.local_addr()?.port();
        let jobs = JobContext::new(db.clone(), Arc::new(settings.clone()))?;
        let server = serve(listener, db.clone(), keys, &settings, jobs.clone())?;
        Ok(Self {
            port,
            server,
            db,
            statements,
            jobs,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database connection the server uses.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// How many SQL statements the server has run so far.
    pub fn statement_counter(&self) -> Arc<AtomicU64> {
        self.statements.clone()
    }

    /// Serves, with the scheduled jobs, until SIGTERM/SIGINT; in-flight
    /// requests finish first, then the jobs stop.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let jobs = crate::service::jobs::schedule(&self.jobs);
        let result = self.server.await;
        for job in jobs {
            job.abort();
        }
        result
    }
}

fn serve(
    listener: TcpListener,
    db: DatabaseConnection,
    keys: JwtKeys,
    settings: &Settings,
    jobs: JobContext,
) -> anyhow::Result<Server> {
    let db = web::Data::new(db);
    let jobs = web::Data::new(jobs);
    let keys = web::Data::new(keys);
    let schema = web::Data::new(crate::graphql::schema());
    let graphql = web::Data::new(settings.graphql.clone());
    let openapi = crate::http::docs::openapi();
    let routes = web::Data::new(
        RouteTable::from_openapi(&openapi)
            .with_extra("/graphql", &["GET", "POST"])
            .with_extra("/openapi.json", &["GET"]),
    );
    let openapi = web::Data::new(openapi);
    let limit = web::Data::new(BodyLimit(settings.server.max_body_bytes));
    let import_limit = web::Data::new(crate::http::bulk::ImportLimit(settings.imports.max_bytes));
    let rate_limits = web::Data::new(crate::http::rate_limit::RateLimits::new(&settings.rate_limit));
    let retention = web::Data::new(crate::http::idempotency::Retention(chrono::Duration::hours(i64::from(
        settings.idempotency.retention_hours,
    ))));
    let running_keys = web::Data::new(crate::http::idempotency::RunningKeys::default());
    let max_body = settings.server.max_body_bytes;
    let app = move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::http::idempotency::idempotency))
            .wrap(actix_web::middleware::from_fn(crate::http::edge::guard))
            .wrap(actix_web::middleware::from_fn(crate::http::rate_limit::limit))
            .wrap(actix_web::middleware::from_fn(crate::http::metrics::record))
            .wrap(actix_web::middleware::from_fn(request_id))
            .wrap(TracingLogger::default())
            .app_data(db.clone())
            .app_data(jobs.clone())
            .app_data(keys.clone())
            .app_data(schema.clone())
            .app_data(graphql.clone())
            .app_data(routes.clone())
            .app_data(limit.clone())
            .app_data(rate_limits.clone())
            .app_data(import_limit.clone())
            .app_data(retention.clone())
            .app_data(running_keys.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .configure(crate::http::ops::configure)
            .configure(crate::http::metrics::configure)
            .configure(crate::http::configure)
            .configure(crate::graphql::configure)
            .app_data(openapi.clone())
            .route("/openapi.json", web::get().to(serve_openapi))
            .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")))
            .route(
                "/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("location", "/docs/"))
                        .finish()
                }),
            )
            .default_service(web::to(not_found))
    };
    // What `HttpServer` assembles, with each accepted stream wrapped so that
    // the answers the HTTP layer writes itself carry a problem+json body
    // (`http::wire`); the timeouts are `HttpServer`'s defaults.
    let mut builder = Server::build().shutdown_timeout(30);
    if settings.server.workers > 0 {
        builder = builder.workers(settings.server.workers);
    }
    let server = builder
        .listen("rapport", listener, move || {
            let app = app()
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let http = HttpService::build()
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .finish(map_config(app, |()| AppConfig::default()));
            fn_service(|io: actix_web::rt::net::TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((ProblemStream::new(io), Protocol::Http1, peer))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}
