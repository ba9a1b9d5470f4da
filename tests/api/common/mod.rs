//! Test harness: spawns the real application on port 0 against a fresh
//! database (SQLite file, or a new PostgreSQL database per test).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rapport::Application;
use rapport::auth::{Claims, Role, mint_token};
use rapport::config::Settings;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

pub mod proxy;
pub mod receiver;

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const AGENT: &str = "agent-1";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(app: TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    (settings = $adjust:ident; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, super::$adjust).await;
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, super::$adjust).await;
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            )*
        }
    };
}

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// The database URL, for a second instance against the same database.
    pub url: String,
    statements: Arc<AtomicU64>,
    cleanup: Cleanup,
    /// Stops the instance as SIGTERM does.
    pub shutdown: rapport::startup::Shutdown,
    /// The running instance; it ends when the instance has stopped.
    pub running: tokio::task::JoinHandle<std::io::Result<()>>,
}

enum Cleanup {
    /// A second instance: the first one owns the database.
    Shared,
    File(std::path::PathBuf),
    Database {
        admin_url: String,
        name: String,
    },
}

/// A response: status, headers and the parsed JSON body (Null when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The body's `id` field as a string.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_owned()
    }

    /// Asserts a problem+json error with this status, naming `field` among its errors.
    pub fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(ct, "application/problem+json", "body: {}", self.body);
        for key in ["type", "title", "status", "detail", "code"] {
            assert!(!self.body[key].is_null(), "problem without {key}: {}", self.body);
        }
        if let Some(field) = field {
            let paths: Vec<&str> = self.body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["path"].as_str())
                .collect();
            assert!(
                paths.contains(&field),
                "expected an error on {field}, got {paths:?}: {}",
                self.body
            );
        }
    }
}

/// A streaming replica of the test PostgreSQL server with the database of
/// `primary_url` (every test database is replicated): `TEST_REPLICA_URL`, or
/// one `benches/replica.sh` creates (or finds) on port 5433.
pub fn replica_url(primary_url: &str) -> String {
    let base = std::env::var("TEST_REPLICA_URL").unwrap_or_else(|_| {
        let out = std::process::Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/replica.sh"))
            .env("PRIMARY_URL", postgres_url())
            .output()
            .expect("run benches/replica.sh");
        assert!(
            out.status.success(),
            "replica tests need a streaming replica: set TEST_REPLICA_URL, or let benches/replica.sh make one: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    });
    let name = primary_url.rsplit('/').next().unwrap_or_default();
    replace_database(&base, name)
}

fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let slash = base
        .rfind('/')
        .filter(|i| *i > base.find("://").map_or(0, |s| s + 2))
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Panics raised on the server's threads (not on a test's own thread) in
/// this test binary. A panic on a request path is a defect even when actix
/// survives it, so every test's cleanup fails while this list is not empty.
static SERVER_PANICS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn watch_for_server_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            // The server's request workers and the runtime's task threads;
            // a test's own thread is named after the test.
            if (name.starts_with("actix") || name.starts_with("tokio-runtime-worker"))
                && let Ok(mut panics) = SERVER_PANICS.lock()
            {
                panics.push(format!("{name}: {info}"));
            }
            default(info);
        }));
    });
}

/// The server-side panics seen so far.
pub fn server_panics() -> Vec<String> {
    SERVER_PANICS.lock().map(|p| p.clone()).unwrap_or_default()
}

