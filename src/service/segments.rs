//! Segments: dynamic (a rule compiled to one SQL condition) and static
//! (hand-picked). Refreshing materialises members and records who entered
//! and who left, all set-based inside one transaction.

use async_graphql::{Json, MaybeUndefined};
use chrono::{DateTime, Utc};
use entity::{customer, customer_rfm, segment, segment_event, segment_member};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel, Order, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use super::segment_fields::{Compiler, lookup};
use super::{begin, customers, new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::segments::{
    MemberChange, NewSegment, SegmentKind, SegmentPatch, SegmentPreview, SegmentRefresh, SegmentView,
};
use crate::domain::pagination::{Cursor, PageRequest, finish_page};
use crate::domain::segment_rule::{self, Rule};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult, SEGMENT_NAME};

/// Customers a preview shows.
pub const SAMPLE_SIZE: u64 = 20;
/// Most customers one member change may name.
pub const MAX_MEMBER_CHANGE: usize = 1000;

fn to_view(m: segment::Model) -> SegmentView {
    SegmentView {
        id: m.id,
        name: m.name,
        description: m.description,
        kind: SegmentKind::from_db(&m.kind),
        rule: m.rule.map(Json),
        member_count: m.member_count,
        refreshed_at: m.refreshed_at,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Parses a rule, naming failing paths under `rule`.
///
/// # Errors
/// `Validation` listing every problem.
pub fn parse_rule(value: &Value) -> AppResult<Rule> {
    segment_rule::parse(value, "rule", &lookup).map_err(AppError::Validation)
}

/// The live customers a rule matches, as `SELECT <columns> FROM customer LEFT JOIN customer_rfm ...`.
fn matching(db: &impl ConnectionTrait, rule: &Rule, at: DateTime<Utc>) -> SelectStatement {
    let compiler = Compiler {
        backend: db.get_database_backend(),
        now: at,
    };
    Query::select()
        .from(customer::Entity)
        .left_join(
            customer_rfm::Entity,
            Expr::col((customer_rfm::Entity, customer_rfm::Column::CustomerId))
                .equals((customer::Entity, customer::Column::Id)),
        )
        .cond_where(
            Condition::all()
                .add(Expr::col((customer::Entity, customer::Column::DeletedAt)).is_null())
                .add(compiler.condition(rule)),
        )
        .to_owned()
}

fn matching_ids(db: &impl ConnectionTrait, rule: &Rule, at: DateTime<Utc>) -> SelectStatement {
    matching(db, rule, at)
        .column((customer::Entity, customer::Column::Id))
        .to_owned()
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// Counts the customers a rule matches and shows the newest 20, without saving anything.
///
/// # Errors
/// `Forbidden` for partners and customers; `Validation` naming the bad path of the rule.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn preview(db: &DatabaseConnection, actor: &Actor, rule: &Value) -> AppResult<SegmentPreview> {
    policy::read_customers(actor)?;
    let rule = parse_rule(rule)?;
    let at = now();
    let backend = db.get_database_backend();
    let count_stmt = matching(db, &rule, at)
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .to_owned();
    let count = Count::find_by_statement(backend.build(&count_stmt))
        .one(db)
        .await?
        .map_or(0, |c| c.n);
    let sample_stmt = matching(db, &rule, at)
        .column((customer::Entity, Asterisk))
        .order_by((customer::Entity, customer::Column::CreatedAt), Order::Desc)
        .order_by((customer::Entity, customer::Column::Id), Order::Desc)
        .limit(SAMPLE_SIZE)
        .to_owned();
    let sample = customer::Model::find_by_statement(backend.build(&sample_stmt))
        .all(db)
        .await?;
    Ok(SegmentPreview {
        count,
        sample: sample.into_iter().map(|m| customers::to_view(m, actor)).collect(),
    })
}

/// Creates a segment (a dynamic one starts empty until refreshed).
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation`; `Conflict` on a taken name.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewSegment) -> AppResult<SegmentView> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let name = c.check("name", parse::name(input.name));
    let description = c.opt("description", input.description, |d| {
        parse::text(d, parse::MAX_DESCRIPTION)
    });
    let rule = match (input.kind, input.rule) {
        (SegmentKind::Dynamic, Some(Json(rule))) => {
            if let Err(AppError::Validation(errors)) = parse_rule(&rule) {
                for e in errors {
                    c.fail(&e.path, e.message);
                }
            }
            Some(rule)
        }
        (SegmentKind::Dynamic, None) => {
            c.fail("rule", "is required for a dynamic segment");
            None
        }
        (SegmentKind::Static, Some(_)) => {
            c.fail("rule", "a static segment has no rule");
            None
        }
        (SegmentKind::Static, None) => None,
    };
    c.finish()?;
    let at = now();
    let model = segment::ActiveModel {
        id: Set(new_id()),
        name: Set(name.unwrap_or_default()),
        description: Set(description),
        kind: Set(input.kind.as_str().into()),
        rule: Set(rule),
        member_count: Set(0),
        refreshed_at: Set(None),
        created_by: Set(actor.sub.clone()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(SEGMENT_NAME.map())?;
    Ok(to_view(model))
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<segment::Model> {
    segment::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("segment"))
}

/// Reads a segment.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<SegmentView> {
    policy::read_customers(actor)?;
    Ok(to_view(find(db, id).await?))
}

/// The list position of a segment.
pub fn cursor_of(v: &SegmentView) -> Cursor {
    Cursor {
        key: v.created_at.to_rfc3339(),
        id: v.id,
    }
}

/// Lists segments, newest first.
///
/// # Errors
/// `Forbidden`, `Validation` on bad paging.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    kind: Option<SegmentKind>,
    page: &PageRequest,
) -> AppResult<Page<SegmentView>> {
    policy::read_customers(actor)?;
    let mut q = segment::Entity::find();
    if let Some(kind) = kind {
        q = q.filter(segment::Column::Kind.eq(kind.as_str()));
    }
    if let Some(after) = &page.after {
        q = q.filter(super::paging::before_cursor(
            segment::Column::CreatedAt,
            segment::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(segment::Column::CreatedAt)
        .order_by_desc(segment::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let rows: Vec<SegmentView> = rows.into_iter().map(to_view).collect();
    let (items, next_cursor) = finish_page(rows, page.limit, cursor_of);
    Ok(Page { items, next_cursor })
}

/// Renames, describes or changes the rule of a segment.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation`, `Conflict` on a taken name or a
/// rule for a static segment.
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: Uuid, patch: SegmentPatch) -> AppResult<SegmentView> {
    policy::manage_customers(actor)?;
    let current = find(db, id).await?;
    let dynamic = SegmentKind::from_db(&current.kind) == SegmentKind::Dynamic;
    if !dynamic && matches!(patch.rule, MaybeUndefined::Value(_)) {
        // The segment's kind, not the body, is what refuses the rule.
        return Err(AppError::conflict_on(
            "rule",
            "a static segment has no rule; its members are set by hand",
        ));
    }
    let mut am = current.into_active_model();
    let mut c = Checker::default();
    match patch.name {
        MaybeUndefined::Value(n) => {
            if let Some(n) = c.check("name", parse::name(n)) {
                am.name = Set(n);
            }
        }
        MaybeUndefined::Null => c.fail("name", "must not be null"),
        MaybeUndefined::Undefined => {}
    }
    if let Some(d) = super::patch_field(&mut c, "description", patch.description, |d| {
        parse::text(d, parse::MAX_DESCRIPTION)
    }) {
        am.description = Set(d);
    }
    match patch.rule {
        MaybeUndefined::Value(Json(rule)) => {
            if let Err(AppError::Validation(errors)) = parse_rule(&rule) {
                for e in errors {
                    c.fail(&e.path, e.message);
                }
            }
            am.rule = Set(Some(rule));
        }
        MaybeUndefined::Null => c.fail("rule", "must not be null"),
        MaybeUndefined::Undefined => {}
    }
    c.finish()?;
    am.updated_at = Set(now());
    Ok(to_view(am.update(db).await.map_err(SEGMENT_NAME.map())?))
}

/// Deletes a segment with its members and history.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<()> {
    policy::manage_customers(actor)?;
    find(db, id).await?;
    let txn = begin(db).await?;
    segment_event::Entity::delete_many()
        .filter(segment_event::Column::SegmentId.eq(id))
        .exec(&txn)
        .await?;
    segment_member::Entity::delete_many()
        .filter(segment_member::Column::SegmentId.eq(id))
        .exec(&txn)
        .await?;
    segment::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Locks the segment row for this transaction (PostgreSQL), so two refreshes
/// or member changes of one segment run one after the other.
async fn lock(txn: &DatabaseTransaction, id: Uuid) -> AppResult<segment::Model> {
    let mut q = segment::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound("segment"))
}

