//! Surveys as their users meet them: a manager building and sending one, a
//! customer answering from an e-mail link or signed in, the results with
//! their intervals, the closed loop back to feedback and tasks, and who may
//! see what.

use crate::access::{
    CUSTOMER_ONLY, MANAGERS_200, MANAGERS_201, READERS, READERS_AND_PARTNERS, Route, answers_as_the_matrix_says,
};
use crate::common::TestApp;
use rapport::auth::Role;
use reqwest::Method;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Creates a survey and makes it active; returns its id.
async fn active_survey(app: &TestApp, body: Value) -> String {
    let admin = app.token(Role::Admin);
    let created = app.post("/api/v1/surveys", &admin, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let active = app
        .patch(&format!("/api/v1/surveys/{id}"), &admin, json!({"status": "active"}))
        .await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    id
}

/// Invites customers by id; returns the reply.
async fn invite(app: &TestApp, survey: &str, customers: &[&str]) -> Value {
    let sent = app
        .post(
            &format!("/api/v1/surveys/{survey}/invitations"),
            &app.token(Role::Manager),
            json!({"customer_ids": customers}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    sent.body
}

fn token_of(reply: &Value, customer: &str) -> String {
    reply["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["customer_id"] == customer)
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .expect("a token for the customer")
}

async fn public(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.address));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn answer(app: &TestApp, token: &str, answers: Value, finish: bool) -> (StatusCode, Value) {
    let base = format!("/api/v1/public/survey-invitations/{token}/response");
    if finish {
        public(
            app,
            reqwest::Method::POST,
            &format!("{base}/finish"),
            Some(json!({"answers": answers})),
        )
        .await
    } else {
        public(app, reqwest::Method::PUT, &base, Some(json!({"answers": answers}))).await
    }
}

async fn a_survey_is_built_sent_and_answered_by_token(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let draft = app
        .post(
            "/api/v1/surveys",
            &admin,
            json!({"name": "Relationship NPS", "kind": "nps",
            "score_text": {"en": "Would you recommend us?", "fr": "Nous recommanderiez-vous ?"},
            "comment_text": {"en": "Why?", "fr": "Pourquoi ?"}}),
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let survey = draft.id();
    assert_eq!(draft.body["status"], "draft");
    assert_eq!(draft.body["questions"][0]["type"], "rating");
    let ann = app
        .create_customer(json!({"name": "Ann", "external_id": "ann-1", "preferred_language": "fr"}))
        .await;
    let bob = app.create_customer(json!({"name": "Bob"})).await;
    // A draft sends nothing.
    app.post(
        &format!("/api/v1/surveys/{survey}/invitations"),
        &admin,
        json!({"customer_ids": [ann]}),
    )
    .await
    .assert_problem(409, Some("status"));
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
            json!({"external_ids": ["ann-1", "nobody"], "customer_ids": [bob, bob]}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(sent.body["invited"], 2, "{}", sent.body);
    let skipped: Vec<(String, i64)> = sent.body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["reason"].as_str().unwrap().to_owned(), s["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(skipped, [("duplicate".into(), 1), ("not_found".into(), 1)]);
    // Only the token's hash is kept.
    let token = token_of(&sent.body, &ann);
    assert_eq!(
        app.count(&format!("survey_invitation WHERE token_hash = '{token}'"))
            .await,
        0
    );

    // The customer opens the link: French texts.
    let (status, opened) = public(
        app,
        reqwest::Method::GET,
        &format!("/api/v1/public/survey-invitations/{token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["language"], "fr");
    assert_eq!(opened["questions"][0]["text"], "Nous recommanderiez-vous ?");
    // A score clicked in the e-mail counts at once; the comment follows.
    let (status, saved) = answer(app, &token, json!({"score": 10}), false).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["status"], "partial");
    let results = app.get(&format!("/api/v1/surveys/{survey}/results"), &admin).await;
    assert_eq!(results.body["responses"], 1, "{}", results.body);
    assert_eq!(results.body["promoters"], 1);
    assert_eq!(
        app.event_types("survey.response_received").await.len(),
        0,
        "a partial emits nothing"
    );
    let (status, bad) = answer(app, &token, json!({"score": 11, "mood": "x"}), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let paths: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["answers.mood", "answers.score"], "{bad}");
    let (status, done) = answer(app, &token, json!({"comment": "Great service"}), true).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["answers"], json!({"score": 10, "comment": "Great service"}));
    assert_eq!(app.event_types("survey.response_received").await.len(), 1);
    // A used token is 409; an unknown one 404.
    let (status, _) = answer(app, &token, json!({}), true).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = public(
        app,
        reqwest::Method::GET,
        &format!("/api/v1/public/survey-invitations/{token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, unknown) = public(
        app,
        reqwest::Method::GET,
        "/api/v1/public/survey-invitations/nope",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    // The promoter became a referral candidate, and its NPS shows on the record.
    let record = app.get(&format!("/api/v1/customers/{ann}"), &admin).await;
    assert_eq!(record.body["nps_category"], "promoter", "{}", record.body);
    assert_eq!(record.body["nps_score"], 10);
    assert!(record.body["referral_candidate_at"].is_string());
    // Questions are frozen once a response exists.
    app.patch(
        &format!("/api/v1/surveys/{survey}"),
        &admin,
        json!({"score_text": {"en": "Changed?"}}),
    )
    .await
    .assert_problem(409, Some("questions"));
    // An expired token is 410 with its code.
    let bob_token = token_of(&sent.body, &bob);
    app.db
        .execute_unprepared("UPDATE survey_invitation SET expires_at = '2020-01-01 00:00:00+00:00'")
        .await
        .unwrap();
    let (status, gone) = answer(app, &bob_token, json!({"score": 3}), false).await;
    assert_eq!(status, StatusCode::GONE, "{gone}");
    assert_eq!(gone["code"], "invitation_expired");
    let list = app
        .get(&format!("/api/v1/surveys/{survey}/invitations?status=expired"), &admin)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "{}", list.body);
}

async fn every_question_type_is_checked_and_two_finishes_make_one(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let bad = app
        .post(
            "/api/v1/surveys",
            &admin,
            json!({"name": "Broken", "kind": "custom", "questions": [
                {"id": "q1", "type": "rating", "text": {"en": "Rate"}, "min": 5, "max": 1},
                {"id": "q1", "type": "single_choice", "text": {"fr": "Choix"}, "choices": [{"id": "a", "label": {"en": "A"}}]},
            ]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let paths: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"questions[0].max"), "{paths:?}");
    assert!(paths.contains(&"questions[1].id"), "{paths:?}");
    assert!(paths.contains(&"questions[1].text"), "{paths:?}");
    assert!(paths.contains(&"questions[1].choices"), "{paths:?}");
    let survey = active_survey(
        app,
        json!({"name": "Onboarding", "kind": "custom", "questions": [
            {"id": "ease", "type": "rating", "required": true, "text": {"en": "How easy?"}, "min": 1, "max": 5},
            {"id": "plan", "type": "single_choice", "text": {"en": "Plan"}, "choices": [
                {"id": "basic", "label": {"en": "Basic"}}, {"id": "pro", "label": {"en": "Pro"}}]},
            {"id": "uses", "type": "multiple_choice", "text": {"en": "Uses"}, "choices": [
                {"id": "crm", "label": {"en": "CRM"}}, {"id": "loyalty", "label": {"en": "Loyalty"}}]},
            {"id": "seats", "type": "number", "text": {"en": "Seats"}, "min": 1, "max": 1000},
            {"id": "notes", "type": "text", "text": {"en": "Notes"}, "max_length": 10},
        ]}),
    )
    .await;
    let c = app.create_customer(json!({"name": "Cat"})).await;
    let sent = invite(app, &survey, &[&c]).await;
    let token = token_of(&sent, &c);
    let (status, err) = answer(
        app,
        &token,
        json!({"ease": 2.5, "plan": "gold", "uses": ["crm", "crm"], "seats": 0, "notes": "far too long text"}),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let paths: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "answers.ease",
            "answers.plan",
            "answers.uses",
            "answers.seats",
            "answers.notes"
        ]
    );
    // Finishing needs the required question.
    let (status, err) = answer(app, &token, json!({"plan": "pro"}), true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["errors"][0]["path"], "answers.ease");
    let (status, ok) = answer(
        app,
        &token,
        json!({"ease": 4, "plan": "pro", "uses": ["crm", "loyalty"], "seats": 12.5, "notes": "fine"}),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    // Two finishes at once: one wins, the other is 409, nothing overwritten.
    let (a, b) = tokio::join!(
        answer(app, &token, json!({"notes": "first"}), true),
        answer(app, &token, json!({"notes": "second"}), true)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let winner = if a.0 == StatusCode::OK { a.1 } else { b.1 };
    let responses = app.get(&format!("/api/v1/surveys/{survey}/responses"), &admin).await;
    assert_eq!(
        responses.body["items"][0]["answers"]["notes"],
        winner["answers"]["notes"]
    );
    assert_eq!(responses.body["items"][0]["answers"]["plan"], "pro");
    let results = app.get(&format!("/api/v1/surveys/{survey}/results"), &admin).await;
    let uses = results.body["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["question_id"] == "uses")
        .cloned()
        .unwrap();
    assert_eq!(
        uses["counts"],
        json!([{"value": "crm", "count": 1}, {"value": "loyalty", "count": 1}])
    );
}

async fn fatigue_holds_back_same_kind_and_cooldown_but_not_follow_ups(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let a = active_survey(app, json!({"name": "NPS A", "kind": "nps"})).await;
    let b = active_survey(app, json!({"name": "NPS B", "kind": "nps"})).await;
    let ces = active_survey(app, json!({"name": "Effort", "kind": "ces"})).await;
    let ignoring = active_survey(app, json!({"name": "Always", "kind": "ces", "fatigue": "ignore"})).await;
    let c = app.create_customer(json!({"name": "Dee"})).await;
    assert_eq!(invite(app, &a, &[&c]).await["invited"], 1);
    let blocked = invite(app, &b, &[&c]).await;
    assert_eq!(blocked["invited"], 0);
    assert_eq!(blocked["skipped"], json!([{"reason": "same_kind", "count": 1}]));
    let cooled = invite(app, &ces, &[&c]).await;
    assert_eq!(cooled["skipped"], json!([{"reason": "cooldown", "count": 1}]));
    assert_eq!(invite(app, &ignoring, &[&c]).await["invited"], 1);
    // Sends start the clock: moved back past the cooldown (14 days) but not
    // the same-kind window (90), B is still held back and the CES goes out.
    let earlier = (chrono::Utc::now() - chrono::Duration::days(20)).format("%Y-%m-%d %H:%M:%S+00:00");
    app.db
        .execute_unprepared(&format!(
            "UPDATE survey_invitation SET sent_at = '{earlier}', last_sent_at = '{earlier}'"
        ))
        .await
        .unwrap();
    let still = invite(app, &b, &[&c]).await;
    assert_eq!(
        still["skipped"],
        json!([{"reason": "same_kind", "count": 1}]),
        "{still}"
    );
    // (The CES that ignores fatigue still sent a CES: that kind waits too.)
    let still = invite(app, &ces, &[&c]).await;
    assert_eq!(
        still["skipped"],
        json!([{"reason": "same_kind", "count": 1}]),
        "{still}"
    );
    let quiz = active_survey(
        app,
        json!({"name": "Quiz", "kind": "custom", "questions": [
            {"id": "q", "type": "text", "text": {"en": "Anything?"}}]}),
    )
    .await;
    assert_eq!(invite(app, &quiz, &[&c]).await["invited"], 1, "past the cooldown");
    // A follow-up CSAT is exempt and does not start the cooldown.
    let csat = active_survey(app, json!({"name": "How did we do?", "kind": "csat"})).await;
    app.put(
        "/api/v1/settings/surveys",
        &admin,
        json!({"nps_days": 90, "csat_days": 90, "ces_days": 90, "custom_days": 90, "cooldown_days": 14,
               "follow_up_survey_id": csat, "low_score_action": "reopen", "min_responses": 30, "min_group_size": 5}),
    )
    .await;
    let fresh = app.create_customer(json!({"name": "Eve"})).await;
    let item = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": fresh, "channel": "email", "kind": "question", "subject": "Q", "body": "How?"}),
        )
        .await
        .id();
    for to in ["acknowledged", "in_progress", "resolved"] {
        let moved = app
            .post(
                &format!("/api/v1/feedback/{item}/transitions"),
                &admin,
                json!({"to": to}),
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    }
    let follow_ups = app
        .get(
            &format!("/api/v1/surveys/{csat}/invitations?customer_id={fresh}"),
            &admin,
        )
        .await;
    assert_eq!(
        follow_ups.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        follow_ups.body
    );
    assert_eq!(follow_ups.body["items"][0]["exempt"], true);
    assert_eq!(
        invite(app, &a, &[&fresh]).await["invited"],
        1,
        "the follow-up did not start the cooldown"
    );
}

async fn the_loop_closes_from_complaint_to_reopened_item_and_detractor_to_task(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let csat = active_survey(app, json!({"name": "Follow-up", "kind": "csat"})).await;
    let nps = active_survey(app, json!({"name": "NPS", "kind": "nps"})).await;
    app.put(
        "/api/v1/settings/surveys",
        &admin,
        json!({"nps_days": 90, "csat_days": 90, "ces_days": 90, "custom_days": 90, "cooldown_days": 0,
               "follow_up_survey_id": csat, "low_score_action": "reopen", "min_responses": 30, "min_group_size": 5}),
    )
    .await;
    let owner = "agent-7";
    let c = app.create_customer(json!({"name": "Fay", "owner_id": owner})).await;
    let item = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"customer_id": c, "channel": "phone", "kind": "complaint", "subject": "Late", "body": "Late again"}),
        )
        .await
        .id();
    for to in ["acknowledged", "in_progress", "resolved"] {
        app.post(
            &format!("/api/v1/feedback/{item}/transitions"),
            &admin,
            json!({"to": to}),
        )
        .await;
    }
    let invitations = app.get(&format!("/api/v1/surveys/{csat}/invitations"), &admin).await;
    let inv = &invitations.body["items"][0];
    assert_eq!(inv["feedback_id"], item.as_str(), "{}", invitations.body);
    assert_eq!(inv["source"], "follow_up");
    // The customer answers in the app: CSAT 1 reopens the item.
    let me = app.customer_token(&c);
    let mine = app.get("/api/v1/me/surveys", &me).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
    let inv_id = inv["id"].as_str().unwrap();
    let done = app
        .post(
            &format!("/api/v1/me/surveys/{inv_id}/response/finish"),
            &me,
            json!({"answers": {"score": 1}}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let reopened = app.get(&format!("/api/v1/feedback/{item}"), &admin).await;
    assert_eq!(reopened.body["status"], "in_progress", "{}", reopened.body);
    let responses = app.get(&format!("/api/v1/surveys/{csat}/responses"), &admin).await;
    assert_eq!(responses.body["items"][0]["feedback_id"], item.as_str());
    // Resolved again: a new invitation.
    app.post(
        &format!("/api/v1/feedback/{item}/transitions"),
        &admin,
        json!({"to": "resolved"}),
    )
    .await;
    let again = app.get(&format!("/api/v1/surveys/{csat}/invitations"), &admin).await;
    assert_eq!(again.body["items"].as_array().unwrap().len(), 2, "{}", again.body);

    // A detractor: exactly one complaint and one task for the owner.
    let sent = invite(app, &nps, &[&c]).await;
    let token = token_of(&sent, &c);
    let items_before = app.count("feedback_item").await;
    answer(app, &token, json!({"score": 3}), false).await;
    answer(app, &token, json!({"score": 2, "comment": "Slow"}), false).await;
    let (status, _) = answer(app, &token, json!({}), true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("feedback_item").await, items_before + 1);
    assert_eq!(
        app.count(&format!(
            "feedback_item WHERE kind = 'complaint' AND channel = 'survey' AND severity = 'important' AND assignee_id = '{owner}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!("task WHERE kind = 'follow_up' AND assignee_id = '{owner}'"))
            .await,
        1
    );
    assert_eq!(app.event_types("nps.detractor").await.len(), 1);
    let record = app.get(&format!("/api/v1/customers/{c}"), &admin).await;
    assert_eq!(record.body["nps_category"], "detractor");
    assert_eq!(record.body["latest_csat"], 1);
    // The segment rule fields follow.
    let preview = app
        .post(
            "/api/v1/segments/preview",
            &admin,
            json!({"rule": {"field": "nps_category", "op": "eq", "value": "detractor"}}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(preview.body["count"], 1, "{}", preview.body);
}

async fn results_carry_intervals_and_small_groups_are_suppressed(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let nps = active_survey(app, json!({"name": "NPS", "kind": "nps"})).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let tier_owner = if i < 7 { "agent-1" } else { "agent-2" };
        ids.push(
            app.create_customer(json!({"name": format!("P{i}"), "owner_id": tier_owner}))
                .await,
        );
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let sent = invite(app, &nps, &refs).await;
    for id in &ids {
        let (status, _) = answer(app, &token_of(&sent, id), json!({"score": 10}), true).await;
        assert_eq!(status, StatusCode::OK);
    }
    let r = app
        .get(
            &format!("/api/v1/surveys/{nps}/results?group_by=owner&interval=week"),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["nps"]["value"], 100.0);
    assert_eq!(r.body["nps"]["margin"], 29.4, "{}", r.body);
    assert_eq!(r.body["insufficient_data"], true);
    assert_eq!(r.body["response_rate"]["value"], 100.0);
    let trend = r.body["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 12, "twelve weeks by default");
    assert_eq!(trend[0]["responses"], 0, "an empty interval is n = 0");
    assert_eq!(trend[11]["responses"], 10);
    let partner = app
        .get(
            &format!("/api/v1/surveys/{nps}/results?group_by=owner"),
            &app.token(Role::Partner),
        )
        .await;
    assert_eq!(partner.status, StatusCode::OK, "{}", partner.body);
    let groups = partner.body["groups"].as_array().unwrap();
    let small = groups.iter().find(|g| g["key"] == "agent-2").unwrap();
    assert_eq!(small["suppressed"], true);
    assert_eq!(small["responses"], 0);
    let big = groups.iter().find(|g| g["key"] == "agent-1").unwrap();
    assert_eq!(big["suppressed"], false);
    assert_eq!(big["responses"], 7);
    assert!(partner.body["questions"].as_array().unwrap().is_empty());
    // An agent counts its own customers only.
    let agent = app
        .get(
            &format!("/api/v1/surveys/{nps}/results"),
            &app.token_with(Role::Agent, "agent-2", None),
        )
        .await;
    assert_eq!(agent.body["responses"], 3, "{}", agent.body);
    app.get(
        &format!("/api/v1/surveys/{nps}/results?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
        &admin,
    )
    .await
    .assert_problem(422, Some("from"));
}

async fn roles_see_what_they_may(app: &TestApp) {
    let nps = active_survey(app, json!({"name": "NPS", "kind": "nps"})).await;
    let c = app
        .create_customer(json!({"name": "Gus", "email": "gus@example.com"}))
        .await;
    let sent = invite(app, &nps, &[&c]).await;
    answer(
        app,
        &token_of(&sent, &c),
        json!({"score": 8, "comment": "mail me at gus@example.com"}),
        true,
    )
    .await;
    let analyst = app
        .get(&format!("/api/v1/surveys/{nps}/responses"), &app.token(Role::Analyst))
        .await;
    assert_eq!(analyst.status, StatusCode::OK);
    let comment = analyst.body["items"][0]["comment"].as_str().unwrap();
    assert!(!comment.contains("gus@example.com"), "{comment}");
    for (role, path, method, status) in [
        (Role::Partner, format!("/api/v1/surveys/{nps}/responses"), "GET", 403),
        (Role::Partner, format!("/api/v1/surveys/{nps}/invitations"), "GET", 403),
        (Role::Agent, "/api/v1/surveys".to_owned(), "POST", 403),
        (Role::Analyst, format!("/api/v1/surveys/{nps}/invitations"), "POST", 403),
        (Role::Customer, format!("/api/v1/surveys/{nps}/results"), "GET", 403),
        (Role::Manager, "/api/v1/me/surveys".to_owned(), "GET", 403),
    ] {
        let token = if role == Role::Customer {
            app.customer_token(&c)
        } else {
            app.token(role)
        };
        let reply = match method {
            "GET" => app.get(&path, &token).await,
            _ => app.post(&path, &token, json!({"name": "x", "kind": "nps"})).await,
        };
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{role:?} {method} {path}: {}",
            reply.body
        );
    }
    // The export path: CSV with the list's masking, and NDJSON.
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/surveys/{nps}/responses/export?status=completed",
            app.address
        ))
        .bearer_auth(app.token(Role::Analyst))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,survey_id,invitation_id,customer_id,status,score,comment")
    );
    let row = lines.next().unwrap();
    assert!(row.contains(",8,") && !row.contains("gus@example.com"), "{row}");
    let nd = app
        .client
        .get(format!(
            "{}/api/v1/surveys/{nps}/responses/export?format=ndjson",
            app.address
        ))
        .bearer_auth(app.token(Role::Admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first: Value = serde_json::from_str(nd.lines().next().unwrap()).unwrap();
    assert_eq!(first["score"], 8);
    app.get(
        &format!("/api/v1/surveys/{nps}/responses/export"),
        &app.token(Role::Partner),
    )
    .await
    .assert_problem(403, None);
    // The customer's timeline shows the response with its score.
    let timeline = app
        .get(&format!("/api/v1/customers/{c}/timeline"), &app.token(Role::Admin))
        .await;
    let entry = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "survey_response")
        .cloned()
        .expect("a survey response on the timeline");
    assert_eq!(entry["score"], 8);
    assert_eq!(entry["survey_id"], nps.as_str());
    // Erasure keeps the score and drops the words.
    app.post(
        &format!("/api/v1/customers/{c}/erase"),
        &app.token(Role::Admin),
        json!({}),
    )
    .await;
    assert_eq!(app.count("survey_response WHERE comment LIKE '%gus%'").await, 0);
    assert_eq!(app.count("survey_response WHERE score = 8").await, 1);
}

async fn triggers_invite_after_orders_and_periodically_once(app: &TestApp) {
    let admin = app.token(Role::Admin);
    let c = app.create_customer(json!({"name": "Hal"})).await;
    let d = app.create_customer(json!({"name": "Ida"})).await;
    let segment = app
        .post("/api/v1/segments", &admin, json!({"name": "Panel", "kind": "static"}))
        .await
        .id();
    app.post(
        &format!("/api/v1/segments/{segment}/members"),
        &admin,
        json!({"customer_ids": [d]}),
    )
    .await;
    let after = active_survey(
        app,
        json!({"name": "After purchase", "kind": "csat", "fatigue": "ignore",
               "trigger": {"kind": "after_order", "delay_minutes": 0}}),
    )
    .await;
    let periodic = active_survey(
        app,
        json!({"name": "Quarterly", "kind": "nps", "fatigue": "ignore",
               "trigger": {"kind": "periodic", "segment_id": segment, "every_months": 3}}),
    )
    .await;
    for ext in ["t-1", "t-2"] {
        let placed = app
            .post(
                "/api/v1/orders",
                &admin,
                json!({"customer_id": c, "external_id": ext, "amount_minor": 500, "currency": "EUR"}),
            )
            .await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    }
    for _ in 0..2 {
        let ran = app.post("/api/v1/jobs/survey_triggers/run", &admin, json!({})).await;
        assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
        assert_eq!(ran.body["last_outcome"], "succeeded", "{}", ran.body);
    }
    let after_invited = app.get(&format!("/api/v1/surveys/{after}/invitations"), &admin).await;
    let items = after_invited.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "one per customer per run, none twice: {}",
        after_invited.body
    );
    assert_eq!(items[0]["source"], "order");
    assert_eq!(items[0]["customer_id"], c.as_str());
    let panel = app
        .get(&format!("/api/v1/surveys/{periodic}/invitations"), &admin)
        .await;
    let items = panel.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", panel.body);
    assert_eq!(items[0]["source"], "periodic");
    assert_eq!(items[0]["customer_id"], d.as_str());
}

async fn a_customer_answers_through_graphql_and_a_partner_reads_results(app: &TestApp) {
    let nps = active_survey(app, json!({"name": "NPS", "kind": "nps"})).await;
    let c = app.create_customer(json!({"name": "Joy"})).await;
    invite(app, &nps, &[&c]).await;
    let me = app.customer_token(&c);
    let mine = app
        .graphql(Some(&me), "{ mySurveys { invitationId status } }", json!({}))
        .await;
    let invitation = mine["data"]["mySurveys"][0]["invitationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = app
        .graphql(
            Some(&me),
            "mutation($id: ID!, $a: JSON!) { saveMySurveyResponse(invitationId: $id, answers: $a) { status answers } }",
            json!({"id": invitation, "a": {"score": 9}}),
        )
        .await;
    assert_eq!(saved["data"]["saveMySurveyResponse"]["status"], "PARTIAL", "{saved}");
    let finish = "mutation($id: ID!) { finishMySurveyResponse(invitationId: $id) { status } }";
    let done = app.graphql(Some(&me), finish, json!({"id": invitation})).await;
    assert_eq!(done["data"]["finishMySurveyResponse"]["status"], "COMPLETED", "{done}");
    let again = app.graphql(Some(&me), finish, json!({"id": invitation})).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "conflict", "{again}");
    let results = app
        .graphql(
            Some(&app.token(Role::Partner)),
            "query($id: ID!) { surveyResults(surveyId: $id) { responses promoters nps { value margin } } }",
            json!({"id": nps}),
        )
        .await;
    assert_eq!(results["data"]["surveyResults"]["responses"], 1, "{results}");
    assert_eq!(results["data"]["surveyResults"]["promoters"], 1);
    let denied = app
        .graphql(
            Some(&app.token(Role::Partner)),
            "query($id: ID!) { surveyResponses(surveyId: $id) { edges { node { comment } } } }",
            json!({"id": nps}),
        )
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "forbidden", "{denied}");
}

fn routes() -> Vec<Route> {
    vec![
        (
            Method::POST,
            "/api/v1/surveys",
            Some(json!({"name": "Matrix", "kind": "csat"})),
            MANAGERS_201,
        ),
        (Method::GET, "/api/v1/surveys", None, READERS_AND_PARTNERS),
        (Method::GET, "/api/v1/surveys/{survey}", None, READERS_AND_PARTNERS),
        (
            Method::PATCH,
            "/api/v1/surveys/{survey}",
            Some(json!({"name": "Renamed"})),
            MANAGERS_200,
        ),
        (
            Method::POST,
            "/api/v1/surveys/{survey}/invitations",
            Some(json!({"customer_ids": ["{foreign}"]})),
            MANAGERS_200,
        ),
        (Method::GET, "/api/v1/surveys/{survey}/invitations", None, READERS),
        (
            Method::POST,
            "/api/v1/surveys/{survey}/invitations/remind",
            Some(json!({})),
            MANAGERS_200,
        ),
        (
            Method::POST,
            "/api/v1/surveys/{survey}/invitations/{invitation}/token",
            Some(json!({})),
            MANAGERS_200,
        ),
        (
            Method::GET,
            "/api/v1/surveys/{survey}/results",
            None,
            READERS_AND_PARTNERS,
        ),
        (Method::GET, "/api/v1/surveys/{survey}/responses", None, READERS),
        (Method::GET, "/api/v1/surveys/{survey}/responses/export", None, READERS),
        (Method::GET, "/api/v1/settings/surveys", None, READERS),
        (
            Method::PUT,
            "/api/v1/settings/surveys",
            Some(
                json!({"nps_days": 90, "csat_days": 90, "ces_days": 90, "custom_days": 90, "cooldown_days": 14,
                        "follow_up_survey_id": null, "low_score_action": "task", "min_responses": 30,
                        "min_group_size": 5}),
            ),
            MANAGERS_200,
        ),
        (Method::GET, "/api/v1/me/surveys", None, CUSTOMER_ONLY),
        (Method::GET, "/api/v1/me/surveys/{invitation}", None, CUSTOMER_ONLY),
        (
            Method::PUT,
            "/api/v1/me/surveys/{invitation}/response",
            Some(json!({"answers": {"score": 7}})),
            CUSTOMER_ONLY,
        ),
        (
            Method::POST,
            "/api/v1/me/surveys/{invitation}/response/finish",
            Some(json!({"answers": {"score": 7}})),
            CUSTOMER_ONLY,
        ),
    ]
}

async fn every_surveys_route_answers_each_role_as_the_matrix_says(app: &TestApp) {
    answers_as_the_matrix_says(app, routes()).await;
}

on_both_databases!(
    a_customer_answers_through_graphql_and_a_partner_reads_results,
    every_surveys_route_answers_each_role_as_the_matrix_says,
    triggers_invite_after_orders_and_periodically_once,
    a_survey_is_built_sent_and_answered_by_token,
    every_question_type_is_checked_and_two_finishes_make_one,
    fatigue_holds_back_same_kind_and_cooldown_but_not_follow_ups,
    the_loop_closes_from_complaint_to_reopened_item_and_detractor_to_task,
    results_carry_intervals_and_small_groups_are_suppressed,
    roles_see_what_they_may,
);
