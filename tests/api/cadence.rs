//! Contact cadence and care moments as a customer-success team lives with
//! them: who is overdue, one follow-up per overdue episode on working days,
//! quarterly reviews, care tasks on the customer's local date — however
//! often the jobs run, and on two instances at once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rapport::auth::Role;
use rapport::service::cadence;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{AGENT, TestApp};

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap_or_default()
}

async fn calendar(app: &TestApp, days: &[&str]) {
    let week: Vec<_> = days
        .iter()
        .map(|d| json!({"day": d, "hours": [{"start": "09:00", "end": "17:00"}]}))
        .collect();
    let put = app
        .put(
            "/api/v1/settings/business-calendar",
            &app.token(Role::Admin),
            json!({"time_zone": "UTC", "week": week, "holidays": []}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
}

async fn contacted(app: &TestApp, customer: &str, days_ago: i64) {
    let at = (Utc::now() - Duration::days(days_ago)).to_rfc3339();
    let logged = app
        .post(
            &format!("/api/v1/customers/{customer}/interactions"),
            &app.token(Role::Admin),
            json!({"channel": "phone", "direction": "outbound", "summary": "Checked in", "occurred_at": at}),
        )
        .await;
    assert_eq!(logged.status, StatusCode::CREATED, "{}", logged.body);
}

async fn set_cadence(app: &TestApp, change: serde_json::Value) -> serde_json::Value {
    let mut s = app.get("/api/v1/settings/cadence", &app.token(Role::Agent)).await.body;
    for (k, v) in change.as_object().into_iter().flatten() {
        s[k] = v.clone();
    }
    let put = app.put("/api/v1/settings/cadence", &app.token(Role::Admin), s).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    put.body
}

async fn overdue_customers_get_one_follow_up_per_episode_on_working_days(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let settings = app.get("/api/v1/settings/cadence", &admin).await.body;
    assert_eq!(
        (
            &settings["key_days"],
            &settings["important_days"],
            &settings["general_days"]
        ),
        (&json!(14), &json!(30), &json!(90))
    );
    for (field, value) in [
        ("key_days", json!(0)),
        ("care_lead_days", json!(61)),
        ("general_days", json!(366)),
    ] {
        let mut bad = settings.clone();
        bad[field] = value;
        app.put("/api/v1/settings/cadence", &admin, bad)
            .await
            .assert_problem(422, Some(field));
    }
    app.put("/api/v1/settings/cadence", &app.token(Role::Agent), settings.clone())
        .await
        .assert_problem(403, None);
    calendar(app, &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]).await;
    let key = app
        .create_customer(json!({"name": "Key Late", "value_tier": "key", "owner_id": AGENT}))
        .await;
    let general = app
        .create_customer(json!({"name": "General Later", "value_tier": "general", "owner_id": AGENT}))
        .await;
    let own = app
        .create_customer(json!({"name": "Own Pace", "value_tier": "key", "cadence_days": 60}))
        .await;
    let fresh = app
        .create_customer(json!({"name": "Fresh", "value_tier": "important"}))
        .await;
    contacted(app, &key, 20).await;
    contacted(app, &general, 100).await;
    contacted(app, &own, 20).await;
    contacted(app, &fresh, 10).await;

    // Most overdue first, paged; analysts see masked names; partners see nothing.
    let list = app
        .get("/api/v1/analytics/cadence/overdue", &app.token(Role::Manager))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = items.iter().filter_map(|i| i["customer_id"].as_str()).collect();
    assert_eq!(ids, [general.as_str(), key.as_str()], "{}", list.body);
    assert_eq!(
        (
            &items[0]["days_overdue"],
            &items[0]["cadence_days"],
            &items[1]["days_overdue"]
        ),
        (&json!(10), &json!(90), &json!(6)),
        "{}",
        list.body
    );
    let first = app
        .get("/api/v1/analytics/cadence/overdue?limit=1", &app.token(Role::Analyst))
        .await;
    assert_eq!(first.body["items"][0]["customer_id"], general.as_str());
    assert_ne!(first.body["items"][0]["name"], "General Later", "{}", first.body);
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second = app
        .get(
            &format!("/api/v1/analytics/cadence/overdue?limit=1&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(second.body["items"][0]["customer_id"], key.as_str(), "{}", second.body);
    assert!(second.body["next_cursor"].is_null());
    let keyed = app
        .get("/api/v1/analytics/cadence/overdue?value_tier=key", &admin)
        .await;
    assert_eq!(keyed.body["items"].as_array().map(Vec::len), Some(1));
    app.get("/api/v1/analytics/cadence/overdue", &app.token(Role::Partner))
        .await
        .assert_problem(403, None);
    app.get("/api/v1/analytics/cadence/overdue?limit=0", &admin)
        .await
        .assert_problem(422, Some("limit"));

    // The job, twice and then on two instances at once: one follow-up per
    // overdue customer, one review per key customer this quarter.
    for _ in 0..2 {
        let run = app.post("/api/v1/jobs/cadence_follow_up/run", &admin, json!({})).await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    }
    let now = Utc::now();
    let (a, b) = tokio::join!(
        cadence::run_follow_ups(&app.db, now),
        cadence::run_follow_ups(&app.db, now)
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(app.count("task WHERE kind = 'follow_up'").await, 2);
    assert_eq!(app.count("task WHERE kind = 'review'").await, 2);
    assert_eq!(
        app.count("event WHERE type = 'task.created'").await,
        4,
        "one event per task"
    );
    let tasks = app
        .get("/api/v1/tasks?kind=follow_up&mine=true", &app.token(Role::Agent))
        .await;
    assert_eq!(tasks.body["items"].as_array().map(Vec::len), Some(2), "{}", tasks.body);
    assert!(tasks.body["items"][0]["due_at"].is_string());

    // A contact ends the episode; falling behind again is a new one.
    contacted(app, &key, 0).await;
    let list = app.get("/api/v1/analytics/cadence/overdue", &admin).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1), "{}", list.body);
    let later = now + Duration::days(16);
    let r = cadence::run_follow_ups(&app.db, later).await;
    assert_eq!(r.map(|r| r.follow_ups).ok(), Some(1));
    assert_eq!(app.count("task WHERE kind = 'follow_up'").await, 3);

    // Not on a day off: with Monday to Friday, a Saturday creates nothing.
    calendar(app, &["mon", "tue", "wed", "thu", "fri"]).await;
    let saturday = utc(2027, 1, 2, 12);
    let r = cadence::run_follow_ups(&app.db, saturday).await.ok();
    assert_eq!(r.map(|r| (r.working_day, r.follow_ups)), Some((false, 0)));
}

async fn an_owner_gets_no_more_cadence_tasks_than_the_cap_per_run(app: &TestApp) {
    calendar(app, &["mon", "tue", "wed", "thu", "fri", "sat", "sun"]).await;
    set_cadence(app, json!({"max_tasks_per_owner": 1, "quarterly_review": false})).await;
    for i in 0..3 {
        let c = app
            .create_customer(json!({"name": format!("Quiet {i}"), "value_tier": "key", "owner_id": AGENT}))
            .await;
        contacted(app, &c, 20 + i).await;
    }
    let r = cadence::run_follow_ups(&app.db, Utc::now()).await.ok();
    assert_eq!(r.map(|r| (r.overdue, r.follow_ups, r.capped)), Some((3, 1, 2)));
    // The most overdue went first; the next run takes the next.
    let r = cadence::run_follow_ups(&app.db, Utc::now()).await.ok();
    assert_eq!(r.map(|r| (r.follow_ups, r.capped)), Some((1, 1)));
    assert_eq!(app.count("task WHERE kind = 'follow_up'").await, 2);
    assert_eq!(app.count("task WHERE kind = 'review'").await, 0);
}

async fn care_tasks_fall_on_the_customers_local_date_once_a_year(app: &TestApp) {
    let admin = app.token(Role::Admin);
    // Bad zones and cadences are refused on the customer.
    app.post(
        "/api/v1/customers",
        &admin,
        json!({"name": "Nowhere", "time_zone": "Mars/Olympus"}),
    )
    .await
    .assert_problem(422, Some("time_zone"));
    app.post("/api/v1/customers", &admin, json!({"name": "Never", "cadence_days": 0}))
        .await
        .assert_problem(422, Some("cadence_days"));
    // At 2027-03-02 12:00 UTC it is 3 March in Tonga (UTC+13) and 2 March in Honolulu (UTC−10).
    let at = utc(2027, 3, 2, 12);
    let born = |zone: &str, day: u32| json!({"name": format!("{zone} {day}"), "time_zone": zone, "birthday": format!("1990-03-{day:02}"), "owner_id": AGENT});
    let tonga_10 = app.create_customer(born("Pacific/Tongatapu", 10)).await;
    let honolulu_2 = app.create_customer(born("Pacific/Honolulu", 2)).await;
    app.create_customer(born("Pacific/Tongatapu", 2)).await;
    app.create_customer(born("Pacific/Honolulu", 10)).await;
    let leap = app
        .create_customer(json!({"name": "Leapling", "birthday": "2000-02-29"}))
        .await;
    let anniversary = app
        .create_customer(json!({"name": "Old Friend", "relationship_start": "2020-03-05"}))
        .await;
    for _ in 0..2 {
        let r = cadence::run_care(&app.db, at).await.ok();
        assert!(r.is_some());
    }
    let (a, b) = tokio::join!(cadence::run_care(&app.db, at), cadence::run_care(&app.db, at));
    assert!(a.is_ok() && b.is_ok());
    let care = app.get("/api/v1/tasks?kind=care", &admin).await.body;
    let mut got: Vec<(String, String)> = care["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["customer_id"].as_str().unwrap_or_default().to_owned(),
                t["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (tonga_10.clone(), "Birthday on 2027-03-10".to_owned()),
        (honolulu_2.clone(), "Birthday on 2027-03-02".to_owned()),
        (
            anniversary.clone(),
            "7-year relationship anniversary on 2027-03-05".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{care}");
    // Due by the end of the local day: 11 March 00:00 in Tonga.
    let tonga_task = care["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["customer_id"] == tonga_10.as_str())
        .cloned()
        .unwrap_or_default();
    let due = tonga_task["due_at"]
        .as_str()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.to_utc());
    assert_eq!(due, Some(utc(2027, 3, 10, 11)), "{tonga_task}");
    assert_eq!(tonga_task["assignee_id"], AGENT);

    // 29 February: the 28th in 2027, the 29th in 2028.
    for at in [utc(2027, 2, 25, 12), utc(2028, 2, 25, 12)] {
        cadence::run_care(&app.db, at).await.ok();
    }
    let leap_tasks = app
        .get(&format!("/api/v1/tasks?kind=care&customer_id={leap}"), &admin)
        .await
        .body;
    let mut titles: Vec<&str> = leap_tasks["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Birthday on 2027-02-28", "Birthday on 2028-02-29"]);

    // A birthday on the day New York's clocks go forward: one task, however often the job runs.
    let dst = app
        .create_customer(json!({"name": "Spring Forward", "time_zone": "America/New_York", "birthday": "1985-03-14"}))
        .await;
    let mut at = utc(2027, 3, 6, 0);
    while at < utc(2027, 3, 16, 0) {
        cadence::run_care(&app.db, at).await.ok();
        at += Duration::hours(3);
    }
    let dst_tasks = app
        .get(&format!("/api/v1/tasks?kind=care&customer_id={dst}"), &admin)
        .await;
    assert_eq!(
        dst_tasks.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        dst_tasks.body
    );

    // Switched off, nothing new; the job runs from the one mechanism.
    set_cadence(app, json!({"birthdays": false, "anniversaries": false})).await;
    let before = app.count("task WHERE kind = 'care'").await;
    let r = cadence::run_care(&app.db, utc(2028, 3, 2, 12)).await.ok();
    assert_eq!(r.map(|r| r.birthdays + r.anniversaries), Some(0));
    let run = app.post("/api/v1/jobs/care_moments/run", &admin, json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.body["last_outcome"], "succeeded", "{}", run.body);
    assert_eq!(app.count("task WHERE kind = 'care'").await, before);
}

on_both_databases!(
    overdue_customers_get_one_follow_up_per_episode_on_working_days,
    an_owner_gets_no_more_cadence_tasks_than_the_cap_per_run,
    care_tasks_fall_on_the_customers_local_date_once_a_year,
);
