//! The needs register: a customer's needs, their status moves with the
//! customer's confirmation, their history, their links to tasks and
//! interactions, and the success plan built from them.
//!
//! Admins and managers read and change every need; agents those of the
//! customers they own; analysts read with free text masked; partners
//! nothing; a customer reads its own needs once confirmed (`/me/needs`).

mod report;
mod unmet;

pub use report::report;
pub use unmet::{get_settings, put_settings, run_unmet, settings};

use chrono::{DateTime, Utc};
use entity::{customer, need, need_event, need_link, task};
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::paging::newest_first;
use super::tasks::{self as task_service, TaskDraft};
use super::{Store, begin, customers, events, mask, new_id, now};
use crate::auth::{Actor, Role, policy};
use crate::contract::Page;
use crate::contract::events::EventType;
use crate::contract::needs::{
    MyNeedView, NeedEventView, NeedFilter, NeedKind, NeedLevel, NeedLinkInput, NeedLinkKind, NeedLinkView, NeedPatch,
    NeedSource, NeedStatus, NeedTaskInput, NeedTransition, NeedView, NewNeed, Objective, Quadrant, SuccessPlan,
};
use crate::contract::tasks::{TaskKind, TaskStatus, TaskView};
use crate::domain::needs::{OPEN, allowed_moves, is_open, quadrant};
use crate::domain::pagination::PageRequest;
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

