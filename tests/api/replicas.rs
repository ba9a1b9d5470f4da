//! Set-wide reads on a real streaming replica (`benches/replica.sh` makes
//! one of the test server): read-your-writes through the consistency token,
//! reads served by the replica, and a replica that lags or is down skipped —
//! never an error.

use std::time::{Duration, Instant};

use rapport::auth::Role;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

use crate::common::proxy::Proxy;
use crate::common::{Backend, TestApp, replica_url};

/// `rapport_db_reads_total` by target, from `/metrics`.
async fn reads(app: &TestApp, target: &str) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("rapport_db_reads_total{{target=\"{target}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap_or(0))
}

async fn replica_lag(app: &TestApp) -> Option<i64> {
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("rapport_state{what=\"replica_lag_ms\"} "))
        .and_then(|n| n.trim().parse().ok())
}

const PAIRS: usize = 1_000;

async fn set_wide_reads_go_to_the_replica_and_see_their_writes(app: &TestApp) {
    let manager = app.token(Role::Manager);
    let rule = json!({"rule": {"field": "tags", "op": "has_any", "value": ["pair"]}});
    if app.backend == Backend::Sqlite {
        // No replicas for an embedded file: writes carry no token, reads run here.
        let reply = app
            .post("/api/v1/customers", &manager, json!({"name": "Pair", "tags": ["pair"]}))
            .await;
        assert!(reply.headers.get("consistency-token").is_none());
        let preview = app.post("/api/v1/segments/preview", &manager, rule).await;
        assert_eq!(preview.body["count"], 1, "{}", preview.body);
        return;
    }
    let replica = replica_url(&app.url);
    let direct = Database::connect(&replica).await.expect("the replica");
    direct.execute_unprepared("SELECT pg_wal_replay_resume()").await.ok();
    let proxy = Proxy::start(Proxy::target_of(&replica)).await;
    let via_proxy = proxy.url_for(&replica);
    let other = TestApp::spawn_on(app, |s| {
        s.database.read_url = Some(via_proxy);
        s.database.read_max_lag_ms = 1_000;
    })
    .await;
    let started = Instant::now();
    while replica_lag(&other).await.is_none_or(|lag| lag < 0) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the replica was never measured"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Write, then read with the write's token: every read sees its write.
    // (Metrics are per process and other tests may run beside this one:
    // only replica reads, which only this test makes, are counted exactly.)
    let replica_before = reads(&other, "replica").await;
    for i in 1..=PAIRS {
        let reply = other
            .post(
                "/api/v1/customers",
                &manager,
                json!({"name": format!("Pair {i}"), "tags": ["pair"]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let token = reply
            .headers
            .get("consistency-token")
            .and_then(|v| v.to_str().ok())
            .expect("a write carries its token")
            .to_owned();
        let preview = other
            .client
            .post(format!("{}/api/v1/segments/preview", other.address))
            .bearer_auth(&manager)
            .header("consistency-token", token)
            .json(&rule)
            .send()
            .await
            .expect("preview");
        let body: serde_json::Value = preview.json().await.expect("json");
        assert_eq!(body["count"], i, "pair {i} did not see its write");
    }
    let on_replica = reads(&other, "replica").await - replica_before;
    println!("{PAIRS} reads with a token: {on_replica} on the replica, the rest on the primary");
    assert!(
        on_replica > 0 && on_replica <= PAIRS as u64,
        "{on_replica} reads on the replica"
    );

    // Reports without a token go to the replica too.
    let before = reads(&other, "replica").await;
    for path in [
        "/api/v1/analytics/rfm",
        "/api/v1/analytics/feedback",
        "/api/v1/analytics/needs",
    ] {
        let reply = other.get(path, &manager).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    assert_eq!(reads(&other, "replica").await - before, 3);

    // A replica that lags beyond the bound is skipped.
    direct
        .execute_unprepared("SELECT pg_wal_replay_pause()")
        .await
        .expect("pause");
    other
        .post(
            "/api/v1/customers",
            &manager,
            json!({"name": "Behind", "tags": ["pair"]}),
        )
        .await;
    let started = Instant::now();
    while replica_lag(&other).await.is_none_or(|lag| lag <= 1_000) {
        assert!(started.elapsed() < Duration::from_secs(20), "the lag never showed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = reads(&other, "replica").await;
    let preview = other.post("/api/v1/segments/preview", &manager, rule.clone()).await;
    assert_eq!(preview.body["count"], PAIRS + 1, "a lagging replica served a read");
    assert_eq!(
        reads(&other, "replica").await,
        before,
        "a lagging replica served a read"
    );
    direct
        .execute_unprepared("SELECT pg_wal_replay_resume()")
        .await
        .expect("resume");

    // A replica that is down is skipped: reads still answer 200.
    proxy.down();
    for path in [
        "/api/v1/analytics/rfm",
        "/api/v1/analytics/feedback",
        "/api/v1/analytics/needs",
    ] {
        let reply = other.get(path, &manager).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let preview = other.post("/api/v1/segments/preview", &manager, rule).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    direct.close().await.ok();
    other.detach().await;
}

on_both_databases!(set_wide_reads_go_to_the_replica_and_see_their_writes);
