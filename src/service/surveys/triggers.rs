//! Triggered invitations, made by the `survey_triggers` job: after each
//! completed order (once the survey's delay has passed) and every few months
//! to a segment's members. The fatigue rules apply; each invitation has a
//! source key unique per survey, so a trigger run twice invites once.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Months, Utc};
use entity::{customer, order, segment_member, survey, survey_invitation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::invitations::{Draft, held_back, write};
use super::{fatigue_windows, settings};
use crate::contract::orders::OrderStatus;
use crate::contract::surveys::{InvitationSource, SurveyChannel, SurveyStatus, TriggerKind};
use crate::error::AppResult;
use crate::service::begin;
use crate::service::feedback::SYSTEM;

/// Customers looked at per survey and run.
const PER_RUN: u64 = 5_000;

/// What a run of the triggers did.
#[derive(Debug, Default)]
pub struct TriggerRun {
    pub after_order: usize,
    pub periodic: usize,
    pub held_back: usize,
}

/// Runs every active survey's trigger once.
///
/// # Errors
/// Database failures.
pub async fn run_triggers(db: &DatabaseConnection, at: DateTime<Utc>) -> AppResult<TriggerRun> {
    let surveys = survey::Entity::find()
        .filter(survey::Column::Status.eq(SurveyStatus::Active.as_str()))
        .filter(survey::Column::TriggerKind.is_not_null())
        .all(db)
        .await?;
    let rules = settings(db).await?;
    let mut run = TriggerRun::default();
    for s in surveys {
        let windows = fatigue_windows(&s, &rules);
        match s.trigger_kind.as_deref().map(TriggerKind::from_db) {
            Some(TriggerKind::AfterOrder) => after_orders(db, &s, windows, at, &mut run).await?,
            Some(TriggerKind::Periodic) => periodic(db, &s, windows, at, &mut run).await?,
            None => {}
        }
    }
    Ok(run)
}

fn live_customers() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .and_where(Expr::col(customer::Column::DeletedAt).is_null())
        .to_owned()
}

/// Orders recorded since the survey's cursor (or its activation) and at
/// least its delay ago: one invitation per customer per run.
async fn after_orders(
    db: &DatabaseConnection,
    s: &survey::Model,
    windows: Option<(i64, i64)>,
    at: DateTime<Utc>,
    run: &mut TriggerRun,
) -> AppResult<()> {
    let delay = Duration::minutes(i64::from(s.trigger_delay_minutes.unwrap_or(0)));
    let Some(since) = s.trigger_cursor.or(s.activated_at) else {
        return Ok(());
    };
    let orders: Vec<(Uuid, Uuid, DateTime<Utc>)> = order::Entity::find()
        .select_only()
        .columns([order::Column::Id, order::Column::CustomerId, order::Column::CreatedAt])
        .filter(order::Column::Status.eq(OrderStatus::Completed.as_str()))
        .filter(order::Column::CreatedAt.gt(since))
        .filter(order::Column::CreatedAt.lte(at - delay))
        .filter(order::Column::CustomerId.in_subquery(live_customers()))
        .order_by_asc(order::Column::CreatedAt)
        .limit(PER_RUN)
        .into_tuple()
        .all(db)
        .await?;
    let Some(cursor) = orders.last().map(|(_, _, t)| *t) else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    let firsts: Vec<(Uuid, Uuid)> = orders
        .iter()
        .filter(|(_, c, _)| seen.insert(*c))
        .map(|(o, c, _)| (*o, *c))
        .collect();
    let txn = begin(db).await?;
    let due = firsts.into_iter().map(|(o, c)| (c, format!("order:{o}"))).collect();
    let (written, held) = invite_due(&txn, s, windows, due, InvitationSource::Order, at).await?;
    run.after_order += written;
    run.held_back += held;
    survey::Entity::update_many()
        .col_expr(survey::Column::TriggerCursor, Expr::value(Some(cursor)))
        .filter(survey::Column::Id.eq(s.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The segment's members not invited to this survey in the last
/// `every_months` months.
async fn periodic(
    db: &DatabaseConnection,
    s: &survey::Model,
    windows: Option<(i64, i64)>,
    at: DateTime<Utc>,
    run: &mut TriggerRun,
) -> AppResult<()> {
    let (Some(segment), Some(every)) = (s.trigger_segment_id, s.trigger_every_months) else {
        return Ok(());
    };
    let since = at
        .checked_sub_months(Months::new(u32::try_from(every).unwrap_or(1)))
        .unwrap_or(at);
    let recent = Query::select()
        .column(survey_invitation::Column::CustomerId)
        .from(survey_invitation::Entity)
        .and_where(Expr::col(survey_invitation::Column::SurveyId).eq(s.id))
        .and_where(Expr::col(survey_invitation::Column::SentAt).gt(since))
        .to_owned();
    let due: Vec<Uuid> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::CustomerId)
        .filter(segment_member::Column::SegmentId.eq(segment))
        .filter(segment_member::Column::CustomerId.in_subquery(live_customers()))
        .filter(segment_member::Column::CustomerId.not_in_subquery(recent))
        .order_by_asc(segment_member::Column::CustomerId)
        .limit(PER_RUN)
        .into_tuple()
        .all(db)
        .await?;
    if due.is_empty() {
        return Ok(());
    }
    let txn = begin(db).await?;
    let period = at.format("%Y-%m");
    let due = due.into_iter().map(|c| (c, format!("periodic:{c}:{period}"))).collect();
    let (written, held) = invite_due(&txn, s, windows, due, InvitationSource::Periodic, at).await?;
    run.periodic += written;
    run.held_back += held;
    txn.commit().await?;
    Ok(())
}

/// Invites the customers due (each with its source key) that the fatigue
/// rules let through; returns how many were invited and held back.
async fn invite_due(
    txn: &sea_orm::DatabaseTransaction,
    s: &survey::Model,
    windows: Option<(i64, i64)>,
    due: Vec<(Uuid, String)>,
    source: InvitationSource,
    at: DateTime<Utc>,
) -> AppResult<(usize, usize)> {
    let customers: Vec<Uuid> = due.iter().map(|(c, _)| *c).collect();
    let held = held_back(txn, s, windows, &customers, at).await?;
    let drafts: Vec<Draft> = due
        .into_iter()
        .filter(|(c, _)| !held.contains_key(c))
        .map(|(c, key)| Draft {
            customer_id: c,
            channel: SurveyChannel::Email,
            source,
            source_key: Some(key),
            feedback_id: None,
            exempt: false,
        })
        .collect();
    Ok((write(txn, s, drafts, SYSTEM, at).await?.len(), held.len()))
}
