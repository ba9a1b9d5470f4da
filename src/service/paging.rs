//! The SQL side of keyset paging (`domain::pagination` holds the cursor).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::pagination::Cursor;
use crate::error::{AppError, AppResult};

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
