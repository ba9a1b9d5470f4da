//! Webhooks against a local receiver: Standard Webhooks signatures checked
//! with an independent HMAC, retries that keep the id, 410 and running out
//! of attempts, the address guard at send time, two senders at once,
//! rotation, tests, redelivery and replay.

use crate::common::TestApp;
use crate::common::receiver::{Received, Receiver};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rapport::auth::Role;
use rapport::config::Settings;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

/// The receiver is on 127.0.0.1; retries are due at once.
fn local(s: &mut Settings) {
    s.webhooks.allow_private_networks = "127.0.0.1".into();
    s.webhooks.retry_schedule_secs = "0,0,0,0".into();
}

/// Nothing private allowed, as in production.
fn guarded(s: &mut Settings) {
    s.webhooks.retry_schedule_secs = "0".into();
}

/// Verifies a `webhook-signature` header the way the spec says a receiver
/// must, with its own HMAC: one of the listed signatures matches.
fn signed_by(r: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.headers["webhook-signature"].split(' ').any(|s| s == expected)
}

async fn run(app: &TestApp, job: &str) -> Value {
    let reply = app
        .post(&format!("/api/v1/jobs/{job}/run"), &app.token(Role::Admin), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["last_outcome"], "succeeded", "{}", reply.body);
    reply.body
}

/// Fans out every event written so far and sends what is due.
pub(crate) async fn deliver(app: &TestApp) {
    fan_out(app).await;
    run(app, "webhook_delivery").await;
}

/// Runs the fan-out until it has read the whole log (on PostgreSQL the feed
/// may wait on other tests' transactions).
async fn fan_out(app: &TestApp) {
    for _ in 0..400 {
        run(app, "webhook_fanout").await;
        let position = entity::feed_position::Entity::find_by_id("webhooks")
            .one(&app.db)
            .await
            .unwrap();
        if app.count_after(&position.map(|p| p.cursor)).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the fan-out never caught up");
}

async fn subscribe(app: &TestApp, url: &str, types: Value) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/webhooks",
            &app.token(Role::Admin),
            json!({"url": url, "event_types": types}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let secret = reply.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (reply.id(), secret)
}

async fn each_change_arrives_once_signed_and_a_retry_keeps_its_id(app: &TestApp) {
    let receiver = Receiver::start().await;
    let (hook, secret) = subscribe(app, &receiver.url("/hook"), json!(["customer.created"])).await;
    let shown = app
        .get(&format!("/api/v1/webhooks/{hook}"), &app.token(Role::Admin))
        .await;
    assert!(
        shown.body.get("secret").is_none(),
        "the secret shows only once: {}",
        shown.body
    );

    let customer = app.create_customer(json!({"name": "First"})).await;
    app.patch(
        &format!("/api/v1/customers/{customer}"),
        &app.token(Role::Admin),
        json!({"city": "Oslo"}),
    )
    .await;
    deliver(app).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "only the subscribed type: {got:?}");
    let first = &got[0];
    assert_eq!(first.path, "/hook");
    assert!(signed_by(first, &secret), "{first:?}");
    let ts: i64 = first.headers["webhook-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["id"], first.headers["webhook-id"].as_str());
    assert_eq!(body["data"]["customer_id"], customer.as_str());
    // The same event as the feed has it, id included.
    let feed = app
        .get("/api/v1/events?types=customer.created", &app.token(Role::Admin))
        .await;
    assert_eq!(feed.body["items"][0]["id"], body["id"]);

    // Fan-out and sending again change nothing.
    deliver(app).await;
    assert_eq!(receiver.received().len(), 1);

    // Three failures, then success: four attempts, one id, each signed.
    receiver.script(
        "/hook",
        vec![
            (500, vec![], "boom".into()),
            (503, vec![], "later".into()),
            (500, vec![], "mail me at ops@example.com".into()),
        ],
    );
    app.create_customer(json!({"name": "Second"})).await;
    for _ in 0..4 {
        deliver(app).await;
    }
    let got = receiver.received();
    assert_eq!(got.len(), 5, "{got:?}");
    let retried = &got[1..];
    assert!(
        retried
            .iter()
            .all(|r| r.headers["webhook-id"] == retried[0].headers["webhook-id"])
    );
    assert!(retried.iter().all(|r| signed_by(r, &secret)));
    let admin = app.token(Role::Admin);
    let deliveries = app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &admin).await;
    let latest = &deliveries.body["items"][0];
    assert_eq!(latest["status"], "succeeded", "{}", deliveries.body);
    assert_eq!(latest["attempts"], 4);
    assert_eq!(latest["last_status_code"], 200);
    let log = app
        .get(&format!("/api/v1/webhooks/{hook}/attempts?limit=4"), &admin)
        .await;
    let codes: Vec<i64> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [200, 500, 503, 500], "newest first");
    assert_eq!(
        log.body["items"][1]["response_body"], "mail me at o***@example.com",
        "sanitised"
    );
    assert!(log.body["items"][0]["latency_ms"].as_i64().unwrap() >= 0);
    let hook_now = app.get(&format!("/api/v1/webhooks/{hook}"), &admin).await;
    assert!(
        hook_now.body["failing_since"].is_null(),
        "a success ends the failing run"
    );
}

