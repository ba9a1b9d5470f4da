//! When open needs are unmet: the per-quadrant limits (settings), the one
//! SQL condition the report and the job share, and the job that marks each
//! unmet episode once (`need.unmet`) and clears it when the need is met,
//! closed or given more time.

use chrono::{DateTime, Duration, Utc};
use entity::{need, need_event};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value};
use serde_json::json;
use uuid::Uuid;

use super::{HistoryLine, history_row};
use crate::auth::{Actor, policy};
use crate::contract::events::EventType;
use crate::contract::needs::{NeedSettings, NeedsUnmetResult, Quadrant};
use crate::domain::Checker;
use crate::domain::needs::{limit_days, open_sql_list};
use crate::error::AppResult;
use crate::service::settings::{load, store};
use crate::service::{Store, begin, events};

const KEY: &str = "needs";

/// Who marks needs unmet.
const ACTOR: &str = "system:needs";

/// Needs the job marks per transaction (each adds a history line and an
/// event, inserted together: within SQLite's bound-value limit).
const BATCH: usize = 2000;

/// The needs settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub async fn settings(conn: &impl ConnectionTrait) -> AppResult<NeedSettings> {
    load(conn, KEY).await
}

/// Reads the needs settings.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_settings(db: &impl Store, actor: &Actor) -> AppResult<NeedSettings> {
    policy::read_customers(actor)?;
    settings(db).await
}

/// Replaces the needs settings; reports and the next job run use them.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_settings(db: &impl Store, actor: &Actor, input: NeedSettings) -> AppResult<NeedSettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    for (name, days) in [
        ("do_now_days", input.do_now_days),
        ("plan_days", input.plan_days),
        ("delegate_days", input.delegate_days),
        ("later_days", input.later_days),
    ] {
        if days.is_some_and(|d| !(1..=3650).contains(&d)) {
            c.fail(name, "must be between 1 and 3650 days, or null for no limit");
        }
    }
    if input.suggestion_bonus_points > 1_000_000 {
        c.fail("suggestion_bonus_points", "must be between 0 and 1000000");
    }
    c.finish()?;
    store(db, KEY, &input).await?;
    Ok(input)
}

/// The SQL condition of an unmet need (columns of `need`, unqualified or
/// under `alias`), with its values numbered from `$first`: open, and past
/// its due date (the day after it, UTC) or created at least its quadrant's
/// limit ago.
pub(super) fn unmet_sql(s: &NeedSettings, at: DateTime<Utc>, alias: &str, first: usize) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![at.date_naive().into()];
    let mut alternatives = vec![format!("{alias}due_on < ${first}")];
    for q in Quadrant::ALL {
        if let Some(days) = limit_days(s, *q) {
            values.push((at - Duration::days(i64::from(days))).into());
            alternatives.push(format!(
                "({alias}quadrant = '{}' AND {alias}created_at <= ${})",
                q.as_str(),
                first + values.len() - 1
            ));
        }
    }
    (
        format!(
            "{alias}status IN ({}) AND ({})",
            open_sql_list(),
            alternatives.join(" OR ")
        ),
        values,
    )
}

/// `sql` with `$n` placeholders, for the connection's database.
pub(super) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => {
            // SQLite numbers its parameters `?NNN`.
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Marks every open need that became unmet (once per episode: a need
/// already marked is left alone, and the mark is a conditional update, so
/// a second run or instance marks nothing again) and clears the mark of
/// needs no longer unmet.
///
/// # Errors
/// Database failures.
pub async fn run_unmet(db: &impl Store, at: DateTime<Utc>) -> AppResult<NeedsUnmetResult> {
    let s = settings(db).await?;
    let backend = db.get_database_backend();
    let (cond, values) = unmet_sql(&s, at, "", 1);
    let mut result = NeedsUnmetResult::default();
    // Clear first: a need met since is a new episode when it is unmet again.
    let cleared = db
        .execute_raw(statement(
            backend,
            &format!("UPDATE need SET unmet_since = NULL WHERE unmet_since IS NOT NULL AND NOT ({cond})"),
            values.clone(),
        ))
        .await?;
    result.cleared = cleared.rows_affected();
    loop {
        let rows = db
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT id FROM need WHERE unmet_since IS NULL AND {cond} ORDER BY created_at, id LIMIT {BATCH}"
                ),
                values.clone(),
            ))
            .await?;
        let ids: Vec<Uuid> = rows
            .iter()
            .map(|r| r.try_get_by_index::<Uuid>(0))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            break;
        }
        // Marked with a conditional update: a need another run marked
        // meanwhile is not returned, so it gets no second line or event.
        let txn = begin(db).await?;
        let marked = need::Entity::update_many()
            .col_expr(need::Column::UnmetSince, Expr::value(at))
            .filter(need::Column::Id.is_in(ids.iter().copied()))
            .filter(need::Column::UnmetSince.is_null())
            .exec_with_returning(&txn)
            .await?;
        let mut lines = Vec::with_capacity(marked.len());
        let mut unmet = Vec::with_capacity(marked.len());
        for n in &marked {
            let past_due = n.due_on.is_some_and(|d| d < at.date_naive());
            let why = if past_due { "past_due" } else { "open_too_long" };
            let line = HistoryLine {
                event: "unmet",
                from: None,
                to: Some(why.into()),
                note: None,
            };
            lines.push(history_row(n, ACTOR, line, at));
            let data = json!({"quadrant": n.quadrant, "status": n.status, "due_on": n.due_on, "reason": why});
            unmet.push((EventType::NeedUnmet, n.id, Some(n.customer_id), data, at));
        }
        if !lines.is_empty() {
            need_event::Entity::insert_many(lines)
                .exec_without_returning(&txn)
                .await?;
        }
        events::emit_many(&txn, unmet).await?;
        result.became_unmet += marked.len() as u64;
        txn.commit().await?;
        if ids.len() < BATCH {
            break;
        }
    }
    Ok(result)
}
