//! Tasks: work for a staff member about a customer. Admins and managers see
//! and change every task; agents see and work their own; analysts read.

use std::collections::HashMap;

use crate::service::Store;
use chrono::{DateTime, Utc};
use entity::task;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, TryIntoModel,
};
use uuid::Uuid;

use super::paging::newest_first;
use super::{begin, customers, events, new_id, now};
use crate::auth::{Actor, Role, policy};
use crate::contract::Page;
use crate::contract::events::EventType;
use crate::contract::tasks::{
    NewTask, TaskFilter, TaskKind, TaskPatch, TaskReassign, TaskReassigned, TaskStatus, TaskView,
};
use crate::domain::pagination::PageRequest;
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};
use serde_json::json;

/// Shapes a stored task.
pub fn to_view(m: task::Model) -> TaskView {
    TaskView {
        id: m.id,
        kind: TaskKind::from_db(&m.kind),
        customer_id: m.customer_id,
        feedback_id: m.feedback_id,
        title: m.title,
        assignee_id: m.assignee_id,
        due_at: m.due_at,
        status: TaskStatus::from_db(&m.status),
        outcome: m.outcome,
        created_by: m.created_by,
        completed_at: m.completed_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// A task to insert.
pub struct TaskDraft {
    pub kind: TaskKind,
    pub customer_id: Uuid,
    pub feedback_id: Option<Uuid>,
    pub title: String,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_by: String,
}

fn active(d: TaskDraft, dedup_key: Option<String>, at: DateTime<Utc>) -> task::ActiveModel {
    task::ActiveModel {
        id: Set(new_id()),
        kind: Set(d.kind.as_str().into()),
        customer_id: Set(d.customer_id),
        feedback_id: Set(d.feedback_id),
        title: Set(d.title),
        assignee_id: Set(d.assignee_id),
        due_at: Set(d.due_at),
        status: Set(TaskStatus::Open.as_str().into()),
        outcome: Set(None),
        created_by: Set(d.created_by),
        dedup_key: Set(dedup_key),
        completed_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// The tasks one job run created per owner, against a cap, so that a job
/// switched on floods no one (`None`: customers without an owner).
pub struct OwnerCap {
    cap: u32,
    per_owner: HashMap<Option<String>, u32>,
}

impl OwnerCap {
    pub fn new(cap: u32) -> Self {
        Self {
            cap,
            per_owner: HashMap::new(),
        }
    }

    /// Whether the owner may get one more task in this run (and counts it).
    pub fn take(&mut self, owner: Option<&String>) -> bool {
        let n = self.per_owner.entry(owner.cloned()).or_insert(0);
        if *n >= self.cap {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back a place a task did not use (it existed already).
    pub fn give_back(&mut self, owner: Option<&String>) {
        if let Some(n) = self.per_owner.get_mut(&owner.cloned()) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Inserts a task and its `task.created` event, in the caller's transaction.
///
/// # Errors
/// Database failures.
pub async fn insert(conn: &impl ConnectionTrait, d: TaskDraft, at: DateTime<Utc>) -> AppResult<task::Model> {
    let model = active(d, None, at).insert(conn).await?;
    created(conn, &model, at).await?;
    Ok(model)
}

/// Inserts a task a job creates once per `key`, ever (another run or
/// instance may have created it): `None` when it exists already.
///
/// # Errors
/// Database failures.
pub async fn insert_once(
    conn: &impl ConnectionTrait,
    d: TaskDraft,
    key: String,
    at: DateTime<Utc>,
) -> AppResult<Option<Uuid>> {
    let am = active(d, Some(key), at);
    let model = am.clone().try_into_model()?;
    let inserted = task::Entity::insert(am)
        .on_conflict(OnConflict::column(task::Column::DedupKey).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    created(conn, &model, at).await?;
    Ok(Some(model.id))
}

async fn created(conn: &impl ConnectionTrait, model: &task::Model, at: DateTime<Utc>) -> AppResult<()> {
    events::emit(
        conn,
        EventType::TaskCreated,
        model.id,
        Some(model.customer_id),
        json!({"kind": model.kind, "feedback_id": model.feedback_id, "assignee_id": model.assignee_id, "due_at": model.due_at}),
        at,
    )
    .await
}

/// Creates a task. Agents create tasks for themselves only.
///
/// # Errors
/// `Forbidden` for analysts, partners and customers; `Validation` naming
/// each bad field (an unknown customer or feedback item included).
pub async fn create(db: &impl Store, actor: &Actor, input: NewTask) -> AppResult<TaskView> {
    policy::log_interaction(actor)?;
    let mut c = Checker::default();
    let title = c.check("title", parse::name(input.title));
    let assignee = c
        .opt("assignee_id", input.assignee_id, parse::staff_id)
        .unwrap_or_else(|| actor.sub.clone());
    if !policy::may_assign(actor, &assignee) {
        c.fail("assignee_id", "an agent may assign only itself");
    }
    if customers::find_live(db, input.customer_id).await.is_err() {
        c.fail("customer_id", "no such customer");
    }
    if let Some(feedback_id) = input.feedback_id {
        let found = entity::feedback_item::Entity::find_by_id(feedback_id)
            .one(db)
            .await?
            .filter(|f| f.customer_id == input.customer_id);
        if found.is_none() {
            c.fail("feedback_id", "no such feedback item of this customer");
        }
    }
    c.finish()?;
    let draft = TaskDraft {
        kind: input.kind,
        customer_id: input.customer_id,
        feedback_id: input.feedback_id,
        title: title.unwrap_or_default(),
        assignee_id: Some(assignee),
        due_at: input.due_at,
        created_by: actor.sub.clone(),
    };
    let txn = begin(db).await?;
    let model = insert(&txn, draft, now()).await?;
    txn.commit().await?;
    Ok(to_view(model))
}

fn read_policy(actor: &Actor) -> AppResult<()> {
    policy::read_customers(actor)
}

fn may_work(actor: &Actor, t: &task::Model) -> bool {
    policy::may_work_assigned(actor, t.assignee_id.as_deref())
}

fn may_see(actor: &Actor, t: &task::Model) -> bool {
    policy::may_see_assigned(actor, t.assignee_id.as_deref())
}

/// Reads a task (an agent only its own).
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<TaskView> {
    read_policy(actor)?;
    let t = task::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("task"))?;
    if !may_see(actor, &t) {
        return Err(AppError::NotFound("task"));
    }
    Ok(to_view(t))
}

/// Lists tasks, newest first; an agent sees only its own.
///
/// # Errors
/// `Forbidden`; `Validation` on bad paging.
pub async fn list(db: &impl Store, actor: &Actor, f: &TaskFilter, page: &PageRequest) -> AppResult<Page<TaskView>> {
    read_policy(actor)?;
    use task::Column as C;
    let mut cond = Condition::all();
    if actor.role == Role::Agent || f.mine == Some(true) {
        cond = cond.add(C::AssigneeId.eq(actor.sub.as_str()));
    } else if let Some(a) = &f.assignee_id {
        cond = cond.add(C::AssigneeId.eq(a.as_str()));
    }
    if let Some(v) = f.status {
        cond = cond.add(C::Status.eq(v.as_str()));
    }
    if let Some(v) = f.kind {
        cond = cond.add(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = f.customer_id {
        cond = cond.add(C::CustomerId.eq(v));
    }
    if let Some(v) = f.feedback_id {
        cond = cond.add(C::FeedbackId.eq(v));
    }
    if let Some(v) = f.due_before {
        cond = cond.add(C::DueAt.lt(v));
    }
    if let Some(v) = f.due_after {
        cond = cond.add(C::DueAt.gte(v));
    }
    let late = C::Status.eq(TaskStatus::Open.as_str()).and(C::DueAt.lt(now()));
    match f.overdue {
        Some(true) => cond = cond.add(late),
        Some(false) => cond = cond.add(late.not()),
        None => {}
    }
    let q = task::Entity::find().filter(cond);
    Ok(
        newest_first(db, q, (C::CreatedAt, C::Id), page, |t| (t.created_at, t.id))
            .await?
            .map(to_view),
    )
}

/// Changes a task. Only admins and managers reassign; finishing (`done`)
/// needs an outcome note.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field.
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: TaskPatch) -> AppResult<TaskView> {
    read_policy(actor)?;
    let mut t = task::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("task"))?;
    if !may_see(actor, &t) {
        return Err(AppError::NotFound("task"));
    }
    if !may_work(actor, &t) {
        return Err(AppError::Forbidden);
    }
    let mut c = Checker::default();
    if let Some(title) = patch.title {
        t.title = c.check("title", parse::name(title)).unwrap_or_default();
    }
    if let Some(outcome) = patch.outcome {
        t.outcome = c.check("outcome", parse::text(outcome, parse::MAX_TEXT));
    }
    if let Some(assignee) = super::patch_field(&mut c, "assignee_id", patch.assignee_id, parse::staff_id) {
        if actor.is_staff_manager() {
            t.assignee_id = assignee;
        } else {
            c.fail("assignee_id", "only admins and managers reassign tasks");
        }
    }
    if let Some(due) = super::patch_field(&mut c, "due_at", patch.due_at, Ok) {
        t.due_at = due;
    }
    let at = now();
    let was_done = t.status == TaskStatus::Done.as_str();
    if let Some(status) = patch.status {
        if status == TaskStatus::Done && t.outcome.is_none() {
            c.fail("outcome", "is required to finish a task");
        }
        t.completed_at = (status != TaskStatus::Open).then_some(at);
        t.status = status.as_str().into();
    }
    c.finish()?;
    t.updated_at = at;
    let txn = begin(db).await?;
    let t = t.into_active_model().reset_all().update(&txn).await?;
    if !was_done && t.status == TaskStatus::Done.as_str() {
        let data = json!({"kind": t.kind, "feedback_id": t.feedback_id, "assignee_id": t.assignee_id});
        events::emit(&txn, EventType::TaskCompleted, t.id, Some(t.customer_id), data, at).await?;
    }
    txn.commit().await?;
    Ok(to_view(t))
}

/// Most tasks one reassignment names.
const MAX_REASSIGN: usize = 500;

/// Hands open tasks to another staff member, in one statement: the ones
/// named, or every open task of one assignee (someone leaving or away).
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn reassign(db: &impl Store, actor: &Actor, input: TaskReassign) -> AppResult<TaskReassigned> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let to = c.check("assignee_id", parse::staff_id(input.assignee_id));
    let from = c.opt("from_assignee_id", input.from_assignee_id, parse::staff_id);
    match (&input.task_ids, &from) {
        (Some(ids), None) if (1..=MAX_REASSIGN).contains(&ids.len()) => {}
        (Some(_), None) => c.fail("task_ids", format!("must list 1 to {MAX_REASSIGN} tasks")),
        (None, Some(_)) => {}
        _ => c.fail("task_ids", "give either task_ids or from_assignee_id"),
    }
    c.finish()?;
    let mut q = task::Entity::update_many()
        .col_expr(task::Column::AssigneeId, Expr::value(to))
        .col_expr(task::Column::UpdatedAt, Expr::value(now()))
        .filter(task::Column::Status.eq(TaskStatus::Open.as_str()));
    if let Some(ids) = input.task_ids {
        q = q.filter(task::Column::Id.is_in(ids));
    }
    if let Some(from) = from {
        q = q.filter(task::Column::AssigneeId.eq(from));
    }
    Ok(TaskReassigned {
        reassigned: q.exec(db).await?.rows_affected,
    })
}
