//! Early warning as the recompute meets it: each batch's rules evaluated
//! against the alerts already open (`domain::health::warning` decides),
//! new alerts raised once per episode — with one win-back task for the
//! owner and a `health.risk_changed` event — and open ones cleared, the
//! lifecycle stage following (active → at_risk, back when healthy).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::{customer, health_alert, task};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::settings::Rules;
use crate::contract::customers::LifecycleStage;
use crate::contract::events::EventType;
use crate::contract::health::{AlertRule, AlertView, HealthLevel};
use crate::contract::tasks::{TaskKind, TaskStatus};
use crate::domain::health::warning::{Signal, signal};
use crate::domain::health::{Explained, Facts};
use crate::error::AppResult;
use crate::service::tasks::{OwnerCap, TaskDraft, insert as insert_task};
use crate::service::{events, new_id};

/// Who creates the tasks the rules raise.
const ACTOR: &str = "system:health";

/// An alert as every reader sees it (it holds no personal data).
pub fn to_view(m: health_alert::Model) -> AlertView {
    AlertView {
        id: m.id,
        customer_id: m.customer_id,
        rule: AlertRule::from_db(&m.rule),
        evidence: m.evidence,
        fired_at: m.fired_at,
        cleared_at: m.cleared_at,
        task_id: m.task_id,
    }
}

/// Evaluates the rules for a batch of scored customers, in the caller's
/// transaction.
///
/// # Errors
/// Database failures.
pub(super) async fn evaluate(
    conn: &impl ConnectionTrait,
    batch: &[(Uuid, Facts, Explained)],
    rules: &Rules,
    at: DateTime<Utc>,
    tally: &mut Tally,
) -> AppResult<()> {
    let ids: Vec<Uuid> = batch.iter().map(|b| b.0).collect();
    let open: HashMap<(Uuid, AlertRule), health_alert::Model> = health_alert::Entity::find()
        .filter(health_alert::Column::CustomerId.is_in(ids))
        .filter(health_alert::Column::ClearedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|a| ((a.customer_id, AlertRule::from_db(&a.rule)), a))
        .collect();
    let (mut fire, mut clear) = (Vec::new(), Vec::new());
    let mut still_open: HashSet<Uuid> = HashSet::new();
    for (id, facts, explained) in batch {
        for &rule in AlertRule::ALL {
            let existing = open.get(&(*id, rule));
            match (signal(rule, facts, explained, at, &rules.warning), existing) {
                (Signal::Fire(evidence), None) => {
                    fire.push((*id, rule, evidence, explained));
                    still_open.insert(*id);
                }
                (Signal::Clear, Some(alert)) => clear.push((alert, explained)),
                (_, Some(_)) => {
                    still_open.insert(*id);
                }
                _ => {}
            }
        }
    }
    for (alert, explained) in clear {
        let cleared = health_alert::Entity::update_many()
            .col_expr(health_alert::Column::ClearedAt, Expr::value(at))
            .filter(health_alert::Column::Id.eq(alert.id))
            .filter(health_alert::Column::ClearedAt.is_null())
            .exec(conn)
            .await?;
        if cleared.rows_affected == 1 {
            events::emit(
                conn,
                EventType::HealthRiskChanged,
                alert.id,
                Some(alert.customer_id),
                json!({"rule": alert.rule, "state": "cleared", "score": explained.score, "level": explained.level.as_str()}),
                at,
            )
            .await?;
        }
    }
    if !fire.is_empty() {
        raise(conn, fire, rules, at, tally).await?;
    }
    let healthy: Vec<Uuid> = batch
        .iter()
        .filter(|(id, _, e)| e.level == HealthLevel::Healthy && !still_open.contains(id))
        .map(|b| b.0)
        .collect();
    crate::service::customers::move_stage(conn, healthy, LifecycleStage::AtRisk, LifecycleStage::Active, at).await
}

/// What one recompute's early warning did, across its batches.
pub(super) struct Tally {
    pub alerts: i64,
    pub tasks: i64,
    pub capped: i64,
    /// Win-back tasks created per owner.
    per_owner: OwnerCap,
}

impl Tally {
    pub(super) fn new(cap: u32) -> Self {
        Self {
            alerts: 0,
            tasks: 0,
            capped: 0,
            per_owner: OwnerCap::new(cap),
        }
    }
}

/// The owners of some customers.
///
/// # Errors
/// Database failures.
pub(super) async fn owners(conn: &impl ConnectionTrait, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, Option<String>>> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId)
        .filter(customer::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, Option<String>)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// Raises new alerts: each once (another instance may have raised it), one
/// open win-back task per customer at most, and at most the cap per owner
/// in one recompute.
async fn raise(
    conn: &impl ConnectionTrait,
    fire: Vec<(Uuid, AlertRule, serde_json::Value, &Explained)>,
    rules: &Rules,
    at: DateTime<Utc>,
    tally: &mut Tally,
) -> AppResult<()> {
    let customers: Vec<Uuid> = fire.iter().map(|f| f.0).collect();
    let owners = owners(conn, customers.clone()).await?;
    let mut tasks: HashMap<Uuid, Uuid> = task::Entity::find()
        .select_only()
        .column(task::Column::CustomerId)
        .column(task::Column::Id)
        .filter(task::Column::CustomerId.is_in(customers))
        .filter(task::Column::Kind.eq(TaskKind::WinBack.as_str()))
        .filter(task::Column::Status.eq(TaskStatus::Open.as_str()))
        .into_tuple::<(Uuid, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut fired = Vec::new();
    for (customer_id, rule, evidence, explained) in fire {
        let id = new_id();
        let raised = health_alert::Entity::insert(health_alert::ActiveModel {
            id: Set(id),
            customer_id: Set(customer_id),
            rule: Set(rule.as_str().into()),
            evidence: Set(evidence.clone()),
            fired_at: Set(at),
            cleared_at: Set(None),
            task_id: Set(None),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
        if raised == 0 {
            continue;
        }
        tally.alerts += 1;
        let owner = owners.get(&customer_id).cloned().flatten();
        let task_id = match tasks.get(&customer_id) {
            Some(&t) => Some(t),
            None if !tally.per_owner.take(owner.as_ref()) => {
                tally.capped += 1;
                None
            }
            None => {
                tally.tasks += 1;
                let t = insert_task(
                    conn,
                    TaskDraft {
                        kind: TaskKind::WinBack,
                        customer_id,
                        feedback_id: None,
                        title: format!("Win back: {}", rule.as_str().replace('_', " ")),
                        assignee_id: owner,
                        due_at: Some(at + Duration::days(i64::from(rules.win_back_due_days))),
                        created_by: ACTOR.into(),
                    },
                    at,
                )
                .await?;
                tasks.insert(customer_id, t.id);
                Some(t.id)
            }
        };
        if let Some(task_id) = task_id {
            health_alert::Entity::update_many()
                .col_expr(health_alert::Column::TaskId, Expr::value(task_id))
                .filter(health_alert::Column::Id.eq(id))
                .exec(conn)
                .await?;
        }
        events::emit(
            conn,
            EventType::HealthRiskChanged,
            id,
            Some(customer_id),
            json!({"rule": rule.as_str(), "state": "fired", "evidence": evidence, "task_id": task_id,
                "score": explained.score, "level": explained.level.as_str()}),
            at,
        )
        .await?;
        fired.push(customer_id);
    }
    crate::service::customers::move_stage(conn, fired, LifecycleStage::Active, LifecycleStage::AtRisk, at).await
}