async fn gone_disables_redirects_are_failures_and_attempts_run_out(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let receiver = Receiver::start().await;
    let (hook, _) = subscribe(app, &receiver.url("/gone"), json!([])).await;

    // A redirect is a failed attempt and is not followed.
    receiver.script(
        "/gone",
        vec![(302, vec![("location", "http://10.0.0.1/steal".into())], String::new())],
    );
    app.create_customer(json!({"name": "Redirected"})).await;
    deliver(app).await;
    assert_eq!(receiver.received().len(), 1);
    let log = app.get(&format!("/api/v1/webhooks/{hook}/attempts"), &admin).await;
    assert_eq!(log.body["items"][0]["status_code"], 302);
    // 429 with Retry-After: the next attempt waits as asked.
    receiver.script("/gone", vec![(429, vec![("retry-after", "120".into())], String::new())]);
    deliver(app).await;
    let d = app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &admin).await;
    let next = chrono::DateTime::parse_from_rfc3339(d.body["items"][0]["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = (next.to_utc() - chrono::Utc::now()).num_seconds();
    assert!((100..=121).contains(&wait), "{wait} s: {}", d.body);
    assert_eq!(receiver.received().len(), 2);

    // Attempts run out (five in all with this schedule): the delivery fails.
    let (hook2, _) = subscribe(app, &receiver.url("/flaky"), json!(["order.completed"])).await;
    receiver.script("/flaky", vec![(500, vec![], String::new()); 5]);
    let customer = app.create_customer(json!({"name": "Buyer"})).await;
    let order = json!({"customer_id": customer, "amount_minor": 100, "currency": "EUR"});
    assert_eq!(app.post("/api/v1/orders", &admin, order).await.status, 201);
    for _ in 0..6 {
        deliver(app).await;
    }
    let d = app.get(&format!("/api/v1/webhooks/{hook2}/deliveries"), &admin).await;
    assert_eq!(d.body["items"][0]["status"], "failed", "{}", d.body);
    assert_eq!(d.body["items"][0]["attempts"], 5);
    let flaky: Vec<_> = receiver.received().into_iter().filter(|r| r.path == "/flaky").collect();
    assert_eq!(flaky.len(), 5);

    // 410 turns the subscription off and says so in the log.
    receiver.script("/flaky", vec![(410, vec![], String::new())]);
    app.post(&format!("/api/v1/webhooks/{hook2}/test"), &admin, json!({}))
        .await;
    let off = app.get(&format!("/api/v1/webhooks/{hook2}"), &admin).await;
    assert_eq!(off.body["active"], false, "{}", off.body);
    assert!(off.body["disabled_reason"].as_str().unwrap().contains("410"));
    let mut disabled = Value::Null;
    for _ in 0..400 {
        disabled = app
            .get("/api/v1/events?types=webhook.endpoint_disabled", &admin)
            .await
            .body;
        if disabled["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(disabled["items"][0]["data"]["webhook_id"], hook2.as_str(), "{disabled}");
    // Nothing more goes to it until it is turned on again.
    let before = receiver.received().len();
    app.create_customer(json!({"name": "Unsent"})).await;
    deliver(app).await;
    let to_flaky = receiver.received()[before..]
        .iter()
        .filter(|r| r.path == "/flaky")
        .count();
    assert_eq!(to_flaky, 0);
    let on = app
        .patch(&format!("/api/v1/webhooks/{hook2}"), &admin, json!({"active": true}))
        .await;
    assert_eq!(on.body["disabled_reason"], Value::Null);
}

async fn the_address_is_checked_when_sending(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let receiver = Receiver::start().await;
    for url in [
        receiver.url("/x"),
        format!("http://localhost:{}/x", receiver.port),
        "http://[::ffff:10.0.0.1]/x".to_owned(),
        "http://169.254.169.254/latest".to_owned(),
        "ftp://example.com/x".to_owned(),
        "not a url".to_owned(),
    ] {
        app.post("/api/v1/webhooks", &admin, json!({"url": url}))
            .await
            .assert_problem(422, Some("url"));
    }
    // A name that was public when saved and now resolves to loopback, or an
    // address that became private: refused when sending, logged as failed.
    let (hook, _) = subscribe(app, "https://hooks.example.com/in", json!(["customer.created"])).await;
    for url in [
        format!("http://localhost:{}/x", receiver.port),
        "http://[::ffff:10.0.0.1]/x".into(),
    ] {
        entity::webhook::Entity::update_many()
            .col_expr(entity::webhook::Column::Url, Expr::value(url.clone()))
            .filter(entity::webhook::Column::Id.eq(uuid::Uuid::parse_str(&hook).unwrap()))
            .exec(&app.db)
            .await
            .unwrap();
        let test = app
            .post(&format!("/api/v1/webhooks/{hook}/test"), &admin, json!({}))
            .await;
        assert_eq!(test.status, 200, "{}", test.body);
        assert_eq!(test.body["last_status_code"], Value::Null);
        let log = app
            .get(&format!("/api/v1/webhooks/{hook}/attempts?limit=1"), &admin)
            .await;
        let error = log.body["items"][0]["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains("not a public address"), "{url}: {error}");
    }
    assert!(receiver.received().is_empty(), "nothing reached the private address");
}

async fn two_senders_deliver_each_event_once_and_a_dead_one_is_covered(app: &TestApp) {
    let receiver = Receiver::start().await;
    subscribe(app, &receiver.url("/many"), json!(["customer.created"])).await;
    for i in 0..20 {
        app.create_customer(json!({"name": format!("N{i}")})).await;
    }
    fan_out(app).await;
    assert_eq!(app.count("webhook_delivery").await, 20);
    // Two instances send at once, each at most four to one subscription per
    // run, until nothing is pending.
    let second = TestApp::spawn_on(app, local).await;
    for _ in 0..10 {
        tokio::join!(run(app, "webhook_delivery"), run(&second, "webhook_delivery"));
        if app.count("webhook_delivery WHERE status = 'pending'").await == 0 {
            break;
        }
    }
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.headers["webhook-id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (20, 20), "each once");

    // A sender that died after its POST leaves the row claimed; once the
    // claim lapses the delivery goes again, with the same id.
    let one = entity::webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    entity::webhook_delivery::Entity::update_many()
        .col_expr(entity::webhook_delivery::Column::Status, Expr::value("pending"))
        .col_expr(
            entity::webhook_delivery::Column::Claim,
            Expr::value(uuid::Uuid::now_v7()),
        )
        .col_expr(
            entity::webhook_delivery::Column::NextAttemptAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::webhook_delivery::Column::Id.eq(one.id))
        .exec(&app.db)
        .await
        .unwrap();
    run(app, "webhook_delivery").await;
    let again = receiver.received();
    assert_eq!(again.len(), 21);
    assert_eq!(again[20].headers["webhook-id"], one.event_id.to_string());
    second.detach().await;
}

async fn rotation_tests_redelivery_and_replay(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let receiver = Receiver::start().await;
    let (hook, old) = subscribe(app, &receiver.url("/r"), json!(["customer.created"])).await;
    let rotated = app
        .post(&format!("/api/v1/webhooks/{hook}/rotate-secret"), &admin, json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["previous_secret_until"].is_string());
    let test = app
        .post(&format!("/api/v1/webhooks/{hook}/test"), &admin, json!({}))
        .await;
    assert_eq!(test.body["last_status_code"], 200, "{}", test.body);
    assert_eq!(test.body["event_type"], "webhook.test");
    let sent = receiver.received().pop().unwrap();
    assert_eq!(
        sent.headers["webhook-signature"].split(' ').count(),
        2,
        "both secrets sign during the overlap"
    );
    assert!(signed_by(&sent, &new) && signed_by(&sent, &old));

    // Redelivery of a finished delivery: once more, same id.
    let redo = app
        .post(
            &format!("/api/v1/webhooks/{hook}/deliveries/{}/redeliver", test.id()),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(redo.status, 200, "{}", redo.body);
    assert_eq!(redo.body["status"], "pending");
    app.post(
        &format!("/api/v1/webhooks/{hook}/deliveries/{}/redeliver", test.id()),
        &admin,
        json!({}),
    )
    .await
    .assert_problem(409, None);
    run(app, "webhook_delivery").await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].headers["webhook-id"], got[0].headers["webhook-id"]);

    // A failed delivery, replayed: queued as a job, then sent.
    receiver.script("/r", vec![(500, vec![], String::new()); 5]);
    app.create_customer(json!({"name": "Replayed"})).await;
    for _ in 0..5 {
        deliver(app).await;
    }
    let failed = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries?status=failed"), &admin)
        .await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1, "{}", failed.body);
    let now = chrono::Utc::now();
    let window = json!({"since": (now - chrono::Duration::hours(1)).to_rfc3339(), "until": (now + chrono::Duration::hours(1)).to_rfc3339()});
    let replay = app
        .post(&format!("/api/v1/webhooks/{hook}/replay"), &admin, window)
        .await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.body["state"], "queued");
    run(app, "webhook_replay").await;
    let done = app
        .get(&format!("/api/v1/webhooks/{hook}/replays/{}", replay.id()), &admin)
        .await;
    assert_eq!(done.body["state"], "done");
    assert_eq!(done.body["requeued"], 1, "{}", done.body);
    run(app, "webhook_delivery").await;
    let failed = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries?status=failed"), &admin)
        .await;
    assert_eq!(failed.body["items"], json!([]));
    app.post(
        &format!("/api/v1/webhooks/{hook}/replay"),
        &admin,
        json!({"since": now.to_rfc3339(), "until": (now - chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await
    .assert_problem(422, Some("until"));

    // Only admins.
    for role in [Role::Manager, Role::Agent, Role::Analyst, Role::Partner] {
        let token = app.token(role);
        for (method, path) in [
            (Method::GET, "/api/v1/webhooks".to_owned()),
            (Method::POST, "/api/v1/webhooks".to_owned()),
            (Method::GET, format!("/api/v1/webhooks/{hook}/attempts")),
            (Method::POST, format!("/api/v1/webhooks/{hook}/test")),
            (Method::DELETE, format!("/api/v1/webhooks/{hook}")),
        ] {
            app.request(
                method,
                &path,
                Some(&token),
                Some(json!({"url": "https://x.example.com"})),
            )
            .await
            .assert_problem(403, None);
        }
    }
    assert_eq!(
        app.delete(&format!("/api/v1/webhooks/{hook}"), &admin).await.status,
        204
    );
    assert_eq!(app.count("webhook_delivery").await, 0);
}

on_both_databases!(
    settings = local;
    each_change_arrives_once_signed_and_a_retry_keeps_its_id,
    gone_disables_redirects_are_failures_and_attempts_run_out,
    two_senders_deliver_each_event_once_and_a_dead_one_is_covered,
    rotation_tests_redelivery_and_replay,
);

/// A subscription is given up on at its first failure.
fn impatient(s: &mut Settings) {
    local(s);
    s.webhooks.disable_after_secs = 0;
}

async fn an_endpoint_failing_too_long_is_turned_off(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let receiver = Receiver::start().await;
    let (hook, _) = subscribe(app, &receiver.url("/down"), json!(["customer.created"])).await;
    receiver.script("/down", vec![(500, vec![], "down".into())]);
    app.create_customer(json!({"name": "Unlucky"})).await;
    deliver(app).await;
    let off = app.get(&format!("/api/v1/webhooks/{hook}"), &admin).await;
    assert_eq!(off.body["active"], false, "{}", off.body);
    assert!(
        off.body["disabled_reason"].as_str().unwrap().contains("failed since"),
        "{}",
        off.body
    );
    assert!(off.body["failing_since"].is_string());
    let mut disabled = Value::Null;
    for _ in 0..400 {
        disabled = app
            .get("/api/v1/events?types=webhook.endpoint_disabled", &admin)
            .await
            .body;
        if disabled["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(disabled["items"][0]["data"]["webhook_id"], hook.as_str(), "{disabled}");
    assert!(
        disabled["items"][0]["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("failed since")
    );
}

mod patience {
    use super::{an_endpoint_failing_too_long_is_turned_off, impatient};
    on_both_databases!(settings = impatient; an_endpoint_failing_too_long_is_turned_off);
}

mod production {
    use super::{guarded, the_address_is_checked_when_sending};
    on_both_databases!(settings = guarded; the_address_is_checked_when_sending);
}
