//! Outages answer fast and honestly: a database that cannot be reached, or
//! drops the connection, or takes no writes, is `503 database_unavailable`
//! with `Retry-After` (never 500, never a 30 s hang), a read cut off by a
//! dropped connection is tried once more, `/readyz` says why an instance
//! should get no traffic, and a stopping instance drains before it stops.

use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use rapport::auth::Role;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::proxy::Proxy;
use crate::common::{Backend, Reply, TestApp};

/// A 503 `database_unavailable` with its `Retry-After`.
fn assert_unavailable(reply: &Reply) {
    reply.assert_problem(503, None);
    assert_eq!(reply.body["code"], "database_unavailable", "{}", reply.body);
    assert!(reply.headers.get("retry-after").is_some(), "no Retry-After");
}

/// An instance of `app`'s database reached through a proxy the test controls.
async fn behind_proxy(app: &TestApp) -> (TestApp, Proxy) {
    let proxy = Proxy::start(Proxy::target_of(&app.url)).await;
    let url = proxy.url_for(&app.url);
    let other = TestApp::spawn_on(app, |s| {
        s.database.url = url;
        s.database.acquire_timeout_ms = 500;
        s.database.connect_timeout_ms = 500;
    })
    .await;
    (other, proxy)
}

async fn an_outage_is_a_fast_503_and_nothing_is_written(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let before = app.count("customer").await;
    match app.backend {
        Backend::Postgres => {
            let (other, proxy) = behind_proxy(app).await;
            assert_eq!(other.get("/api/v1/customers", &admin).await.status, StatusCode::OK);

            // Down: connections are refused as soon as they are made.
            proxy.down();
            assert_unavailable(&other.get("/api/v1/customers", &admin).await);
            assert_unavailable(&other.post("/api/v1/customers", &admin, json!({"name": "Lost"})).await);
            let reply = other
                .request(
                    reqwest::Method::POST,
                    "/graphql",
                    Some(&admin),
                    Some(json!({"query": "{ customers(first: 1) { edges { node { id } } } }"})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
            assert_eq!(reply.body["errors"][0]["extensions"]["code"], "database_unavailable");

            // A black hole: new connections hang; the answer still comes
            // within the acquire timeout (0.5 s here, not the pool's 30 s).
            proxy.black_hole();
            let started = Instant::now();
            assert_unavailable(&other.get("/api/v1/customers", &admin).await);
            let waited = started.elapsed();
            assert!(waited < Duration::from_secs(10), "waited {waited:?}");
            let started = Instant::now();
            let ready = other.request(reqwest::Method::GET, "/readyz", None, None).await;
            assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(ready.body["status"], "database unavailable");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "readyz took {:?}",
                started.elapsed()
            );

            // Back: the instance recovers by itself.
            proxy.up();
            assert_eq!(other.get("/api/v1/customers", &admin).await.status, StatusCode::OK);
            let ready = other.request(reqwest::Method::GET, "/readyz", None, None).await;
            assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
            other.detach().await;
        }
        Backend::Sqlite => {
            // An embedded database is not "unreachable"; what an outage looks
            // like here is another writer holding the lock past the busy timeout.
            let other = TestApp::spawn_on(app, |s| s.database.busy_timeout_ms = 200).await;
            let locker = Database::connect(&app.url).await.expect("connect");
            let txn = locker.begin().await.expect("begin");
            txn.execute_unprepared("INSERT INTO job_run (name) VALUES ('lock_probe')")
                .await
                .expect("take the write lock");
            assert_unavailable(&other.post("/api/v1/customers", &admin, json!({"name": "Lost"})).await);
            // Readers carry on (WAL).
            assert_eq!(other.get("/api/v1/customers", &admin).await.status, StatusCode::OK);
            txn.rollback().await.expect("rollback");
            locker.close().await.ok();
            assert_eq!(
                other
                    .post("/api/v1/customers", &admin, json!({"name": "Kept"}))
                    .await
                    .status,
                StatusCode::CREATED
            );
            other.detach().await;
        }
    }
    let lost = app.count("customer WHERE name = 'Lost'").await;
    assert_eq!(lost, 0, "a write answered 503 left a row");
    assert!(app.count("customer").await >= before);
}

async fn a_read_cut_off_by_a_dropped_connection_is_tried_again(app: &TestApp) {
    let admin = app.token(Role::Admin);
    app.create_customer(json!({"name": "Kept"})).await;
    if app.backend == Backend::Sqlite {
        // No connection to drop: the file is the database. The same reads
        // and writes go through untouched by the retry.
        assert_eq!(
            app.get("/api/v1/customers", &admin).await.body["items"][0]["name"],
            "Kept"
        );
        return;
    }
    let (other, proxy) = behind_proxy(app).await;
    // Fill the pool with idle connections, then break them all, as a
    // restart of the database does.
    let reads = (0..4).map(|_| other.get("/api/v1/customers", &admin));
    for reply in futures_util::future::join_all(reads).await {
        assert_eq!(reply.status, StatusCode::OK);
    }
    proxy.cut();
    let reply = other.get("/api/v1/customers", &admin).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["items"][0]["name"], "Kept");

    proxy.cut();
    let graphql = other
        .graphql(
            Some(&admin),
            "{ customers(first: 5) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        graphql["data"]["customers"]["edges"][0]["node"]["name"], "Kept",
        "{graphql}"
    );

    // A write on a broken connection is not tried again (whether it
    // committed is not known here): 503, and the client retries.
    proxy.cut();
    let reply = other.post("/api/v1/customers", &admin, json!({"name": "Lost"})).await;
    assert!(
        reply.status == StatusCode::CREATED || reply.status == StatusCode::SERVICE_UNAVAILABLE,
        "{}: {}",
        reply.status,
        reply.body
    );
    if reply.status == StatusCode::SERVICE_UNAVAILABLE {
        assert_unavailable(&reply);
        assert_eq!(app.count("customer WHERE name = 'Lost'").await, 0);
    }

    // A keyed write cut off the same way answers 503 or its 201, never a 500;
    // sent again with its key, it is stored exactly once.
    let key = uuid::Uuid::now_v7().to_string();
    let keyed = || {
        other
            .client
            .post(format!("{}/api/v1/customers", other.address))
            .bearer_auth(&admin)
            .header("idempotency-key", &key)
            .json(&json!({"name": "Keyed"}))
            .send()
    };
    proxy.cut();
    let first = keyed().await.expect("first").status();
    assert!(
        first == StatusCode::CREATED || first == StatusCode::SERVICE_UNAVAILABLE,
        "{first}"
    );
    let again = keyed().await.expect("again").status();
    assert_eq!(again, StatusCode::CREATED);
    assert_eq!(app.count("customer WHERE name = 'Keyed'").await, 1);
    other.detach().await;
}

