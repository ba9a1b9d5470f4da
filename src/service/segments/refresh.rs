//! Refreshing dynamic segments: who entered and who left, recorded in the
//! refresh's transaction.

use super::*;
use crate::contract::events::EventType;
use crate::service::events;

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

/// Ends a change of membership: the member count and refresh time stored,
/// and an event for each customer who entered or left at `at`.
pub(super) async fn finish_refresh(txn: &DatabaseTransaction, id: Uuid, at: DateTime<Utc>) -> AppResult<i64> {
    let backend = txn.get_database_backend();
    for (kind, event) in [
        ("entered", EventType::SegmentEntered),
        ("exited", EventType::SegmentExited),
    ] {
        let data = events::json_object(backend, &[]);
        let select = format!(
            "SELECT at AS occurred_at, segment_id AS subject_id, customer_id, {data} AS data
             FROM segment_event WHERE segment_id = $1 AND at = $2 AND kind = '{kind}'"
        );
        events::emit_all(txn, event, &select, vec![id.into(), at.into()]).await?;
    }
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
pub async fn refresh(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<SegmentRefresh> {
    policy::manage_customers(actor)?;
    refresh_segment(db, id, now()).await
}

/// The refresh itself, for the scheduler (no role check).
///
/// # Errors
/// `NotFound`; `Conflict` for a static segment; database failures.
pub async fn refresh_segment(db: &impl Store, id: Uuid, at: DateTime<Utc>) -> AppResult<SegmentRefresh> {
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
pub async fn refresh_all(db: &impl Store) -> AppResult<usize> {
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