impl TestApp {
    /// Spawns the app on a fresh database of the given kind.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns the app after adjusting its settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        watch_for_server_panics();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("rapport-test-{}.db", Uuid::now_v7()));
                (format!("sqlite://{}?mode=rwc", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url = postgres_url();
                let name = format!("rapport_test_{}", Uuid::now_v7().simple());
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server: set TEST_DATABASE_URL (tried {admin_url}): {e}. \
                         Run `cargo test sqlite::` to run only the SQLite half."
                    )
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                (
                    replace_database(&admin_url, &name),
                    Cleanup::Database { admin_url, name },
                )
            }
        };
        Self::serve(backend, url, cleanup, adjust).await
    }

    /// A second instance against the same database, as another server of a
    /// deployment would be.
    pub async fn spawn_on(first: &TestApp, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::serve(first.backend, first.url.clone(), Cleanup::Shared, adjust).await
    }

    async fn serve(backend: Backend, url: String, cleanup: Cleanup, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::for_database(&url, SECRET);
        adjust(&mut settings);
        let app = Application::build(settings).await.expect("build app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let statements = app.statement_counter();
        let shutdown = app.shutdown_handle();
        let running = tokio::spawn(app.run_until_stopped());
        Self {
            shutdown,
            running,
            address,
            client: reqwest::Client::new(),
            db,
            backend,
            url,
            statements,
            cleanup,
        }
    }

    /// Lets go of a second instance's connections.
    pub async fn detach(self) {
        self.db.clone().close().await.ok();
    }

    /// Drops the test database, and fails the test if any server thread panicked.
    pub async fn cleanup(self) {
        let panics = server_panics();
        assert!(panics.is_empty(), "the server panicked or overflowed: {panics:#?}");
        self.db.clone().close().await.ok();
        match self.cleanup {
            Cleanup::Shared => {}
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }

    /// SQL statements the server has run so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::SeqCst)
    }

    /// A token for a staff role (sub = role name, or `agent-1` for agents).
    pub fn token(&self, role: Role) -> String {
        let sub = if role == Role::Agent { AGENT } else { role.as_str() };
        let customer_id = (role == Role::Customer).then(Uuid::now_v7);
        self.token_with(role, sub, customer_id)
    }

    /// A customer token for one customer.
    pub fn customer_token(&self, customer_id: &str) -> String {
        self.token_with(
            Role::Customer,
            "customer-login",
            Some(customer_id.parse().expect("uuid")),
        )
    }

    pub fn token_with(&self, role: Role, sub: &str, customer_id: Option<Uuid>) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.into(),
            role,
            customer_id,
            partner_id: (role == Role::Partner).then(|| "partner-1".into()),
            iss: "rapport".into(),
            aud: "rapport-api".into(),
            iat: now,
            exp: now + 600,
        };
        mint_token(SECRET, &claims).expect("mint")
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        self.raw(method, path, token, bytes.map(|b| ("application/json", b)))
            .await
    }

    /// Sends a body as it is, with its content type.
    pub async fn raw(&self, method: Method, path: &str, token: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Reply {
        let mut req = self.client.request(method, format!("{}{}", self.address, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Runs a GraphQL operation.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let reply = self
            .request(
                Method::POST,
                "/graphql",
                token,
                Some(json!({ "query": query, "variables": variables })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "graphql body: {}", reply.body);
        reply.body
    }

    /// Creates a customer as admin and returns its id.
    pub async fn create_customer(&self, body: Value) -> String {
        let reply = self.post("/api/v1/customers", &self.token(Role::Admin), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.id()
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// How many events the log holds after a feed cursor (all without one).
    pub async fn count_after(&self, cursor: &Option<String>) -> i64 {
        use base64::Engine as _;
        let seq = cursor.as_ref().map_or(0, |c| {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .expect("cursor");
            let v: Value = serde_json::from_slice(&raw).expect("cursor json");
            let key = v["key"].as_str().expect("key").to_owned();
            key.split_once(':').expect("tx:seq").1.parse::<i64>().expect("seq")
        });
        self.count(&format!("event WHERE seq > {seq}")).await
    }

    /// The types of the events written so far whose type starts with
    /// `prefix`, in write order.
    pub async fn event_types(&self, prefix: &str) -> Vec<String> {
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT type AS t FROM event WHERE type LIKE '{prefix}%' ORDER BY seq"),
            ))
            .await
            .expect("events");
        rows.iter().map(|r| r.try_get::<String>("", "t").expect("t")).collect()
    }
}
