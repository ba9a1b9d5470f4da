//! Intake: classification, text analysis, the clocks' start.

use super::*;

/// Keywords and sentiment, worked out off the request threads.
async fn analyse(text: String, customer_name: String) -> AppResult<text::Analysis> {
    tokio::task::spawn_blocking(move || text::analyse(&text, &[&customer_name]))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// Files feedback for a customer (staff).
///
/// # Errors
/// `Forbidden` for analysts, partners and customers; `Validation` naming
/// each bad field (including an unknown customer).
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn create(db: &impl Store, actor: &Actor, input: NewFeedback) -> AppResult<FeedbackView> {
    policy::log_interaction(actor)?;
    let mut c = Checker::default();
    let customer = match input.customer_id {
        None => {
            c.fail("customer_id", "is required");
            None
        }
        Some(id) => match customers::find_live(db, id).await {
            Ok(m) => Some(m),
            Err(AppError::NotFound(_)) => {
                c.fail("customer_id", "no such customer");
                None
            }
            Err(e) => return Err(e),
        },
    };
    let assignee = c.opt("assignee_id", input.assignee_id.clone(), parse::staff_id);
    if assignee.as_deref().is_some_and(|a| !policy::may_assign(actor, a)) {
        c.fail("assignee_id", "an agent may assign only itself");
    }
    intake(db, actor, input, customer, assignee, c).await
}

/// Files feedback for the signed-in customer.
///
/// # Errors
/// `Forbidden` for other roles; `Validation` naming each bad field.
pub async fn create_mine(db: &impl Store, actor: &Actor, input: NewFeedback) -> AppResult<MyFeedbackView> {
    let own = policy::own_customer(actor)?;
    let mut c = Checker::default();
    if input.customer_id.is_some_and(|id| id != own) {
        c.fail("customer_id", "must be your own id or left out");
    }
    if input.severity.is_some() {
        c.fail("severity", "is set by staff");
    }
    if input.assignee_id.is_some() {
        c.fail("assignee_id", "is set by staff");
    }
    let customer = customers::find_live(db, own).await?;
    Ok(intake(db, actor, input, Some(customer), None, c).await?.into())
}

async fn intake(
    db: &impl Store,
    actor: &Actor,
    input: NewFeedback,
    customer: Option<customer::Model>,
    assignee: Option<String>,
    mut c: Checker,
) -> AppResult<FeedbackView> {
    let subject = c.check("subject", parse::name(input.subject));
    let body = c.check("body", parse::text(input.body, parse::MAX_TEXT));
    if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        c.fail("rating", "must be between 1 and 5");
    }
    c.finish()?;
    let (Some(customer), Some(subject), Some(body)) = (customer, subject, body) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked input missing")));
    };
    let analysis = analyse(format!("{subject}\n{body}"), customer.name.clone()).await?;
    let rules = settings::feedback_rules(db).await?;
    let key_customer = ValueTier::from_db(&customer.value_tier) == ValueTier::Key;
    let class = classify(
        &rules.classification,
        input.severity,
        input.kind,
        key_customer,
        &format!("{subject}\n{body}"),
    );
    let (first, resolution) = targets(&rules.policies, class.severity, input.kind, &rules.calendar);
    let at = now();
    let response = ClockState::start(first, at, &rules.calendar);
    let resolution = ClockState::start(resolution, at, &rules.calendar);
    let mut model = feedback_item::Model {
        id: new_id(),
        customer_id: customer.id,
        channel: input.channel.as_str().into(),
        kind: input.kind.as_str().into(),
        subject,
        body,
        rating: input.rating,
        severity: class.severity.as_str().into(),
        severity_rule: class.rule.clone(),
        sentiment: analysis.sentiment,
        keywords: json!(analysis.keywords),
        status: FeedbackStatus::New.as_str().into(),
        assignee_id: assignee,
        created_by: actor.sub.clone(),
        root_cause: None,
        review_note: None,
        closed_at: None,
        created_at: at,
        updated_at: at,
        response_target_minutes: 0,
        response_business: false,
        response_used_micros: 0,
        response_since: None,
        response_due_at: at,
        response_warn_at: at,
        response_met_at: None,
        response_warned_at: None,
        response_breached_at: None,
        resolution_target_minutes: 0,
        resolution_business: false,
        resolution_used_micros: 0,
        resolution_since: None,
        resolution_due_at: at,
        resolution_warn_at: at,
        resolution_met_at: None,
        resolution_warned_at: None,
        resolution_breached_at: None,
        adopted_at: None,
        adopted_by: None,
        adoption_note: None,
    };
    set_response_clock(&mut model, response);
    set_resolution_clock(&mut model, resolution);
    let txn = begin(db).await?;
    let model = model.into_active_model().reset_all().insert(&txn).await?;
    if !analysis.keywords.is_empty() {
        feedback_keyword::Entity::insert_many(analysis.keywords.iter().map(|k| feedback_keyword::ActiveModel {
            feedback_id: Set(model.id),
            keyword: Set(k.clone()),
        }))
        .exec(&txn)
        .await?;
    }
    record(
        &txn,
        &model,
        Event {
            kind: "created",
            actor: &actor.sub,
            from: None,
            to: Some(model.status.clone()),
            note: Some(format!("severity {} by {}", model.severity, class.rule)),
        },
        at,
    )
    .await?;
    if let Some(assignee) = &model.assignee_id {
        record(
            &txn,
            &model,
            Event {
                kind: "assigned",
                actor: &actor.sub,
                from: None,
                to: Some(assignee.clone()),
                note: None,
            },
            at,
        )
        .await?;
    }
    events::emit(
        &txn,
        EventType::FeedbackCreated,
        model.id,
        Some(model.customer_id),
        payload(&model),
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(to_view(model, actor))
}
