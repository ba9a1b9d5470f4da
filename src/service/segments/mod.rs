//! Segments: dynamic (a rule compiled to one SQL condition) and static
//! (hand-picked). Refreshing materialises members and records who entered
//! and who left, all set-based inside one transaction.

use crate::contract::Patch;
use crate::service::Store;
use async_graphql::Json;
use chrono::{DateTime, Utc};
use entity::{customer, customer_rfm, segment, segment_event, segment_member};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, FromQueryResult, IntoActiveModel, Order, QueryFilter, QueryOrder, QuerySelect, Statement,
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
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::segment_rule::{self, Rule};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult, SEGMENT_NAME};

mod members;
mod refresh;

pub use members::{Membership, change_members, members};
pub use refresh::{refresh, refresh_all, refresh_segment};

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
pub async fn preview(db: &impl Store, actor: &Actor, rule: &Value) -> AppResult<SegmentPreview> {
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
pub async fn create(db: &impl Store, actor: &Actor, input: NewSegment) -> AppResult<SegmentView> {
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
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<SegmentView> {
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
    db: &impl Store,
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
    Ok(crate::service::paging::page(rows, page.limit, cursor_of))
}

/// Renames, describes or changes the rule of a segment.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation`, `Conflict` on a taken name or a
/// rule for a static segment.
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: SegmentPatch) -> AppResult<SegmentView> {
    policy::manage_customers(actor)?;
    let current = find(db, id).await?;
    let dynamic = SegmentKind::from_db(&current.kind) == SegmentKind::Dynamic;
    if !dynamic && matches!(patch.rule, Patch::Set(_)) {
        // The segment's kind, not the body, is what refuses the rule.
        return Err(AppError::conflict_on(
            "rule",
            "a static segment has no rule; its members are set by hand",
        ));
    }
    let mut am = current.into_active_model();
    let mut c = Checker::default();
    match patch.name {
        Patch::Set(n) => {
            if let Some(n) = c.check("name", parse::name(n)) {
                am.name = Set(n);
            }
        }
        Patch::Clear => c.fail("name", "must not be null"),
        Patch::Keep => {}
    }
    if let Some(d) = super::patch_field(&mut c, "description", patch.description, |d| {
        parse::text(d, parse::MAX_DESCRIPTION)
    }) {
        am.description = Set(d);
    }
    match patch.rule {
        Patch::Set(Json(rule)) => {
            if let Err(AppError::Validation(errors)) = parse_rule(&rule) {
                for e in errors {
                    c.fail(&e.path, e.message);
                }
            }
            am.rule = Set(Some(rule));
        }
        Patch::Clear => c.fail("rule", "must not be null"),
        Patch::Keep => {}
    }
    c.finish()?;
    am.updated_at = Set(now());
    Ok(to_view(am.update(db).await.map_err(SEGMENT_NAME.map())?))
}

/// Deletes a segment with its members and history.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn delete(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<()> {
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
