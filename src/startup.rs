//! Building and running the application: `Application::build(settings)` binds
//! its own listener (port 0 in tests), then `run_until_stopped`.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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
use sea_orm::DatabaseConnection;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::error::AppError;
use crate::http::edge::{BodyLimit, RouteTable};
use crate::http::ops::Lifecycle;
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
    lifecycle: web::Data<Lifecycle>,
    replica: Option<Arc<crate::replica::Replica>>,
    shutdown: Shutdown,
    drain: Duration,
    shutdown_timeout: Duration,
}

/// Asks a running application to stop as SIGTERM does (drain, then stop).
#[derive(Clone, Default)]
pub struct Shutdown(Arc<tokio::sync::Notify>);

impl Shutdown {
    /// Starts the shutdown; `run_until_stopped` returns once it is over.
    pub fn trigger(&self) {
        self.0.notify_one();
    }
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
        let db = crate::database::connect(&settings, statements.clone()).await?;
        if settings.database.migrate_on_start {
            crate::database::migrate(&db).await?;
        }
        let keys = JwtKeys::from_settings(&settings.auth)?;
        let listener =
            TcpListener::bind(&settings.server.addr).with_context(|| format!("binding {}", settings.server.addr))?;
        let port = listener.local_addr()?.port();
        let jobs = JobContext::new(db.clone(), Arc::new(settings.clone()))?;
        let lifecycle = web::Data::new(Lifecycle::new(Duration::from_millis(settings.server.ready_timeout_ms)));
        let replica = crate::replica::Replica::from_settings(&settings).await?;
        let server = serve(
            listener,
            db.clone(),
            keys,
            &settings,
            jobs.clone(),
            (lifecycle.clone(), replica.clone()),
        )?;
        Ok(Self {
            port,
            server,
            db,
            statements,
            jobs,
            lifecycle,
            replica,
            shutdown: Shutdown::default(),
            drain: Duration::from_secs(settings.server.drain_secs),
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
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

    /// A handle that stops this application as SIGTERM does.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves, with the scheduled jobs, until SIGTERM/SIGINT (or the
    /// shutdown handle). Then: readiness says 503 at once and the jobs stop
    /// starting runs; for the drain period the instance still serves,
    /// answering with `Connection: close`; then it stops accepting, and
    /// requests in flight, job runs under way and the webhook sends they
    /// started get the shutdown timeout to finish.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let mut loops = crate::service::jobs::schedule(&self.jobs, &jobs_stopped);
        if let Some(replica) = &self.replica {
            loops.push(replica.watch(self.db.clone(), jobs_stopped.clone()));
        }
        let handle = self.server.handle();
        let mut server = self.server;
        let ended = tokio::select! {
            result = &mut server => Some(result),
            () = stop_requested(&self.shutdown) => None,
        };
        let result = match ended {
            Some(result) => result,
            None => {
                tracing::info!(drain_secs = self.drain.as_secs(), "stopping: draining");
                self.lifecycle.begin_draining();
                let _ = stop_jobs.send(true);
                tokio::select! {
                    result = &mut server => result,
                    () = tokio::time::sleep(self.drain) => {
                        tracing::info!("stopping: no new connections; finishing requests in flight");
                        let ((), result) = tokio::join!(handle.stop(true), &mut server);
                        result
                    }
                }
            }
        };
        let _ = stop_jobs.send(true);
        crate::service::jobs::wind_down(&self.jobs, loops, self.shutdown_timeout).await;
        tracing::info!("stopped");
        result
    }
}

/// SIGTERM, SIGINT, or the shutdown handle.
async fn stop_requested(shutdown: &Shutdown) {
    let terminate = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
        () = shutdown.0.notified() => {}
    }
}

fn serve(
    listener: TcpListener,
    db: DatabaseConnection,
    keys: JwtKeys,
    settings: &Settings,
    jobs: JobContext,
    (lifecycle, replica): (web::Data<Lifecycle>, Option<Arc<crate::replica::Replica>>),
) -> anyhow::Result<Server> {
    let replica = web::Data::new(crate::http::db::ReadReplica(replica));
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
            .wrap(crate::http::retry::RetryReads)
            .wrap(actix_web::middleware::from_fn(crate::http::idempotency::idempotency))
            .wrap(actix_web::middleware::from_fn(crate::http::db::stamp_consistency_token))
            .wrap(actix_web::middleware::from_fn(crate::http::edge::guard))
            .wrap(actix_web::middleware::from_fn(crate::http::rate_limit::limit))
            .wrap(actix_web::middleware::from_fn(crate::http::metrics::record))
            .wrap(actix_web::middleware::from_fn(request_id))
            .wrap(actix_web::middleware::from_fn(crate::http::ops::close_while_draining))
            .wrap(TracingLogger::default())
            .app_data(db.clone())
            .app_data(jobs.clone())
            .app_data(lifecycle.clone())
            .app_data(replica.clone())
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
    // (`http::wire`); the timeouts are `HttpServer`'s defaults. Signals are
    // ours (`run_until_stopped`), so the instance drains before it stops.
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.server.shutdown_timeout_secs);
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
