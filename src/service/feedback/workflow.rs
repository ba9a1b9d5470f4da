//! Changes to an item: assignment, severity, state moves, comments.

use super::*;

/// Saves a changed item with its history entries and its event.
async fn save(
    actor: &Actor,
    txn: DatabaseTransaction,
    mut item: feedback_item::Model,
    events: Vec<Event<'_>>,
    kind: EventType,
    at: DateTime<Utc>,
) -> AppResult<FeedbackView> {
    item.updated_at = at;
    let item = item.into_active_model().reset_all().update(&txn).await?;
    for e in events {
        record(&txn, &item, e, at).await?;
    }
    events::emit(&txn, kind, item.id, Some(item.customer_id), payload(&item), at).await?;
    txn.commit().await?;
    Ok(to_view(item, actor))
}

/// Changes severity (the SLA targets follow) or assignment (admin/manager).
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field.
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: FeedbackPatch) -> AppResult<FeedbackView> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let assignee = crate::service::patch_field(&mut c, "assignee_id", patch.assignee_id, parse::staff_id);
    c.finish()?;
    let rules = settings::feedback_rules(db).await?;
    let txn = begin(db).await?;
    let mut item = find_for_update(&txn, id).await?;
    let at = now();
    let mut events = Vec::new();
    if let Some(severity) = patch.severity
        && severity.as_str() != item.severity
    {
        retarget(&mut item, severity, &rules);
        events.push(Event {
            kind: "severity_changed",
            actor: &actor.sub,
            from: Some(std::mem::replace(&mut item.severity, severity.as_str().into())),
            to: Some(severity.as_str().into()),
            note: None,
        });
        item.severity_rule = "explicit".into();
    }
    if let Some(assignee) = assignee
        && assignee != item.assignee_id
    {
        events.push(Event {
            kind: "assigned",
            actor: &actor.sub,
            from: std::mem::replace(&mut item.assignee_id, assignee.clone()),
            to: assignee,
            note: None,
        });
    }
    if events.is_empty() {
        return Ok(to_view(item, actor));
    }
    save(actor, txn, item, events, EventType::FeedbackUpdated, at).await
}

fn retarget(item: &mut feedback_item::Model, severity: Severity, rules: &FeedbackRules) {
    let kind = FeedbackKind::from_db(&item.kind);
    let (first, resolution) = targets(&rules.policies, severity, kind, &rules.calendar);
    let mut r = response_clock(item);
    r.retarget(first, &rules.calendar);
    set_response_clock(item, r);
    let mut r = resolution_clock(item);
    r.retarget(resolution, &rules.calendar);
    set_resolution_clock(item, r);
}

/// Moves an item to another state. Acknowledging meets the first-response
/// clock; waiting on the customer pauses the resolution clock and going
/// back to work resumes it; resolving meets it; reopening runs it again
/// with the time it had left. Closing records the root cause and review.
///
/// # Errors
/// `Forbidden`, `NotFound`; `Conflict` on `to` naming the allowed moves;
/// `Validation` when closing without a root cause or review note.
pub async fn transition(db: &impl Store, actor: &Actor, id: Uuid, input: Transition) -> AppResult<FeedbackView> {
    read_policy(actor)?;
    let mut c = Checker::default();
    let note = c.opt("note", input.note, |v| parse::text(v, parse::MAX_TEXT));
    let review_note = c.opt("review_note", input.review_note, |v| parse::text(v, parse::MAX_TEXT));
    c.finish()?;
    let rules = settings::feedback_rules(db).await?;
    let txn = begin(db).await?;
    let mut item = find_for_update(&txn, id).await?;
    work_policy(actor, &item)?;
    let from = FeedbackStatus::from_db(&item.status);
    let to = input.to;
    let allowed = allowed_moves(from);
    if !allowed.contains(&to) {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        return Err(AppError::illegal_move(from.as_str(), to.as_str(), &names));
    }
    let at = now();
    let cal = &rules.calendar;
    let mut events = Vec::new();
    let mut response = response_clock(&item);
    let mut resolution = resolution_clock(&item);
    let before = [response.breached_at, resolution.breached_at];
    match to {
        FeedbackStatus::Acknowledged => response.meet(at, cal),
        FeedbackStatus::WaitingCustomer => resolution.pause(at, cal),
        FeedbackStatus::InProgress if from == FeedbackStatus::WaitingCustomer => resolution.resume(at, cal),
        FeedbackStatus::InProgress => {
            // Reopened.
            resolution.reopen(at, cal);
            item.closed_at = None;
        }
        FeedbackStatus::Resolved => resolution.meet(at, cal),
        FeedbackStatus::Closed => {
            let mut c = Checker::default();
            if input.root_cause.is_none() {
                c.fail("root_cause", "is required to close");
            }
            if review_note.is_none() {
                c.fail("review_note", "is required to close");
            }
            c.finish()?;
            item.root_cause = input.root_cause.map(|r| r.as_str().to_owned());
            item.review_note = review_note.clone();
            item.closed_at = Some(at);
            events.push(Event {
                kind: "closed",
                actor: &actor.sub,
                from: None,
                to: item.root_cause.clone(),
                note: review_note,
            });
        }
        FeedbackStatus::New => {}
    }
    // A clock stopped after its due instant breached then; record that once.
    let late: Vec<(&str, ClockState)> = [("first_response", response), ("resolution", resolution)]
        .into_iter()
        .zip(before)
        .filter(|((_, clock), was)| was.is_none() && clock.breached_at.is_some())
        .map(|(named, _)| named)
        .collect();
    set_response_clock(&mut item, response);
    set_resolution_clock(&mut item, resolution);
    for (name, clock) in &late {
        crate::service::sla::record_mark(&txn, &item, crate::service::sla::Mark::Breach, name, clock, false, at)
            .await?;
    }
    item.status = to.as_str().into();
    if to == FeedbackStatus::Resolved {
        // Closing the loop: the customer is asked how it went.
        crate::service::surveys::on_resolved(&txn, &item, at).await?;
    }
    events.insert(
        0,
        Event {
            kind: "status_changed",
            actor: &actor.sub,
            from: Some(from.as_str().into()),
            to: Some(to.as_str().into()),
            note,
        },
    );
    save(actor, txn, item, events, EventType::FeedbackStateChanged, at).await
}

/// Adds a comment to an item's history.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on `body`.
pub async fn comment(db: &impl Store, actor: &Actor, id: Uuid, input: NewComment) -> AppResult<FeedbackEventView> {
    read_policy(actor)?;
    let mut c = Checker::default();
    let body = c.check("body", parse::text(input.body, parse::MAX_TEXT));
    c.finish()?;
    let txn = begin(db).await?;
    let item = find_for_update(&txn, id).await?;
    work_policy(actor, &item)?;
    let at = now();
    let event = feedback_event::ActiveModel {
        id: Set(new_id()),
        feedback_id: Set(item.id),
        customer_id: Set(item.customer_id),
        kind: Set("comment".into()),
        actor: Set(actor.sub.clone()),
        from_value: Set(None),
        to_value: Set(None),
        note: Set(body),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    feedback_item::Entity::update_many()
        .col_expr(feedback_item::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(feedback_item::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(event_view(event, actor))
}
