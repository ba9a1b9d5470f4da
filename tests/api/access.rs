//! The role-matrix runner every area uses (each area keeps its own matrix),
//! ownership and customer-token isolation, and the JWT checks.

use crate::common::{AGENT, SECRET, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rapport::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// Fresh records for one request, so writes never depend on earlier cases.
struct Fixture {
    /// Owned by the agent.
    owned: String,
    /// Owned by someone else.
    foreign: String,
    contact: String,
    order: String,
    static_segment: String,
    dynamic_segment: String,
    /// An active NPS survey and the owned customer's invitation to it, made
    /// only for routes that name them.
    survey: Option<(String, String)>,
}

async fn fixture(app: &TestApp, with_survey: bool) -> Fixture {
    let admin = app.token(Role::Admin);
    let owned = app
        .create_customer(
            json!({"name": "Owned", "owner_id": AGENT, "external_id": format!("ext-{}", uuid::Uuid::now_v7())}),
        )
        .await;
    let foreign = app
        .create_customer(json!({"name": "Foreign", "owner_id": "agent-2"}))
        .await;
    let contact = app
        .post(
            &format!("/api/v1/customers/{owned}/contacts"),
            &admin,
            json!({"name": "Pat"}),
        )
        .await
        .id();
    let order = app
        .post(
            "/api/v1/orders",
            &admin,
            json!({"customer_id": owned, "amount_minor": 100, "currency": "EUR"}),
        )
        .await
        .id();
    let segment = |kind: &str| {
        let mut body = json!({"name": format!("{kind}-{}", uuid::Uuid::now_v7()), "kind": kind});
        if kind == "dynamic" {
            body["rule"] = json!({"field": "tier", "op": "eq", "value": "key"});
        }
        body
    };
    let static_segment = app.post("/api/v1/segments", &admin, segment("static")).await.id();
    let dynamic_segment = app.post("/api/v1/segments", &admin, segment("dynamic")).await.id();
    let survey = if with_survey {
        let survey = app
            .post(
                "/api/v1/surveys",
                &admin,
                json!({"name": "Matrix NPS", "kind": "nps", "fatigue": "ignore"}),
            )
            .await
            .id();
        app.patch(
            &format!("/api/v1/surveys/{survey}"),
            &admin,
            json!({"status": "active"}),
        )
        .await;
        let sent = app
            .post(
                &format!("/api/v1/surveys/{survey}/invitations"),
                &admin,
                json!({"customer_ids": [owned]}),
            )
            .await;
        let invitation = sent.body["tokens"][0]["invitation_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Some((survey, invitation))
    } else {
        None
    };
    Fixture {
        survey,
        owned,
        foreign,
        contact,
        order,
        static_segment,
        dynamic_segment,
    }
}

pub(crate) type Expect = fn(Role) -> u16;

pub(crate) const READERS: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent | Role::Analyst => 200,
    _ => 403,
};
pub(crate) const MANAGERS_204: Expect = |r| match r {
    Role::Admin | Role::Manager => 204,
    _ => 403,
};
pub(crate) const MANAGERS_200: Expect = |r| match r {
    Role::Admin | Role::Manager => 200,
    _ => 403,
};
pub(crate) const OWNER_WRITERS_200: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent => 200,
    _ => 403,
};
pub(crate) const OWNER_WRITERS_201: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent => 201,
    _ => 403,
};
pub(crate) const OWNER_WRITERS_204: Expect = |r| match r {
    Role::Admin | Role::Manager | Role::Agent => 204,
    _ => 403,
};
pub(crate) const MANAGERS_201: Expect = |r| match r {
    Role::Admin | Role::Manager => 201,
    _ => 403,
};
pub(crate) const ADMIN_200: Expect = |r| if r == Role::Admin { 200 } else { 403 };
pub(crate) const CUSTOMER_ONLY: Expect = |r| if r == Role::Customer { 200 } else { 403 };
/// Staff readers and partners (aggregates without personal data).
pub(crate) const READERS_AND_PARTNERS: Expect = |r| match r {
    Role::Customer => 403,
    _ => 200,
};

