//! Feedback items: intake with classification and text analysis, the state
//! machine with its SLA clocks, assignment, comments and history.
//!
//! Every change writes the item, its history event and (for changes others
//! subscribe to) an outbox record in one transaction. On PostgreSQL the
//! item row is locked first, so a change and the SLA sweeper never
//! interleave.

use chrono::{DateTime, Utc};
use entity::{customer, feedback_event, feedback_item, feedback_keyword};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::outbox::{self, EventType};
use super::paging::before_cursor;
use super::settings::{self, FeedbackRules};
use super::{begin, customers, mask, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::customers::ValueTier;
use crate::contract::feedback::{
    FeedbackChannel, FeedbackEventView, FeedbackFilter, FeedbackKind, FeedbackPatch, FeedbackStatus, FeedbackView,
    MyFeedbackView, NewComment, NewFeedback, RootCause, Severity, SlaClock, Transition,
};
use crate::domain::feedback::{ClockState, Target, allowed_moves, classify, targets};
use crate::domain::pagination::{Cursor, PageRequest, finish_page};
use crate::domain::{Checker, parse, text};
use crate::error::{AppError, AppResult};

/// Who acts when no person does.
pub const SYSTEM: &str = "system";

/// The first-response clock of an item.
pub fn response_clock(m: &feedback_item::Model) -> ClockState {
    ClockState {
        target: Target {
            minutes: m.response_target_minutes,
            business: m.response_business,
        },
        used_micros: m.response_used_micros,
        since: m.response_since,
        due_at: m.response_due_at,
        warn_at: m.response_warn_at,
        met_at: m.response_met_at,
        warned_at: m.response_warned_at,
        breached_at: m.response_breached_at,
    }
}

/// The resolution clock of an item.
pub fn resolution_clock(m: &feedback_item::Model) -> ClockState {
    ClockState {
        target: Target {
            minutes: m.resolution_target_minutes,
            business: m.resolution_business,
        },
        used_micros: m.resolution_used_micros,
        since: m.resolution_since,
        due_at: m.resolution_due_at,
        warn_at: m.resolution_warn_at,
        met_at: m.resolution_met_at,
        warned_at: m.resolution_warned_at,
        breached_at: m.resolution_breached_at,
    }
}

/// Writes the first-response clock into an item.
pub fn set_response_clock(m: &mut feedback_item::Model, c: ClockState) {
    m.response_target_minutes = c.target.minutes;
    m.response_business = c.target.business;
    m.response_used_micros = c.used_micros;
    m.response_since = c.since;
    m.response_due_at = c.due_at;
    m.response_warn_at = c.warn_at;
    m.response_met_at = c.met_at;
    m.response_warned_at = c.warned_at;
    m.response_breached_at = c.breached_at;
}

/// Writes the resolution clock into an item.
pub fn set_resolution_clock(m: &mut feedback_item::Model, c: ClockState) {
    m.resolution_target_minutes = c.target.minutes;
    m.resolution_business = c.target.business;
    m.resolution_used_micros = c.used_micros;
    m.resolution_since = c.since;
    m.resolution_due_at = c.due_at;
    m.resolution_warn_at = c.warn_at;
    m.resolution_met_at = c.met_at;
    m.resolution_warned_at = c.warned_at;
    m.resolution_breached_at = c.breached_at;
}

fn clock_view(c: ClockState) -> SlaClock {
    SlaClock {
        target_minutes: c.target.minutes,
        business: c.target.business,
        due_at: c.due_at,
        warn_at: c.warn_at,
        met_at: c.met_at,
        warned_at: c.warned_at,
        breached_at: c.breached_at,
        paused: c.since.is_none(),
    }
}

/// Shapes a stored item for a caller (free text masked for analysts and partners).
pub fn to_view(m: feedback_item::Model, actor: &Actor) -> FeedbackView {
    let first_response = clock_view(response_clock(&m));
    let resolution = clock_view(resolution_clock(&m));
    FeedbackView {
        id: m.id,
        customer_id: m.customer_id,
        channel: FeedbackChannel::from_db(&m.channel),
        kind: FeedbackKind::from_db(&m.kind),
        subject: mask::text_for(actor, m.subject),
        body: mask::text_for(actor, m.body),
        rating: m.rating,
        severity: Severity::from_db(&m.severity),
        severity_rule: m.severity_rule,
        sentiment: m.sentiment,
        keywords: serde_json::from_value(m.keywords).unwrap_or_default(),
        status: FeedbackStatus::from_db(&m.status),
        assignee_id: m.assignee_id,
        created_by: m.created_by,
        first_response,
        resolution,
        root_cause: m.root_cause.as_deref().map(RootCause::from_db),
        review_note: m.review_note.map(|n| mask::text_for(actor, n)),
        closed_at: m.closed_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn event_view(e: feedback_event::Model, actor: &Actor) -> FeedbackEventView {
    FeedbackEventView {
        id: e.id,
        feedback_id: e.feedback_id,
        kind: e.kind,
        actor: e.actor,
        from_value: e.from_value,
        to_value: e.to_value,
        note: e.note.map(|n| mask::text_for(actor, n)),
        created_at: e.created_at,
    }
}

/// A history entry to write.
pub struct Event<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
}

/// Records a history entry of an item.
///
/// # Errors
/// Database failures.
pub async fn record(
    conn: &impl ConnectionTrait,
    item: &feedback_item::Model,
    e: Event<'_>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    feedback_event::ActiveModel {
        id: Set(new_id()),
        feedback_id: Set(item.id),
        customer_id: Set(item.customer_id),
        kind: Set(e.kind.into()),
        actor: Set(e.actor.into()),
        from_value: Set(e.from),
        to_value: Set(e.to),
        note: Set(e.note),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

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
pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewFeedback) -> AppResult<FeedbackView> {
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
pub async fn create_mine(db: &DatabaseConnection, actor: &Actor, input: NewFeedback) -> AppResult<MyFeedbackView> {
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
    db: &DatabaseConnection,
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
    outbox::write(&txn, EventType::FeedbackCreated, model.id, payload(&model), at).await?;
    txn.commit().await?;
    Ok(to_view(model, actor))
}

/// What webhooks say about an item.
fn payload(m: &feedback_item::Model) -> serde_json::Value {
    json!({
        "feedback_id": m.id,
        "customer_id": m.customer_id,
        "kind": m.kind,
        "severity": m.severity,
        "status": m.status,
        "assignee_id": m.assignee_id,
    })
}

/// Staff who may read feedback: everyone but partners and customers.
fn read_policy(actor: &Actor) -> AppResult<()> {
    policy::read_customers(actor)
}

/// Admins and managers work every item; agents the ones assigned to them.
fn work_policy(actor: &Actor, item: &feedback_item::Model) -> AppResult<()> {
    policy::work_assigned(actor, item.assignee_id.as_deref())
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<feedback_item::Model> {
    feedback_item::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("feedback"))
}

/// Reads an item inside a transaction, locking its row on PostgreSQL.
///
/// # Errors
/// `NotFound`; database failures.
pub async fn find_for_update(txn: &DatabaseTransaction, id: Uuid) -> AppResult<feedback_item::Model> {
    let mut q = feedback_item::Entity::find_by_id(id);
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound("feedback"))
}

/// Reads an item.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<FeedbackView> {
    read_policy(actor)?;
    Ok(to_view(find(db, id).await?, actor))
}

/// Reads one of the signed-in customer's items.
///
/// # Errors
/// `Forbidden` for other roles; `NotFound` for another customer's item.
pub async fn get_mine(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<MyFeedbackView> {
    let own = policy::own_customer(actor)?;
    let item = find(db, id).await?;
    if item.customer_id != own {
        return Err(AppError::NotFound("feedback"));
    }
    Ok(to_view(item, actor).into())
}

fn filtered(filter: &FeedbackFilter) -> Condition {
    use feedback_item::Column as C;
    let mut cond = Condition::all();
    if let Some(v) = filter.status {
        cond = cond.add(C::Status.eq(v.as_str()));
    }
    if let Some(v) = filter.kind {
        cond = cond.add(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = filter.severity {
        cond = cond.add(C::Severity.eq(v.as_str()));
    }
    if let Some(v) = filter.channel {
        cond = cond.add(C::Channel.eq(v.as_str()));
    }
    if let Some(v) = &filter.assignee_id {
        cond = cond.add(C::AssigneeId.eq(v.as_str()));
    }
    if let Some(v) = filter.customer_id {
        cond = cond.add(C::CustomerId.eq(v));
    }
    if let Some(breached) = filter.breached {
        let any = Condition::any()
            .add(C::ResponseBreachedAt.is_not_null())
            .add(C::ResolutionBreachedAt.is_not_null());
        cond = cond.add(if breached { any } else { any.not() });
    }
    if let Some(v) = filter.created_from {
        cond = cond.add(C::CreatedAt.gte(v));
    }
    if let Some(v) = filter.created_to {
        cond = cond.add(C::CreatedAt.lt(v));
    }
    cond
}

async fn page_of(
    db: &DatabaseConnection,
    cond: Condition,
    page: &PageRequest,
) -> AppResult<(Vec<feedback_item::Model>, Option<String>)> {
    let mut q = feedback_item::Entity::find().filter(cond);
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            feedback_item::Column::CreatedAt,
            feedback_item::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(feedback_item::Column::CreatedAt)
        .order_by_desc(feedback_item::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(finish_page(rows, page.limit, |m| Cursor {
        key: m.created_at.to_rfc3339(),
        id: m.id,
    }))
}

/// Lists items, newest first.
///
/// # Errors
/// `Forbidden`; `Validation` on bad paging.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: &FeedbackFilter,
    page: &PageRequest,
) -> AppResult<Page<FeedbackView>> {
    read_policy(actor)?;
    let (rows, next_cursor) = page_of(db, filtered(filter), page).await?;
    Ok(Page {
        items: rows.into_iter().map(|m| to_view(m, actor)).collect(),
        next_cursor,
    })
}

/// Lists the signed-in customer's items, newest first.
///
/// # Errors
/// `Forbidden` for other roles; `Validation` on bad paging.
pub async fn list_mine(db: &DatabaseConnection, actor: &Actor, page: &PageRequest) -> AppResult<Page<MyFeedbackView>> {
    let own = policy::own_customer(actor)?;
    let cond = Condition::all().add(feedback_item::Column::CustomerId.eq(own));
    let (rows, next_cursor) = page_of(db, cond, page).await?;
    Ok(Page {
        items: rows.into_iter().map(|m| to_view(m, actor).into()).collect(),
        next_cursor,
    })
}

/// The open items (everything not closed) of some customers, newest first,
/// at most `limit` each, in one statement.
///
/// # Errors
/// Database failures.
pub async fn open_for(
    db: &DatabaseConnection,
    customer_ids: &[Uuid],
    limit: u64,
) -> AppResult<Vec<feedback_item::Model>> {
    super::latest_per_customer_where(
        db,
        feedback_item::Entity,
        "created_at",
        customer_ids,
        limit,
        Condition::all().add(feedback_item::Column::Status.ne(FeedbackStatus::Closed.as_str())),
    )
    .await
}

/// Saves a changed item with its events and outbox record.
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
    outbox::write(&txn, kind, item.id, payload(&item), at).await?;
    txn.commit().await?;
    Ok(to_view(item, actor))
}

/// Changes severity (the SLA targets follow) or assignment (admin/manager).
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field.
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: Uuid, patch: FeedbackPatch) -> AppResult<FeedbackView> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let assignee = super::patch_field(&mut c, "assignee_id", patch.assignee_id, parse::staff_id);
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
pub async fn transition(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: Transition,
) -> AppResult<FeedbackView> {
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
        return Err(AppError::conflict_on(
            "to",
            format!(
                "cannot move from {} to {}; allowed: {}",
                from.as_str(),
                to.as_str(),
                names.join(", ")
            ),
        ));
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
        super::sla::record_mark(&txn, &item, super::sla::Mark::Breach, name, clock, false, at).await?;
    }
    item.status = to.as_str().into();
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
    save(actor, txn, item, events, EventType::FeedbackStatusChanged, at).await
}

/// Adds a comment to an item's history.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on `body`.
pub async fn comment(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: NewComment,
) -> AppResult<FeedbackEventView> {
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

/// Which part of an item's history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// Every event: states, assignments, severity, SLA marks, comments.
    All,
    /// Comments only.
    Comments,
}

/// An item's history (or only its comments), oldest first.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn events(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    which: History,
    page: &PageRequest,
) -> AppResult<Page<FeedbackEventView>> {
    read_policy(actor)?;
    find(db, id).await?;
    let mut q = feedback_event::Entity::find().filter(feedback_event::Column::FeedbackId.eq(id));
    if which == History::Comments {
        q = q.filter(feedback_event::Column::Kind.eq("comment"));
    }
    if let Some(after) = &page.after {
        q = q.filter(feedback_event::Column::Id.gt(after.id));
    }
    // Ids are time-ordered (UUID v7), so id order is history order.
    let rows = q
        .order_by_asc(feedback_event::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let (rows, next_cursor) = finish_page(rows, page.limit, |e| Cursor {
        key: String::new(),
        id: e.id,
    });
    Ok(Page {
        items: rows.into_iter().map(|e| event_view(e, actor)).collect(),
        next_cursor,
    })
}

/// The feedback events of a customer after a timeline cursor, newest first.
///
/// # Errors
/// Database failures; `Validation` on a bad cursor.
pub async fn events_for_timeline(
    db: &DatabaseConnection,
    actor: &Actor,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<(FeedbackEventView, String)>> {
    let mut q = feedback_event::Entity::find().filter(feedback_event::Column::CustomerId.eq(customer_id));
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            feedback_event::Column::CreatedAt,
            feedback_event::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(feedback_event::Column::CreatedAt)
        .order_by_desc(feedback_event::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|e| e.feedback_id).collect();
    let subjects: std::collections::HashMap<Uuid, String> = feedback_item::Entity::find()
        .filter(feedback_item::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, mask::text_for(actor, m.subject)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|e| {
            let subject = subjects.get(&e.feedback_id).cloned().unwrap_or_default();
            (event_view(e, actor), subject)
        })
        .collect())
}