async fn readiness_says_why_an_instance_should_get_no_traffic(app: &TestApp) {
    let ready = app.request(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["status"], "ready");

    // A build ahead of its database: 503 until the migration is applied.
    Migrator::down(&app.db, Some(1)).await.expect("down one");
    let behind = TestApp::spawn_on(app, |s| s.database.migrate_on_start = false).await;
    let ready = behind.request(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "migrations pending");
    Migrator::up(&app.db, None).await.expect("up");
    let ready = behind.request(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    behind.detach().await;

    // A database that takes no writes: not ready, and a write is a 503, not a 500.
    let admin = app.token(Role::Admin);
    match app.backend {
        Backend::Postgres => {
            let name = app.url.rsplit('/').next().unwrap_or_default().to_owned();
            app.db
                .execute_unprepared(&format!("ALTER DATABASE {name} SET default_transaction_read_only = on"))
                .await
                .expect("read-only");
            // It starts (nothing pending, nothing written), and says it is not ready.
            let replica = TestApp::spawn_on(app, |_| {}).await;
            let ready = replica.request(reqwest::Method::GET, "/readyz", None, None).await;
            assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(ready.body["status"], "database read-only");
            assert_unavailable(&replica.post("/api/v1/customers", &admin, json!({"name": "Lost"})).await);
            assert_eq!(replica.get("/api/v1/customers", &admin).await.status, StatusCode::OK);
            replica.detach().await;
            app.db
                .execute_unprepared(&format!("ALTER DATABASE {name} RESET default_transaction_read_only"))
                .await
                .expect("writable again");
        }
        Backend::Sqlite => {
            let url = app.url.replace("mode=rwc", "mode=ro");
            let replica = TestApp::spawn_on(app, |s| s.database.url = url).await;
            assert_unavailable(&replica.post("/api/v1/customers", &admin, json!({"name": "Lost"})).await);
            assert_eq!(replica.get("/api/v1/customers", &admin).await.status, StatusCode::OK);
            replica.detach().await;
        }
    }
    assert_eq!(app.count("customer WHERE name = 'Lost'").await, 0);
}

/// Sends a request whose body arrives in two parts, `pause` apart, and
/// returns the raw answer.
async fn slow_post(address: &str, token: &str, pause: Duration) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let body = br#"{"name": "Slow"}"#;
    let head = format!(
        "POST /api/v1/customers HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body[..5]).await.expect("first part");
    tokio::time::sleep(pause).await;
    stream.write_all(&body[5..]).await.expect("second part");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_stopping_instance_drains_then_finishes_what_it_has(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let other = TestApp::spawn_on(app, |s| {
        s.server.drain_secs = 1;
        s.jobs.sla_sweep_interval_secs = 1;
    })
    .await;
    // The scheduled job runs before the stop…
    let started = Instant::now();
    while app
        .count("job_run WHERE name = 'sla_sweep' AND last_finished_at IS NOT NULL")
        .await
        == 0
    {
        assert!(started.elapsed() < Duration::from_secs(20), "the sweep never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A request in flight when the stop comes, its body still arriving
    // after the instance has stopped accepting.
    let in_flight = tokio::spawn({
        let (address, admin) = (other.address.clone(), admin.clone());
        async move { slow_post(&address, &admin, Duration::from_millis(1_600)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    other.shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Draining: not ready, still serving, and asking clients to go elsewhere.
    let ready = other.request(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "draining");
    let reply = other.get("/api/v1/customers", &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );
    let runs_at_stop = app.count("job_run WHERE name = 'sla_sweep'").await;
    let last = job_started_at(app).await;

    // The request in flight is answered in full.
    let answer = in_flight.await.expect("in flight");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(app.count("customer WHERE name = 'Slow'").await, 1);

    // Then the instance stops: no new connections, the loop returns.
    let result = tokio::time::timeout(Duration::from_secs(20), other.running)
        .await
        .expect("stops")
        .expect("joins");
    assert!(result.is_ok(), "{result:?}");
    let host = other.address.trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(&host).await.is_err(), "still accepting");
    // …and not after: no run started since, and no lease is left behind.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(app.count("job_run WHERE name = 'sla_sweep'").await, runs_at_stop);
    assert_eq!(job_started_at(app).await, last, "a job started after the stop");
    assert_eq!(app.count("job_run WHERE locked_by IS NOT NULL").await, 0);
    other.db.clone().close().await.ok();
}

async fn job_started_at(app: &TestApp) -> String {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT CAST(last_started_at AS TEXT) AS at FROM job_run WHERE name = 'sla_sweep'",
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<Option<String>>("", "at").expect("at").unwrap_or_default()
}

on_both_databases!(
    an_outage_is_a_fast_503_and_nothing_is_written,
    a_read_cut_off_by_a_dropped_connection_is_tried_again,
    readiness_says_why_an_instance_should_get_no_traffic,
    a_stopping_instance_drains_then_finishes_what_it_has,
);