/// One row of an area's role matrix: (method, path, body, expected status per
/// role). `{owned}` etc. are filled from a fresh fixture.
pub(crate) type Route = (Method, &'static str, Option<Value>, Expect);

async fn fill(app: &TestApp, f: &Fixture, s: &str) -> String {
    let ext = app
        .get(&format!("/api/v1/customers/{}", f.owned), &app.token(Role::Admin))
        .await
        .body["external_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    s.replace("{owned}", &f.owned)
        .replace("{owned_ext}", &ext)
        .replace("{foreign}", &f.foreign)
        .replace("{contact}", &f.contact)
        .replace("{order}", &f.order)
        .replace("{static_segment}", &f.static_segment)
        .replace("{dynamic_segment}", &f.dynamic_segment)
        .replace("{unique}", &uuid::Uuid::now_v7().to_string())
        .replace("{survey}", f.survey.as_ref().map_or("", |s| s.0.as_str()))
        .replace("{invitation}", f.survey.as_ref().map_or("", |s| s.1.as_str()))
}

/// Runs an area's role matrix: each route as each role on fresh records, and
/// without a token.
pub(crate) async fn answers_as_the_matrix_says(app: &TestApp, routes: Vec<Route>) {
    for (method, path, body, expect) in routes {
        let with_survey = path.contains("{survey}")
            || path.contains("{invitation}")
            || body.as_ref().is_some_and(|b| b.to_string().contains("{survey}"));
        for role in Role::ALL {
            let f = fixture(app, with_survey).await;
            let path = fill(app, &f, path).await;
            let body = match &body {
                Some(b) => Some(serde_json::from_str(&fill(app, &f, &b.to_string()).await).unwrap()),
                None => None,
            };
            // The customer token speaks for the owned customer.
            let token = if role == Role::Customer {
                app.customer_token(&f.owned)
            } else {
                app.token(role)
            };
            let reply = app.request(method.clone(), &path, Some(&token), body).await;
            assert_eq!(
                reply.status.as_u16(),
                expect(role),
                "{method} {path} as {role}: {}",
                reply.body
            );
            if !reply.status.is_success() {
                reply.assert_problem(expect(role), None);
            }
            let anonymous = app.request(method.clone(), &path, None, None).await;
            anonymous.assert_problem(401, None);
            assert!(
                anonymous
                    .headers
                    .get("www-authenticate")
                    .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Bearer"))
            );
        }
    }
}

async fn agents_may_not_write_customers_they_do_not_own(app: &TestApp) {
    let f = fixture(app, false).await;
    let agent = app.token(Role::Agent);
    let admin = app.token(Role::Admin);
    let foreign_contact = app
        .post(
            &format!("/api/v1/customers/{}/contacts", f.foreign),
            &admin,
            json!({"name": "Q"}),
        )
        .await
        .id();
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PATCH,
            format!("/api/v1/customers/{}", f.foreign),
            Some(json!({"notes": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/customers/{}/contacts", f.foreign),
            Some(json!({"name": "C"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{foreign_contact}"),
            Some(json!({"title": "x"})),
        ),
        (Method::DELETE, format!("/api/v1/contacts/{foreign_contact}"), None),
        (
            Method::POST,
            "/api/v1/orders".into(),
            Some(json!({"customer_id": f.foreign, "amount_minor": 5, "currency": "EUR"})),
        ),
    ];
    for (method, path, body) in cases {
        app.request(method.clone(), &path, Some(&agent), body)
            .await
            .assert_problem(403, None);
    }
    assert_eq!(app.count("customer_order").await, 1);
}

async fn a_customer_token_never_reaches_another_customers_record(app: &TestApp) {
    let f = fixture(app, false).await;
    let token = app.customer_token(&f.owned);
    for path in [
        format!("/api/v1/customers/{}", f.foreign),
        format!("/api/v1/customers/{}/overview", f.foreign),
        format!("/api/v1/customers/{}/timeline", f.foreign),
        format!("/api/v1/customers/{}/contacts", f.foreign),
        format!("/api/v1/customers/{}/interactions", f.foreign),
    ] {
        app.get(&path, &token).await.assert_problem(403, None);
    }
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.body["id"], f.owned.as_str());
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c =
        json!({"sub": "x", "role": "admin", "iss": "rapport", "aud": "rapport-api", "iat": now, "exp": now + 600});
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sign(alg: Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn bad_tokens_are_refused_with_401(app: &TestApp) {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();
    let none_token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(json!({})))
    );
    let good = sign(Algorithm::HS256, &claims(json!({})), SECRET);
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        format!(
            "{}.{}.{}",
            parts[0],
            b64(&claims(json!({"role": "admin", "sub": "mallory"}))),
            parts[2]
        )
    };
    let cases = [
        (
            "expired",
            sign(Algorithm::HS256, &claims(json!({"exp": now - 120})), SECRET),
        ),
        (
            "wrong issuer",
            sign(Algorithm::HS256, &claims(json!({"iss": "someone-else"})), SECRET),
        ),
        (
            "wrong audience",
            sign(Algorithm::HS256, &claims(json!({"aud": "other-api"})), SECRET),
        ),
        (
            "bad signature",
            sign(
                Algorithm::HS256,
                &claims(json!({})),
                "another-secret-that-is-long-enough-000000",
            ),
        ),
        ("tampered payload", tampered),
        ("alg none", none_token),
        (
            "HS384 instead of HS256",
            sign(Algorithm::HS384, &claims(json!({})), SECRET),
        ),
        (
            "HS512 instead of HS256",
            sign(Algorithm::HS512, &claims(json!({})), SECRET),
        ),
        (
            "missing role",
            sign(Algorithm::HS256, &claims(json!({"role": null})), SECRET),
        ),
        (
            "unknown role",
            sign(Algorithm::HS256, &claims(json!({"role": "root"})), SECRET),
        ),
        (
            "missing exp",
            sign(Algorithm::HS256, &claims(json!({"exp": null})), SECRET),
        ),
        (
            "missing sub",
            sign(Algorithm::HS256, &claims(json!({"sub": null})), SECRET),
        ),
        (
            "customer without customer_id",
            sign(Algorithm::HS256, &claims(json!({"role": "customer"})), SECRET),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in cases {
        let reply = app.get("/api/v1/customers", &token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        reply.assert_problem(401, None);
    }
    let basic = app
        .client
        .get(format!("{}/api/v1/customers", app.address))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        app.get("/api/v1/customers", &good).await.status,
        200,
        "the control token works"
    );
}

on_both_databases!(
    agents_may_not_write_customers_they_do_not_own,
    a_customer_token_never_reaches_another_customers_record,
    bad_tokens_are_refused_with_401,
);

/// A key pair made for these tests only (tests/api/fixtures), never used elsewhere.
const ES256_PRIVATE: &str = include_str!("fixtures/es256-private.pem");
const ES256_PUBLIC: &str = include_str!("fixtures/es256-public.pem");

async fn asymmetric_tokens_verify_and_algorithm_confusion_fails(backend: crate::common::Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.auth.algorithm = rapport::config::JwtAlgorithm::ES256;
        s.auth.jwt_secret = None;
        s.auth.public_key = Some(ES256_PUBLIC.to_owned());
    })
    .await;
    let key = EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).expect("private key");
    let good = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(json!({})), &key).expect("sign");
    assert_eq!(app.get("/api/v1/customers", &good).await.status, 200);
    // The classic confusion attack: HS256 keyed with the public key's PEM text.
    let confused = sign(Algorithm::HS256, &claims(json!({})), ES256_PUBLIC);
    app.get("/api/v1/customers", &confused).await.assert_problem(401, None);
    let hs = sign(Algorithm::HS256, &claims(json!({})), SECRET);
    app.get("/api/v1/customers", &hs).await.assert_problem(401, None);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_asymmetric_tokens_verify_and_algorithm_confusion_fails() {
    asymmetric_tokens_verify_and_algorithm_confusion_fails(crate::common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_asymmetric_tokens_verify_and_algorithm_confusion_fails() {
    asymmetric_tokens_verify_and_algorithm_confusion_fails(crate::common::Backend::Postgres).await;
}