/// The temporary table a refresh evaluates its rule into, once.
const MATCHES: &str = "segment_matches";

fn matches_col() -> Expr {
    Expr::col((Alias::new(MATCHES), customer::Column::Id))
}

/// Whether the matched customer is already a member.
fn is_member(segment_id: Uuid) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(segment_member::Entity)
        .and_where(Expr::col((segment_member::Entity, segment_member::Column::SegmentId)).eq(segment_id))
        .and_where(Expr::col((segment_member::Entity, segment_member::Column::CustomerId)).eq(matches_col()))
        .to_owned()
}

/// Evaluates a rule once into the temporary table [`MATCHES`] (one column,
/// `id`), dropped at commit on PostgreSQL and by [`drop_matches`] elsewhere.
async fn fill_matches(txn: &DatabaseTransaction, rule: &Rule, at: DateTime<Utc>) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let select = backend.build(&matching_ids(txn, rule, at));
    let create = match backend {
        DbBackend::Postgres => format!("CREATE TEMPORARY TABLE {MATCHES} ON COMMIT DROP AS "),
        _ => {
            txn.execute_unprepared(&format!("DROP TABLE IF EXISTS temp.{MATCHES}"))
                .await?;
            format!("CREATE TEMPORARY TABLE {MATCHES} AS ")
        }
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        create + &select.sql,
        select.values.map(|v| v.0).unwrap_or_default(),
    ))
    .await?;
    Ok(())
}

