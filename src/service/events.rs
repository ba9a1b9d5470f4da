//! The event log: every change worth telling an integration is written here,
//! in the transaction of the change itself, so a rolled-back change tells
//! nothing and a committed one is never lost. The pull feed reads it in
//! commit order; webhook delivery fans it out.

use crate::service::Store;
use async_graphql::Json;
use chrono::{DateTime, Duration, Utc};
use entity::event;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::new_id;
use crate::auth::{Actor, policy};
use crate::contract::events::{EventFeed, EventQuery, EventType, EventView, FeedItem};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::{AppError, AppResult};

/// Leaves an event in the caller's transaction. `data` holds what changed
/// beyond the ids: no personal data (see `contract::events`).
///
/// # Errors
/// Database failures.
pub async fn emit(
    conn: &impl ConnectionTrait,
    kind: EventType,
    subject_id: Uuid,
    customer_id: Option<Uuid>,
    data: Value,
    at: DateTime<Utc>,
) -> AppResult<()> {
    emit_many(conn, [(kind, subject_id, customer_id, data, at)]).await
}

/// Leaves one event per item (type, subject, customer, data, time) in the
/// caller's transaction, in one statement.
///
/// # Errors
/// Database failures.
pub async fn emit_many(
    conn: &impl ConnectionTrait,
    items: impl IntoIterator<Item = (EventType, Uuid, Option<Uuid>, Value, DateTime<Utc>)>,
) -> AppResult<()> {
    let rows: Vec<event::ActiveModel> = items
        .into_iter()
        .map(|(kind, subject_id, customer_id, data, at)| event::ActiveModel {
            id: Set(new_id()),
            kind: Set(kind.as_str().into()),
            occurred_at: Set(at),
            subject_id: Set(subject_id),
            customer_id: Set(customer_id),
            data: Set(data),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        event::Entity::insert_many(rows).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// One event per row of `select`, in one statement, in the caller's
/// transaction: for changes made set-based (a recompute, a refresh).
/// `select` yields the columns `occurred_at`, `subject_id`, `customer_id` and
/// `data` (built with [`json_object`]), with `$n` placeholders for `values`.
///
/// # Errors
/// Database failures.
pub async fn emit_all(
    conn: &impl ConnectionTrait,
    kind: EventType,
    select: &str,
    values: Vec<sea_orm::Value>,
) -> AppResult<u64> {
    let backend = conn.get_database_backend();
    let mut sql = format!(
        "INSERT INTO event (id, type, occurred_at, subject_id, customer_id, data)
         SELECT {id}, '{kind}', s.occurred_at, s.subject_id, s.customer_id, s.data FROM ({select}) s",
        id = uuid_v7_sql(backend),
        kind = kind.as_str(),
    );
    if backend != DbBackend::Postgres {
        sql = sql.replace('$', "?");
    }
    let stmt = sea_orm::Statement::from_sql_and_values(backend, sql, values);
    Ok(conn.execute_raw(stmt).await?.rows_affected())
}

/// A JSON object from `(key, SQL expression)` pairs, in either dialect; the
/// expressions must be text or numbers.
pub fn json_object(backend: DbBackend, fields: &[(&str, &str)]) -> String {
    let args = fields
        .iter()
        .map(|(k, v)| format!("'{k}', {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    match backend {
        DbBackend::Postgres => format!("jsonb_build_object({args})"),
        _ => format!("json_object({args})"),
    }
}

/// A new UUID v7 per row, made by the database: 48 bits of Unix
/// milliseconds, the version, and random bits with the RFC 9562 variant.
fn uuid_v7_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "CAST(lpad(to_hex(CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS bigint)), 12, '0')
              || '7' || lpad(to_hex(CAST(floor(random() * 4096) AS int)), 3, '0')
              || to_hex(8 + CAST(floor(random() * 4) AS int)) || lpad(to_hex(CAST(floor(random() * 4096) AS int)), 3, '0')
              || lpad(to_hex(CAST(floor(random() * 281474976710656) AS bigint)), 12, '0') AS uuid)"
        }
        _ => {
            "unhex(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
              || '7' || substr(hex(randomblob(2)), 2, 3)
              || substr('89AB', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2, 3)
              || hex(randomblob(6)))"
        }
    }
}

/// An event as the feed and webhooks show it: the subject's and the
/// customer's ids put into `data`.
pub fn to_view(m: &event::Model) -> AppResult<EventView> {
    let kind = EventType::parse(&m.kind)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown stored event type {}", m.kind)))?;
    let mut data = match &m.data {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    data.insert(kind.subject_key().into(), json!(m.subject_id));
    if let Some(customer) = m.customer_id {
        data.insert("customer_id".into(), json!(customer));
    }
    Ok(EventView {
        id: m.id,
        kind,
        timestamp: m.occurred_at,
        data: Json(Value::Object(data)),
    })
}

/// A feed position: the writing transaction and the sequence number.
pub(crate) fn position(m: &event::Model) -> Cursor {
    Cursor {
        key: format!("{}:{}", m.tx, m.seq),
        id: m.id,
    }
}

fn parse_position(cursor: &Cursor) -> AppResult<(i64, i64)> {
    cursor
        .key
        .split_once(':')
        .and_then(|(tx, seq)| Some((tx.parse().ok()?, seq.parse().ok()?)))
        .ok_or_else(|| AppError::field("after", "is not a valid cursor"))
}

/// The `types` filter, checked.
fn parse_types(raw: Option<&str>) -> AppResult<Vec<EventType>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|name| {
            EventType::parse(name.trim())
                .ok_or_else(|| AppError::field("types", format!("{:?} is not an event type", name.trim())))
        })
        .collect()
}

