//! Upsell tasks as the recompute meets them: customers a long, satisfied
//! relationship or an opportunity indicator makes ready
//! (`domain::health::indicators::upsell` decides) get one `upsell` task for
//! the owner, once per `every_months`, at most `max_tasks_per_owner` per
//! owner and recompute. A half-year key on the task keeps instances that
//! recompute together from creating it twice.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use entity::task;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::warning::owners;
use crate::contract::health::HealthUpsell;
use crate::contract::tasks::TaskKind;
use crate::domain::health::indicators::{UpsellRule, upsell};
use crate::domain::health::{Explained, Facts};
use crate::error::AppResult;
use crate::service::tasks::{OwnerCap, TaskDraft, insert_once};

/// Who creates the tasks.
const ACTOR: &str = "system:health";

/// What one recompute's upsell did, across its batches.
pub(super) struct Tally {
    pub created: i64,
    per_owner: OwnerCap,
}

impl Tally {
    pub(super) fn new(cap: u32) -> Self {
        Self {
            created: 0,
            per_owner: OwnerCap::new(cap),
        }
    }
}

/// Creates the upsell tasks a batch of scored customers is ready for, in
/// the caller's transaction.
///
/// # Errors
/// Database failures.
pub(super) async fn raise(
    conn: &impl ConnectionTrait,
    batch: &[(Uuid, Facts, Explained)],
    settings: &HealthUpsell,
    at: DateTime<Utc>,
    tally: &mut Tally,
) -> AppResult<()> {
    if !settings.enabled {
        return Ok(());
    }
    let rule = UpsellRule {
        min_relationship_days: settings.min_relationship_days,
        min_satisfaction: settings.min_satisfaction,
    };
    let ready: Vec<(Uuid, serde_json::Value)> = batch
        .iter()
        .filter_map(|(id, f, _)| upsell(f, at, &rule).map(|e| (*id, e)))
        .collect();
    if ready.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ready.iter().map(|r| r.0).collect();
    let since = at - Duration::days(30 * i64::from(settings.every_months));
    let recent: HashSet<Uuid> = task::Entity::find()
        .select_only()
        .column(task::Column::CustomerId)
        .filter(task::Column::CustomerId.is_in(ids.clone()))
        .filter(task::Column::Kind.eq(TaskKind::Upsell.as_str()))
        .filter(task::Column::CreatedAt.gt(since))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let owners = owners(conn, ids).await?;
    let half = format!("{}H{}", at.year(), if at.month() <= 6 { 1 } else { 2 });
    for (id, evidence) in ready {
        if recent.contains(&id) {
            continue;
        }
        let owner = owners.get(&id).cloned().flatten();
        if !tally.per_owner.take(owner.as_ref()) {
            continue;
        }
        let reasons: Vec<&str> = evidence["opportunities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str())
            .collect();
        let title = if reasons.is_empty() {
            format!("Upsell: satisfaction {}", evidence["satisfaction"])
        } else {
            format!("Upsell: {}", reasons.join(", ").replace('_', " "))
        };
        let draft = TaskDraft {
            kind: TaskKind::Upsell,
            customer_id: id,
            feedback_id: None,
            title,
            assignee_id: owner.clone(),
            due_at: Some(at + Duration::days(i64::from(settings.due_days))),
            created_by: ACTOR.into(),
        };
        if insert_once(conn, draft, format!("upsell:{id}:{half}"), at)
            .await?
            .is_some()
        {
            tally.created += 1;
        } else {
            tally.per_owner.give_back(owner.as_ref());
        }
    }
    Ok(())
}