async fn drop_matches(txn: &DatabaseTransaction) -> AppResult<()> {
    if txn.get_database_backend() != DbBackend::Postgres {
        txn.execute_unprepared(&format!("DROP TABLE temp.{MATCHES}")).await?;
    }
    Ok(())
}

async fn finish_refresh(txn: &DatabaseTransaction, id: Uuid, at: DateTime<Utc>) -> AppResult<i64> {
    let count = segment_member::Entity::find()
        .filter(segment_member::Column::SegmentId.eq(id))
        .count(txn)
        .await?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    segment::Entity::update_many()
        .col_expr(segment::Column::MemberCount, Expr::val(count))
        .col_expr(segment::Column::RefreshedAt, Expr::val(Some(at)))
        .filter(segment::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(count)
}

use sea_orm::PaginatorTrait;

/// Re-evaluates a dynamic segment's rule: members who no longer match leave,
/// new matches enter, each change recorded as an event.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` for a static segment.
#[tracing::instrument(skip_all, fields(segment_id = %id, actor = %actor.sub))]
pub async fn refresh(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<SegmentRefresh> {
    policy::manage_customers(actor)?;
    refresh_segment(db, id, now()).await
}

/// The refresh itself, for the scheduler (no role check).
///
/// # Errors
/// `NotFound`; `Conflict` for a static segment; database failures.
pub async fn refresh_segment(db: &DatabaseConnection, id: Uuid, at: DateTime<Utc>) -> AppResult<SegmentRefresh> {
    let txn = begin(db).await?;
    let seg = lock(&txn, id).await?;
    let Some(rule) = seg.rule.filter(|_| seg.kind == SegmentKind::Dynamic.as_str()) else {
        return Err(AppError::Conflict {
            detail: "only dynamic segments are refreshed".into(),
            field: None,
        });
    };
    let rule = parse_rule(&rule)?;
    let event_cols = [
        segment_event::Column::SegmentId,
        segment_event::Column::CustomerId,
        segment_event::Column::Kind,
        segment_event::Column::At,
    ];
    fill_matches(&txn, &rule, at).await?;
    let entering = Query::select()
        .expr(Expr::val(id))
        .expr(matches_col())
        .from(Alias::new(MATCHES))
        .and_where(Expr::exists(is_member(id)).not())
        .to_owned();
    let mut entered_events = entering.clone();
    entered_events.expr(Expr::val("entered")).expr(Expr::val(at));
    let insert = Query::insert()
        .into_table(segment_event::Entity)
        .columns(event_cols)
        .select_from(entered_events)
        .map_err(|e| AppError::Internal(e.into()))?
        .to_owned();
    let entered = txn.execute(&insert).await?.rows_affected();

    let leaving = Condition::all().add(segment_member::Column::SegmentId.eq(id)).add(
        segment_member::Column::CustomerId
            .not_in_subquery(Query::select().expr(matches_col()).from(Alias::new(MATCHES)).to_owned()),
    );
    let exited_events = Query::select()
        .column(segment_member::Column::SegmentId)
        .column(segment_member::Column::CustomerId)
        .expr(Expr::val("exited"))
        .expr(Expr::val(at))
        .from(segment_member::Entity)
        .cond_where(leaving.clone())
        .to_owned();
    let insert = Query::insert()
        .into_table(segment_event::Entity)
        .columns(event_cols)
        .select_from(exited_events)
        .map_err(|e| AppError::Internal(e.into()))?
        .to_owned();
    let exited = txn.execute(&insert).await?.rows_affected();
    segment_member::Entity::delete_many().filter(leaving).exec(&txn).await?;

    let mut entering_members = entering;
    entering_members.expr(Expr::val(at));
    let insert = Query::insert()
        .into_table(segment_member::Entity)
        .columns([
            segment_member::Column::SegmentId,
            segment_member::Column::CustomerId,
            segment_member::Column::EnteredAt,
        ])
        .select_from(entering_members)
        .map_err(|e| AppError::Internal(e.into()))?
        .to_owned();
    txn.execute(&insert).await?;
    drop_matches(&txn).await?;
    let member_count = finish_refresh(&txn, id, at).await?;
    txn.commit().await?;
    Ok(SegmentRefresh {
        segment_id: id,
        member_count,
        entered: i64::try_from(entered).unwrap_or(i64::MAX),
        exited: i64::try_from(exited).unwrap_or(i64::MAX),
        refreshed_at: at,
    })
}

/// Refreshes every dynamic segment (the scheduled job). A segment that fails
/// is logged and skipped; the others still refresh.
///
/// # Errors
/// Failure to list the segments.
pub async fn refresh_all(db: &DatabaseConnection) -> AppResult<usize> {
    let ids: Vec<Uuid> = segment::Entity::find()
        .select_only()
        .column(segment::Column::Id)
        .filter(segment::Column::Kind.eq(SegmentKind::Dynamic.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut refreshed = 0;
    for id in ids {
        match refresh_segment(db, id, now()).await {
            Ok(_) => refreshed += 1,
            Err(e) => tracing::error!(segment_id = %id, error = %e, "segment refresh failed"),
        }
    }
    Ok(refreshed)
}

/// Resolves the customers a member change names; unknown ones are field errors.
async fn resolve(txn: &DatabaseTransaction, change: &MemberChange) -> AppResult<Vec<Uuid>> {
    if change.customer_ids.len() + change.external_ids.len() > MAX_MEMBER_CHANGE {
        return Err(AppError::field(
            "customer_ids",
            format!("at most {MAX_MEMBER_CHANGE} customers per request"),
        ));
    }
    if change.customer_ids.is_empty() && change.external_ids.is_empty() {
        return Err(AppError::field(
            "customer_ids",
            "name at least one customer (customer_ids or external_ids)",
        ));
    }
    let mut c = Checker::default();
    let found: Vec<(Uuid, Option<String>)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ExternalId)
        .filter(customer::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(customer::Column::Id.is_in(change.customer_ids.iter().copied()))
                .add(customer::Column::ExternalId.is_in(change.external_ids.iter().cloned())),
        )
        .into_tuple()
        .all(txn)
        .await?;
    let mut ids = Vec::new();
    for (i, id) in change.customer_ids.iter().enumerate() {
        if found.iter().any(|(f, _)| f == id) {
            ids.push(*id);
        } else {
            c.fail(&format!("customer_ids[{i}]"), "no such customer");
        }
    }
    for (i, ext) in change.external_ids.iter().enumerate() {
        match found.iter().find(|(_, e)| e.as_deref() == Some(ext.as_str())) {
            Some((id, _)) => ids.push(*id),
            None => c.fail(&format!("external_ids[{i}]"), "no such customer"),
        }
    }
    c.finish()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Whether a member change adds or removes customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Add,
    Remove,
}

/// Adds or removes customers of a static segment, recording each change.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` for a dynamic
/// segment; `Validation` naming unknown customers.
#[tracing::instrument(skip_all, fields(segment_id = %id, actor = %actor.sub, ?membership))]
pub async fn change_members(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    change: MemberChange,
    membership: Membership,
) -> AppResult<SegmentView> {
    policy::manage_customers(actor)?;
    let txn = begin(db).await?;
    let seg = lock(&txn, id).await?;
    if seg.kind != SegmentKind::Static.as_str() {
        return Err(AppError::Conflict {
            detail: "members of a dynamic segment follow its rule".into(),
            field: None,
        });
    }
    let ids = resolve(&txn, &change).await?;
    let present: Vec<Uuid> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::CustomerId)
        .filter(segment_member::Column::SegmentId.eq(id))
        .filter(segment_member::Column::CustomerId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(&txn)
        .await?;
    let at = now();
    let (changed, kind): (Vec<Uuid>, &str) = match membership {
        Membership::Add => (ids.into_iter().filter(|c| !present.contains(c)).collect(), "entered"),
        Membership::Remove => (present, "exited"),
    };
    if !changed.is_empty() {
        if membership == Membership::Add {
            segment_member::Entity::insert_many(changed.iter().map(|c| segment_member::ActiveModel {
                segment_id: Set(id),
                customer_id: Set(*c),
                entered_at: Set(at),
            }))
            .exec(&txn)
            .await?;
        } else {
            segment_member::Entity::delete_many()
                .filter(segment_member::Column::SegmentId.eq(id))
                .filter(segment_member::Column::CustomerId.is_in(changed.iter().copied()))
                .exec(&txn)
                .await?;
        }
        segment_event::Entity::insert_many(changed.iter().map(|c| segment_event::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            segment_id: Set(id),
            customer_id: Set(*c),
            kind: Set(kind.into()),
            at: Set(at),
        }))
        .exec(&txn)
        .await?;
    }
    finish_refresh(&txn, id, at).await?;
    let seg = find(&txn, id).await?;
    txn.commit().await?;
    Ok(to_view(seg))
}

/// A segment's members, in the customers list's order and paging.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn members(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<crate::contract::customers::CustomerView>> {
    policy::read_customers(actor)?;
    find(db, id).await?;
    let filter = crate::contract::customers::CustomerFilter {
        segment_id: Some(id),
        ..Default::default()
    };
    super::customer_list::list(db, actor, &filter, None, page).await
}