/// Reads the feed after a position, oldest first, `page.limit` at most.
///
/// On PostgreSQL only events of transactions older than every one still
/// running are read, so an event that commits later can never land behind
/// a position a reader has passed; a long transaction holds the feed back
/// until it ends.
///
/// # Errors
/// `Forbidden` unless admin or partner; `Validation` on `after`, `types` or `limit`.
pub async fn feed(db: &impl Store, actor: &Actor, query: &EventQuery) -> AppResult<EventFeed> {
    policy::read_events(actor)?;
    let request = PageRequest::parse(query.limit, None)?;
    let after = query
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|raw| Cursor::decode(raw).map_err(|_| AppError::field("after", "is not a valid cursor")))
        .transpose()?;
    let types = parse_types(query.types.as_deref())?;
    let rows = read_after(db, after.as_ref(), &types, request.limit + 1).await?;
    let has_more = rows.len() as u64 > request.limit;
    let mut items = Vec::with_capacity(rows.len());
    for m in rows.iter().take(usize::try_from(request.limit).unwrap_or(usize::MAX)) {
        items.push(FeedItem {
            event: to_view(m)?,
            cursor: position(m).encode(),
        });
    }
    let next_cursor = items
        .last()
        .map(|i| i.cursor.clone())
        .or_else(|| query.after.clone().filter(|a| !a.is_empty()));
    Ok(EventFeed {
        items,
        next_cursor,
        has_more,
    })
}

/// The feed as a page for a GraphQL connection.
///
/// # Errors
/// As [`feed`].
pub async fn feed_page(
    db: &impl Store,
    actor: &Actor,
    types: &[EventType],
    request: &PageRequest,
) -> AppResult<crate::contract::Page<EventView>> {
    policy::read_events(actor)?;
    let rows = read_after(db, request.after.as_ref(), types, request.limit + 1).await?;
    let page = super::paging::page(rows, request.limit, position);
    let mut items = Vec::with_capacity(page.items.len());
    for m in &page.items {
        items.push(to_view(m)?);
    }
    Ok(crate::contract::Page {
        items,
        next_cursor: page.next_cursor,
        cursors: page.cursors,
    })
}

/// Events after `after` in feed order, of `types` (all when empty).
///
/// # Errors
/// `Validation` on a cursor that is not a feed position; database failures.
pub async fn read_after(
    conn: &impl ConnectionTrait,
    after: Option<&Cursor>,
    types: &[EventType],
    limit: u64,
) -> AppResult<Vec<event::Model>> {
    let mut q = event::Entity::find();
    if let Some(after) = after {
        let (tx, seq) = parse_position(after)?;
        // A row comparison, which both databases answer by seeking the
        // (tx, seq) index; the equivalent OR of two conditions made
        // PostgreSQL read the index from its start on every call.
        q = q.filter(
            Expr::tuple([Expr::col(event::Column::Tx), Expr::col(event::Column::Seq)])
                .gt(Expr::tuple([Expr::value(tx), Expr::value(seq)])),
        );
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        q = q.filter(Expr::cust(
            "tx < CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)",
        ));
    }
    if !types.is_empty() {
        q = q.filter(event::Column::Kind.is_in(types.iter().map(|t| t.as_str())));
    }
    Ok(q.order_by_asc(event::Column::Tx)
        .order_by_asc(event::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Deletes events older than `keep_days`; returns how many.
///
/// # Errors
/// Database failures.
pub async fn purge(db: &impl Store, keep_days: u32, now: DateTime<Utc>) -> AppResult<u64> {
    let before = now - Duration::days(i64::from(keep_days));
    Ok(event::Entity::delete_many()
        .filter(event::Column::OccurredAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The names of the fields that differ between two JSON objects (a record
/// before and after a change), sorted.
pub fn changed_fields(before: &Value, after: &Value, ignore: &[&str]) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = a
        .iter()
        .filter(|(k, v)| !ignore.contains(&k.as_str()) && b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_name_what_differs() {
        let before = json!({"name": "a", "email": "x", "updated_at": 1});
        let after = json!({"name": "b", "email": "x", "updated_at": 2});
        assert_eq!(changed_fields(&before, &after, &["updated_at"]), vec!["name"]);
    }

    #[test]
    fn unknown_types_are_named_in_the_error() {
        assert!(parse_types(Some("customer.created, order.completed")).is_ok_and(|t| t.len() == 2));
        assert!(matches!(
            parse_types(Some("customer.nope")),
            Err(AppError::Validation(_))
        ));
        assert!(parse_types(Some("")).is_ok_and(|t| t.is_empty()));
    }
}