/// Shapes a stored need for `actor` (free text masked for analysts).
pub fn to_view(m: need::Model, actor: &Actor) -> NeedView {
    let text = |v: String| mask::text_for(actor, v);
    NeedView {
        id: m.id,
        customer_id: m.customer_id,
        title: text(m.title),
        description: m.description.map(text),
        kind: NeedKind::from_db(&m.kind),
        urgency: NeedLevel::from_db(&m.urgency),
        importance: NeedLevel::from_db(&m.importance),
        quadrant: Quadrant::from_db(&m.quadrant),
        source: NeedSource::from_db(&m.source),
        source_id: m.source_id,
        stage: m.stage.map(text),
        owner_id: m.owner_id,
        due_on: m.due_on,
        status: NeedStatus::from_db(&m.status),
        solution: m.solution.map(text),
        reason: m.reason.map(text),
        confirmed_by_contact_id: m.confirmed_by_contact_id,
        confirmed_at: m.confirmed_at,
        unmet_since: m.unmet_since,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn event_view(m: need_event::Model, actor: &Actor) -> NeedEventView {
    NeedEventView {
        id: m.id,
        need_id: m.need_id,
        event: m.event,
        actor: m.actor,
        from_value: m.from_value,
        to_value: m.to_value,
        note: m.note.map(|n| mask::text_for(actor, n)),
        at: m.at,
    }
}

/// One line of a need's history.
pub(super) struct HistoryLine<'a> {
    pub event: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
}

/// A line of a need's history, to insert.
pub(super) fn history_row(
    n: &need::Model,
    actor: &str,
    line: HistoryLine<'_>,
    at: DateTime<Utc>,
) -> need_event::ActiveModel {
    need_event::ActiveModel {
        id: Set(new_id()),
        need_id: Set(n.id),
        customer_id: Set(n.customer_id),
        event: Set(line.event.into()),
        actor: Set(actor.into()),
        from_value: Set(line.from),
        to_value: Set(line.to),
        note: Set(line.note),
        at: Set(at),
    }
}

/// Writes a line of a need's history in the caller's transaction.
pub(super) async fn record(
    conn: &impl ConnectionTrait,
    n: &need::Model,
    actor: &str,
    line: HistoryLine<'_>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    history_row(n, actor, line, at).insert(conn).await?;
    Ok(())
}

/// The customer, live, after the actor may read its account work.
async fn customer_for_read(conn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<customer::Model> {
    policy::read_customers(actor)?;
    let c = customers::find_live(conn, id).await?;
    policy::read_account_work(actor, c.owner_id.as_deref())?;
    Ok(c)
}

/// The customer, live, after the actor may change its account work.
async fn customer_for_write(conn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<customer::Model> {
    policy::log_interaction(actor)?;
    let c = customers::find_live(conn, id).await?;
    policy::write_customer(actor, c.owner_id.as_deref())?;
    Ok(c)
}

async fn find(conn: &impl ConnectionTrait, id: Uuid, lock: bool) -> AppResult<need::Model> {
    let mut q = need::Entity::find_by_id(id);
    if lock && conn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(conn).await?.ok_or(AppError::NotFound("need"))
}

/// Whether `source_id` names an item of this customer of the source's kind.
async fn source_exists(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    source: NeedSource,
    id: Uuid,
) -> AppResult<bool> {
    Ok(match source {
        NeedSource::Feedback => entity::feedback_item::Entity::find_by_id(id)
            .one(conn)
            .await?
            .is_some_and(|f| f.customer_id == customer_id),
        NeedSource::SurveyResponse => entity::survey_response::Entity::find_by_id(id)
            .one(conn)
            .await?
            .is_some_and(|r| r.customer_id == customer_id),
        NeedSource::Interview | NeedSource::Meeting => entity::interaction::Entity::find_by_id(id)
            .one(conn)
            .await?
            .is_some_and(|i| i.customer_id == customer_id),
        NeedSource::Other => false,
    })
}

/// Records a need of a customer.
///
/// # Errors
/// `Forbidden` (agents: customers they own only), `NotFound` for the
/// customer, `Validation` naming each bad field.
pub async fn create(db: &impl Store, actor: &Actor, customer_id: Uuid, input: NewNeed) -> AppResult<NeedView> {
    let c = customer_for_write(db, actor, customer_id).await?;
    let mut k = Checker::default();
    let title = k.check("title", parse::name(input.title));
    let description = k.opt("description", input.description, |v| {
        parse::text(v, parse::MAX_DESCRIPTION)
    });
    let stage = k.opt("stage", input.stage, parse::name);
    let owner = k
        .opt("owner_id", input.owner_id, parse::staff_id)
        .or_else(|| c.owner_id.clone())
        .unwrap_or_else(|| actor.sub.clone());
    if !policy::may_assign(actor, &owner) {
        k.fail("owner_id", "an agent may name only itself");
    }
    match (input.source, input.source_id) {
        (NeedSource::Other, Some(_)) => k.fail("source_id", "a need from `other` links no item"),
        (source, Some(id)) if !source_exists(db, customer_id, source, id).await? => {
            k.fail("source_id", "no such item of this customer for this source");
        }
        _ => {}
    }
    k.finish()?;
    let draft = NeedDraft {
        customer_id,
        title: title.unwrap_or_default(),
        description,
        kind: input.kind,
        urgency: input.urgency,
        importance: input.importance,
        source: input.source,
        source_id: input.source_id,
        stage,
        owner_id: Some(owner),
        due_on: input.due_on,
    };
    let txn = begin(db).await?;
    let n = insert(&txn, draft, &actor.sub, now()).await?;
    txn.commit().await?;
    Ok(to_view(n, actor))
}

/// A need to insert, its fields checked.
pub(crate) struct NeedDraft {
    pub customer_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub kind: NeedKind,
    pub urgency: NeedLevel,
    pub importance: NeedLevel,
    pub source: NeedSource,
    pub source_id: Option<Uuid>,
    pub stage: Option<String>,
    pub owner_id: Option<String>,
    pub due_on: Option<chrono::NaiveDate>,
}

/// Inserts an open need with its first history line and `need.created`, in
/// the caller's transaction.
///
/// # Errors
/// Database failures.
pub(crate) async fn insert(
    txn: &DatabaseTransaction,
    d: NeedDraft,
    actor: &str,
    at: DateTime<Utc>,
) -> AppResult<need::Model> {
    let model = need::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(d.customer_id),
        title: Set(d.title),
        description: Set(d.description),
        kind: Set(d.kind.as_str().into()),
        urgency: Set(d.urgency.as_str().into()),
        importance: Set(d.importance.as_str().into()),
        quadrant: Set(quadrant(d.urgency, d.importance).as_str().into()),
        source: Set(d.source.as_str().into()),
        source_id: Set(d.source_id),
        stage: Set(d.stage),
        owner_id: Set(d.owner_id),
        due_on: Set(d.due_on),
        status: Set(NeedStatus::Open.as_str().into()),
        solution: Set(None),
        reason: Set(None),
        confirmed_by_contact_id: Set(None),
        confirmed_at: Set(None),
        unmet_since: Set(None),
        closed_at: Set(None),
        created_by: Set(actor.into()),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let n = model.insert(txn).await?;
    let line = HistoryLine {
        event: "created",
        from: None,
        to: Some(n.status.clone()),
        note: None,
    };
    record(txn, &n, actor, line, at).await?;
    let data = json!({"kind": n.kind, "quadrant": n.quadrant, "status": n.status, "owner_id": n.owner_id});
    events::emit(txn, EventType::NeedCreated, n.id, Some(n.customer_id), data, at).await?;
    Ok(n)
}

/// A need the actor may read, with its customer's owner.
async fn readable(conn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<need::Model> {
    policy::read_customers(actor)?;
    let n = find(conn, id, false).await?;
    let c = customers::find_live(conn, n.customer_id)
        .await
        .map_err(|_| AppError::NotFound("need"))?;
    policy::read_account_work(actor, c.owner_id.as_deref())?;
    Ok(n)
}

/// A need the actor may change, locked for the transaction.
async fn writable(txn: &DatabaseTransaction, actor: &Actor, id: Uuid) -> AppResult<need::Model> {
    policy::log_interaction(actor)?;
    let n = find(txn, id, true).await?;
    let c = customers::find_live(txn, n.customer_id)
        .await
        .map_err(|_| AppError::NotFound("need"))?;
    policy::write_customer(actor, c.owner_id.as_deref())?;
    Ok(n)
}

/// Reads a need.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<NeedView> {
    Ok(to_view(readable(db, actor, id).await?, actor))
}

fn filtered(f: &NeedFilter) -> Condition {
    use need::Column as C;
    let mut cond = Condition::all();
    if let Some(v) = f.status {
        cond = cond.add(C::Status.eq(v.as_str()));
    }
    if let Some(v) = f.quadrant {
        cond = cond.add(C::Quadrant.eq(v.as_str()));
    }
    if let Some(v) = f.kind {
        cond = cond.add(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = &f.owner_id {
        cond = cond.add(C::OwnerId.eq(v.as_str()));
    }
    let open = C::Status.is_in(OPEN.iter().map(|s| s.as_str()));
    match f.open {
        Some(true) => cond = cond.add(open),
        Some(false) => cond = cond.add(open.not()),
        None => {}
    }
    match f.unmet {
        Some(true) => cond = cond.add(C::UnmetSince.is_not_null()),
        Some(false) => cond = cond.add(C::UnmetSince.is_null()),
        None => {}
    }
    cond
}

async fn page_of(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    cond: Condition,
    page: &PageRequest,
) -> AppResult<Page<NeedView>> {
    use need::Column as C;
    let q = need::Entity::find().filter(cond);
    Ok(
        newest_first(conn, q, (C::CreatedAt, C::Id), page, |n| (n.created_at, n.id))
            .await?
            .map(|n| to_view(n, actor)),
    )
}

/// A customer's needs, newest first.
///
/// # Errors
/// `Forbidden`, `NotFound` for the customer, `Validation` on bad paging.
pub async fn list_for_customer(
    db: &impl Store,
    actor: &Actor,
    customer_id: Uuid,
    f: &NeedFilter,
    page: &PageRequest,
) -> AppResult<Page<NeedView>> {
    customer_for_read(db, actor, customer_id).await?;
    page_of(
        db,
        actor,
        filtered(f).add(need::Column::CustomerId.eq(customer_id)),
        page,
    )
    .await
}

/// Needs across customers, newest first; an agent's are those of the
/// customers it owns.
///
/// # Errors
/// `Forbidden`, `Validation` on bad paging.
pub async fn list(db: &impl Store, actor: &Actor, f: &NeedFilter, page: &PageRequest) -> AppResult<Page<NeedView>> {
    policy::read_customers(actor)?;
    let mut cond = filtered(f);
    if actor.role == Role::Agent {
        let owned = Query::select()
            .column(customer::Column::Id)
            .from(customer::Entity)
            .and_where(customer::Column::OwnerId.eq(actor.sub.as_str()))
            .to_owned();
        cond = cond.add(need::Column::CustomerId.in_subquery(owned));
    }
    cond = cond.add(
        need::Column::CustomerId.in_subquery(
            Query::select()
                .column(customer::Column::Id)
                .from(customer::Entity)
                .and_where(customer::Column::DeletedAt.is_null())
                .to_owned(),
        ),
    );
    page_of(db, actor, cond, page).await
}

/// Changes a need's description fields; the quadrant follows urgency and
/// importance. Only admins and managers hand a need to someone else.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field, `Conflict`
/// for a need already delivered, declined or withdrawn.
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: NeedPatch) -> AppResult<NeedView> {
    let txn = begin(db).await?;
    let mut n = writable(&txn, actor, id).await?;
    let mut k = Checker::default();
    let mut changed: Vec<&str> = Vec::new();
    if let Some(title) = patch.title {
        n.title = k.check("title", parse::name(title)).unwrap_or_default();
        changed.push("title");
    }
    if let Some(v) = super::patch_field(&mut k, "description", patch.description, |v| {
        parse::text(v, parse::MAX_DESCRIPTION)
    }) {
        n.description = v;
        changed.push("description");
    }
    if let Some(v) = super::patch_field(&mut k, "stage", patch.stage, parse::name) {
        n.stage = v;
        changed.push("stage");
    }
    if let Some(v) = super::patch_field(&mut k, "owner_id", patch.owner_id, parse::staff_id) {
        if actor.is_staff_manager() {
            n.owner_id = v;
            changed.push("owner_id");
        } else {
            k.fail("owner_id", "only admins and managers hand a need to someone else");
        }
    }
    if let Some(v) = super::patch_field(&mut k, "due_on", patch.due_on, Ok) {
        n.due_on = v;
        changed.push("due_on");
    }
    if let Some(v) = patch.kind {
        n.kind = v.as_str().into();
        changed.push("kind");
    }
    let urgency = patch.urgency.unwrap_or_else(|| NeedLevel::from_db(&n.urgency));
    let importance = patch.importance.unwrap_or_else(|| NeedLevel::from_db(&n.importance));
    if patch.urgency.is_some() || patch.importance.is_some() {
        changed.push("urgency/importance");
    }
    k.finish()?;
    if !is_open(NeedStatus::from_db(&n.status)) {
        return Err(AppError::conflict_on(
            "status",
            format!("a need that is {} no longer changes", n.status),
        ));
    }
    let from_quadrant = n.quadrant.clone();
    n.urgency = urgency.as_str().into();
    n.importance = importance.as_str().into();
    n.quadrant = quadrant(urgency, importance).as_str().into();
    let at = now();
    n.updated_at = at;
    let n = n.into_active_model().reset_all().update(&txn).await?;
    if !changed.is_empty() {
        let line = HistoryLine {
            event: "updated",
            from: (from_quadrant != n.quadrant).then_some(from_quadrant),
            to: Some(n.quadrant.clone()),
            note: Some(changed.join(", ")),
        };
        record(&txn, &n, &actor.sub, line, at).await?;
    }
    txn.commit().await?;
    Ok(to_view(n, actor))
}

/// Moves a need's status. Illegal moves are `409`; a proposal needs a
/// solution, a confirmation an active contact of the customer, a decline or
/// withdrawal a reason.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Conflict`, `Validation` naming each bad field.
pub async fn transition(db: &impl Store, actor: &Actor, id: Uuid, input: NeedTransition) -> AppResult<NeedView> {
    let txn = begin(db).await?;
    let mut n = writable(&txn, actor, id).await?;
    let from = NeedStatus::from_db(&n.status);
    let to = input.to;
    let allowed = allowed_moves(from);
    if !allowed.contains(&to) {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        return Err(AppError::illegal_move(from.as_str(), to.as_str(), &names));
    }
    let at = now();
    let mut k = Checker::default();
    let note = k.opt("note", input.note, |v| parse::text(v, parse::MAX_TEXT));
    if let Some(solution) = k.opt("solution", input.solution, |v| parse::text(v, parse::MAX_TEXT)) {
        n.solution = Some(solution);
    }
    let reason = k.opt("reason", input.reason, |v| parse::text(v, parse::MAX_TEXT));
    match to {
        NeedStatus::Proposed if n.solution.is_none() => k.fail("solution", "a proposal needs the solution"),
        NeedStatus::Confirmed => match input.confirmed_by_contact_id {
            None => k.fail(
                "confirmed_by_contact_id",
                "a confirmation names the contact who gave it",
            ),
            Some(contact_id) => {
                let contact = entity::contact::Entity::find_by_id(contact_id).one(&txn).await?;
                match contact {
                    Some(c) if c.customer_id == n.customer_id && c.active => {
                        let when = k.check("confirmed_at", parse::happened(input.confirmed_at.unwrap_or(at), at));
                        n.confirmed_by_contact_id = Some(contact_id);
                        n.confirmed_at = when;
                    }
                    Some(c) if c.customer_id == n.customer_id => {
                        k.fail("confirmed_by_contact_id", "this contact has left the customer");
                    }
                    _ => k.fail("confirmed_by_contact_id", "no such contact of this customer"),
                }
            }
        },
        NeedStatus::Declined | NeedStatus::Withdrawn if reason.is_none() => {
            k.fail("reason", "say why the need is declined or withdrawn");
        }
        _ => {}
    }
    if to != NeedStatus::Confirmed && (input.confirmed_by_contact_id.is_some() || input.confirmed_at.is_some()) {
        k.fail(
            "confirmed_by_contact_id",
            "only a move to confirmed records a confirmation",
        );
    }
    k.finish()?;
    if matches!(to, NeedStatus::Declined | NeedStatus::Withdrawn) {
        n.reason = reason;
    }
    if !is_open(to) {
        n.closed_at = Some(at);
        n.unmet_since = None;
    }
    n.status = to.as_str().into();
    n.updated_at = at;
    let n = n.into_active_model().reset_all().update(&txn).await?;
    let line = HistoryLine {
        event: "status_changed",
        from: Some(from.as_str().into()),
        to: Some(to.as_str().into()),
        note,
    };
    record(&txn, &n, &actor.sub, line, at).await?;
    let data = json!({"from": from.as_str(), "to": to.as_str(), "quadrant": n.quadrant});
    events::emit(&txn, EventType::NeedStatusChanged, n.id, Some(n.customer_id), data, at).await?;
    txn.commit().await?;
    Ok(to_view(n, actor))
}

/// A need's history, newest first.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn history(db: &impl Store, actor: &Actor, id: Uuid, page: &PageRequest) -> AppResult<Page<NeedEventView>> {
    readable(db, actor, id).await?;
    use need_event::Column as C;
    let q = need_event::Entity::find().filter(C::NeedId.eq(id));
    Ok(newest_first(db, q, (C::At, C::Id), page, |e| (e.at, e.id))
        .await?
        .map(|e| event_view(e, actor)))
}

/// A need's links, oldest first.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn links(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<Vec<NeedLinkView>> {
    readable(db, actor, id).await?;
    Ok(links_of(db, &[id]).await?.into_iter().map(link_view).collect())
}

async fn links_of(conn: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<need_link::Model>> {
    Ok(need_link::Entity::find()
        .filter(need_link::Column::NeedId.is_in(ids.iter().copied()))
        .order_by_asc(need_link::Column::CreatedAt)
        .order_by_asc(need_link::Column::TargetId)
        .all(conn)
        .await?)
}

fn link_view(l: need_link::Model) -> NeedLinkView {
    NeedLinkView {
        kind: NeedLinkKind::from_db(&l.kind),
        target_id: l.target_id,
        created_at: l.created_at,
    }
}

async fn insert_link(
    txn: &DatabaseTransaction,
    actor: &Actor,
    n: &need::Model,
    kind: NeedLinkKind,
    target_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<NeedLinkView> {
    let existing = need_link::Entity::find_by_id((n.id, kind.as_str().to_owned(), target_id))
        .one(txn)
        .await?;
    if let Some(l) = existing {
        return Ok(link_view(l));
    }
    let l = need_link::ActiveModel {
        need_id: Set(n.id),
        kind: Set(kind.as_str().into()),
        target_id: Set(target_id),
        created_by: Set(actor.sub.clone()),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    let line = HistoryLine {
        event: "linked",
        from: None,
        to: Some(format!("{}:{target_id}", kind.as_str())),
        note: None,
    };
    record(txn, n, &actor.sub, line, at).await?;
    Ok(link_view(l))
}

/// Links a need to a task or an interaction of the same customer (linking
/// twice keeps one link).
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` for a target of another customer.
pub async fn link(db: &impl Store, actor: &Actor, id: Uuid, input: NeedLinkInput) -> AppResult<NeedLinkView> {
    let txn = begin(db).await?;
    let n = writable(&txn, actor, id).await?;
    let owner = match input.kind {
        NeedLinkKind::Task => task::Entity::find_by_id(input.target_id)
            .one(&txn)
            .await?
            .map(|t| t.customer_id),
        NeedLinkKind::Interaction => entity::interaction::Entity::find_by_id(input.target_id)
            .one(&txn)
            .await?
            .map(|i| i.customer_id),
    };
    if owner != Some(n.customer_id) {
        return Err(AppError::field("target_id", "no such item of this need's customer"));
    }
    let view = insert_link(&txn, actor, &n, input.kind, input.target_id, now()).await?;
    txn.commit().await?;
    Ok(view)
}

/// Spawns a follow-up task from a need, linked to it, for the need's owner
/// unless someone else is named (agents: only themselves).
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field.
pub async fn spawn_task(db: &impl Store, actor: &Actor, id: Uuid, input: NeedTaskInput) -> AppResult<TaskView> {
    let txn = begin(db).await?;
    let n = writable(&txn, actor, id).await?;
    let mut k = Checker::default();
    let title = k.check("title", parse::name(input.title));
    let assignee = k
        .opt("assignee_id", input.assignee_id, parse::staff_id)
        .or_else(|| n.owner_id.clone())
        .unwrap_or_else(|| actor.sub.clone());
    let assignee = if actor.role == Role::Agent && assignee != actor.sub {
        k.fail("assignee_id", "an agent may assign only itself");
        actor.sub.clone()
    } else {
        assignee
    };
    k.finish()?;
    let at = now();
    let draft = TaskDraft {
        kind: TaskKind::FollowUp,
        customer_id: n.customer_id,
        feedback_id: None,
        title: title.unwrap_or_default(),
        assignee_id: Some(assignee),
        due_at: input.due_at,
        created_by: actor.sub.clone(),
    };
    let t = task_service::insert(&txn, draft, at).await?;
    insert_link(&txn, actor, &n, NeedLinkKind::Task, t.id, at).await?;
    txn.commit().await?;
    Ok(task_service::to_view(t))
}

/// The order objectives come in: most pressing quadrant first.
fn quadrant_rank(q: &str) -> u8 {
    match Quadrant::from_db(q) {
        Quadrant::DoNow => 0,
        Quadrant::Plan => 1,
        Quadrant::Delegate => 2,
        Quadrant::Later => 3,
    }
}

/// Most objectives a plan shows.
const PLAN_LIMIT: u64 = 200;

/// A customer's success plan: the open needs as objectives with their
/// linked tasks, progress and next due date. Agents see only their own
/// tasks in it.
///
/// # Errors
/// `Forbidden`, `NotFound` for the customer.
pub async fn success_plan(db: &impl Store, actor: &Actor, customer_id: Uuid) -> AppResult<SuccessPlan> {
    customer_for_read(db, actor, customer_id).await?;
    let mut needs = need::Entity::find()
        .filter(need::Column::CustomerId.eq(customer_id))
        .filter(need::Column::Status.is_in(OPEN.iter().map(|s| s.as_str())))
        .order_by_asc(need::Column::CreatedAt)
        .limit(PLAN_LIMIT)
        .all(db)
        .await?;
    needs.sort_by_key(|n| (quadrant_rank(&n.quadrant), n.due_on.is_none(), n.due_on));
    let ids: Vec<Uuid> = needs.iter().map(|n| n.id).collect();
    let links = links_of(db, &ids).await?;
    let task_ids: Vec<Uuid> = links
        .iter()
        .filter(|l| l.kind == NeedLinkKind::Task.as_str())
        .map(|l| l.target_id)
        .collect();
    let tasks = task::Entity::find()
        .filter(task::Column::Id.is_in(task_ids))
        .order_by_asc(task::Column::CreatedAt)
        .all(db)
        .await?;
    let objectives: Vec<Objective> = needs
        .into_iter()
        .map(|n| {
            let own: Vec<&task::Model> = tasks
                .iter()
                .filter(|t| {
                    links
                        .iter()
                        .any(|l| l.need_id == n.id && l.target_id == t.id && l.kind == NeedLinkKind::Task.as_str())
                })
                .collect();
            let total = i64::try_from(own.len()).unwrap_or(i64::MAX);
            let done = i64::try_from(own.iter().filter(|t| t.status == TaskStatus::Done.as_str()).count()).unwrap_or(0);
            let next_task = own
                .iter()
                .filter(|t| t.status == TaskStatus::Open.as_str())
                .filter_map(|t| t.due_at.map(|d| d.date_naive()))
                .min();
            let next_due_on = [n.due_on, next_task].into_iter().flatten().min();
            #[allow(clippy::cast_precision_loss)]
            let progress = (total > 0).then(|| done as f64 / total as f64);
            let visible = own
                .into_iter()
                .filter(|t| policy::may_see_assigned(actor, t.assignee_id.as_deref()))
                .cloned()
                .map(task_service::to_view)
                .collect();
            Objective {
                need: to_view(n, actor),
                tasks: visible,
                tasks_done: done,
                tasks_total: total,
                progress,
                next_due_on,
            }
        })
        .collect();
    Ok(SuccessPlan {
        customer_id,
        next_due_on: objectives.iter().filter_map(|o| o.next_due_on).min(),
        objectives,
    })
}

/// The caller's own needs once confirmed (confirmed and delivered), as a
/// customer sees them: title, status, solution, dates.
///
/// # Errors
/// `Forbidden` for every role but customer.
pub async fn mine(db: &impl Store, actor: &Actor) -> AppResult<Vec<MyNeedView>> {
    let customer_id = policy::own_customer(actor)?;
    let rows = need::Entity::find()
        .filter(need::Column::CustomerId.eq(customer_id))
        .filter(need::Column::ConfirmedAt.is_not_null())
        .filter(need::Column::Status.is_in([NeedStatus::Confirmed.as_str(), NeedStatus::Delivered.as_str()]))
        .order_by_desc(need::Column::UpdatedAt)
        .limit(PLAN_LIMIT)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|n| MyNeedView {
            id: n.id,
            title: n.title,
            status: NeedStatus::from_db(&n.status),
            solution: n.solution,
            confirmed_at: n.confirmed_at,
            due_on: n.due_on,
            updated_at: n.updated_at,
        })
        .collect())
}

/// A customer's needs and their history, for the privacy export.
///
/// # Errors
/// Database failures.
pub async fn export(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    customer_id: Uuid,
) -> AppResult<(Vec<NeedView>, Vec<NeedEventView>)> {
    let needs = need::Entity::find()
        .filter(need::Column::CustomerId.eq(customer_id))
        .order_by_asc(need::Column::CreatedAt)
        .all(conn)
        .await?;
    let history = need_event::Entity::find()
        .filter(need_event::Column::CustomerId.eq(customer_id))
        .order_by_asc(need_event::Column::At)
        .all(conn)
        .await?;
    Ok((
        needs.into_iter().map(|n| to_view(n, actor)).collect(),
        history.into_iter().map(|e| event_view(e, actor)).collect(),
    ))
}

/// Erases the words of a customer's needs and their history (erasure): the
/// title becomes `placeholder`, the rest of the free text goes; statuses,
/// dates and quadrants stay for the reports.
///
/// # Errors
/// Database failures.
pub async fn erase(conn: &impl ConnectionTrait, customer_id: Uuid, placeholder: &str) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    let none: Option<String> = None;
    need::Entity::update_many()
        .col_expr(need::Column::Title, Expr::value(placeholder))
        .col_expr(need::Column::Description, Expr::value(none.clone()))
        .col_expr(need::Column::Solution, Expr::value(none.clone()))
        .col_expr(need::Column::Reason, Expr::value(none.clone()))
        .col_expr(need::Column::Stage, Expr::value(none.clone()))
        .filter(need::Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    need_event::Entity::update_many()
        .col_expr(need_event::Column::Note, Expr::value(none))
        .filter(need_event::Column::CustomerId.eq(customer_id))
        .exec(conn)
        .await?;
    Ok(())
}
