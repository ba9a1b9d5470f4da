//! The SQL side of keyset paging (`domain::pagination` holds the cursor), and
//! the one place a page and its cursors are made.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::contract::Page;
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::{AppError, AppResult};

/// Makes a page of an over-fetched list (limit + 1 rows): each row's cursor
/// from `key`, and the next page's cursor when there is more.
pub fn page<T>(mut rows: Vec<T>, limit: u64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let has_more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let cursors: Vec<String> = rows.iter().map(|r| key(r).encode()).collect();
    Page {
        next_cursor: if has_more { cursors.last().cloned() } else { None },
        items: rows,
        cursors,
    }
}

/// Keyset condition for rows ordered by (time desc, id desc): the rows after
/// the cursor's position.
///
/// # Errors
/// `Validation` on `cursor` when its key is not a time.
pub fn before_cursor<C: ColumnTrait>(time: C, id: C, after: &Cursor) -> AppResult<Condition> {
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(&after.key)
        .map_err(|_| AppError::field("cursor", "is not a valid cursor"))?
        .with_timezone(&Utc);
    Ok(Condition::any()
        .add(time.lt(at))
        .add(Condition::all().add(time.eq(at)).add(id.lt(after.id))))
}

/// A page of `q`'s rows newest first by (`time`, `id`), after the request's
/// cursor: the over-fetch, the order and the cursors in one place.
///
/// # Errors
/// `Validation` on a bad cursor; database failures.
pub async fn newest_first<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    q: Select<E>,
    (time, id): (E::Column, E::Column),
    page: &PageRequest,
    key: impl Fn(&E::Model) -> (DateTime<Utc>, uuid::Uuid),
) -> AppResult<Page<E::Model>> {
    let mut q = q;
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(time, id, after)?);
    }
    let rows = q
        .order_by_desc(time)
        .order_by_desc(id)
        .limit(page.limit + 1)
        .all(conn)
        .await?;
    Ok(self::page(rows, page.limit, |r| {
        let (at, id) = key(r);
        Cursor {
            key: at.to_rfc3339(),
            id,
        }
    }))
}
