//! The weights and cut-offs scores are computed with, and a preview of what
//! other ones would do to every customer's level before they are saved.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::customer;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::Batches;
use crate::auth::{Actor, policy};
use crate::contract::health::{
    HealthCutoffs, HealthLevel, HealthPreview, HealthPreviewInput, HealthSettings, HealthUpsell, HealthWarning,
    HealthWeights, LevelChange, LevelCount,
};
use crate::domain::Checker;
use crate::domain::health::warning::Warning;
use crate::domain::health::{Cutoffs, Weights, explain};
use crate::error::AppResult;
use crate::service::settings::{load, store};
use crate::service::{Store, mask, now};

pub(super) const KEY: &str = "health";

/// Changed customers a preview lists.
const CHANGES: usize = 100;

/// A score and its level.
type Scored = (Option<f64>, HealthLevel);

/// The settings in force as the scoring rules take them.
pub(super) struct Rules {
    pub weights: Weights,
    pub cutoffs: Cutoffs,
    pub warning: Warning,
    pub win_back_due_days: u32,
    pub task_cap: u32,
    pub upsell: HealthUpsell,
}

impl From<HealthSettings> for Rules {
    fn from(s: HealthSettings) -> Self {
        Self {
            weights: Weights(s.weights.pairs().to_vec()),
            cutoffs: Cutoffs {
                healthy: s.cutoffs.healthy,
                watch: s.cutoffs.watch,
                at_risk: s.cutoffs.at_risk,
                min_coverage: s.cutoffs.min_coverage,
            },
            warning: Warning {
                score_fire_below: s.warning.score_fire_below,
                score_clear_at: s.warning.score_clear_at,
                satisfaction_fire_below: s.warning.satisfaction_fire_below,
                satisfaction_clear_at: s.warning.satisfaction_clear_at,
                gap_months: s.warning.gap_months,
                dormant_days: s.warning.dormant_days,
                dormant_clear_days: s.warning.dormant_clear_days,
            },
            win_back_due_days: s.warning.win_back_due_days,
            task_cap: s.warning.max_win_back_tasks_per_owner,
            upsell: s.upsell,
        }
    }
}

/// The health settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub(super) async fn rules(conn: &impl ConnectionTrait) -> AppResult<Rules> {
    Ok(load::<HealthSettings>(conn, KEY).await?.into())
}

pub(super) fn check_weights(c: &mut Checker, field: &str, w: &HealthWeights) {
    let all = w.pairs();
    for (factor, value) in all {
        if !(0.0..=100.0).contains(&value) {
            c.fail(&format!("{field}.{}", factor.as_str()), "must be between 0 and 100");
        }
    }
    if all
        .iter()
        .filter(|(f, _)| f.counts_for_coverage())
        .all(|(_, v)| *v <= 0.0)
    {
        c.fail(
            field,
            "a factor other than manual and unmet_needs must weigh more than 0",
        );
    }
}

pub(super) fn check_cutoffs(c: &mut Checker, field: &str, k: &HealthCutoffs) {
    for (name, value) in [("healthy", k.healthy), ("watch", k.watch), ("at_risk", k.at_risk)] {
        if !(0.0..=100.0).contains(&value) {
            c.fail(&format!("{field}.{name}"), "must be between 0 and 100");
        }
    }
    if k.watch > k.healthy {
        c.fail(&format!("{field}.watch"), "must be at most healthy");
    }
    if k.at_risk > k.watch {
        c.fail(&format!("{field}.at_risk"), "must be at most watch");
    }
    if !(0.1..=1.0).contains(&k.min_coverage) {
        c.fail(&format!("{field}.min_coverage"), "must be between 0.1 and 1");
    }
}

fn check_warning(c: &mut Checker, w: &HealthWarning) {
    for (name, value) in [
        ("score_fire_below", w.score_fire_below),
        ("score_clear_at", w.score_clear_at),
        ("satisfaction_fire_below", w.satisfaction_fire_below),
        ("satisfaction_clear_at", w.satisfaction_clear_at),
    ] {
        if !(0.0..=100.0).contains(&value) {
            c.fail(&format!("warning.{name}"), "must be between 0 and 100");
        }
    }
    if w.score_clear_at < w.score_fire_below {
        c.fail("warning.score_clear_at", "must be at least score_fire_below");
    }
    if w.satisfaction_clear_at < w.satisfaction_fire_below {
        c.fail(
            "warning.satisfaction_clear_at",
            "must be at least satisfaction_fire_below",
        );
    }
    if !(1..=24).contains(&w.gap_months) {
        c.fail("warning.gap_months", "must be between 1 and 24");
    }
    if !(7..=3650).contains(&w.dormant_days) {
        c.fail("warning.dormant_days", "must be between 7 and 3650");
    }
    if !(1..=w.dormant_days.max(1)).contains(&w.dormant_clear_days) {
        c.fail("warning.dormant_clear_days", "must be between 1 and dormant_days");
    }
    if w.max_win_back_tasks_per_owner > 10_000 {
        c.fail("warning.max_win_back_tasks_per_owner", "must be between 0 and 10000");
    }
    if w.win_back_due_days > 90 {
        c.fail("warning.win_back_due_days", "must be between 0 and 90");
    }
}

fn check_upsell(c: &mut Checker, u: &HealthUpsell) {
    if u.min_relationship_days > 3650 {
        c.fail("upsell.min_relationship_days", "must be between 0 and 3650");
    }
    if !(0.0..=100.0).contains(&u.min_satisfaction) {
        c.fail("upsell.min_satisfaction", "must be between 0 and 100");
    }
    if !(1..=24).contains(&u.every_months) {
        c.fail("upsell.every_months", "must be between 1 and 24");
    }
    if u.due_days > 90 {
        c.fail("upsell.due_days", "must be between 0 and 90");
    }
    if u.max_tasks_per_owner > 10_000 {
        c.fail("upsell.max_tasks_per_owner", "must be between 0 and 10000");
    }
}

/// Reads the health settings.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get(db: &impl Store, actor: &Actor) -> AppResult<HealthSettings> {
    policy::read_customers(actor)?;
    load(db, KEY).await
}

/// Replaces the health settings; reads and recomputes use them at once.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put(db: &impl Store, actor: &Actor, input: HealthSettings) -> AppResult<HealthSettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    check_weights(&mut c, "weights", &input.weights);
    check_cutoffs(&mut c, "cutoffs", &input.cutoffs);
    check_warning(&mut c, &input.warning);
    check_upsell(&mut c, &input.upsell);
    c.finish()?;
    store(db, KEY, &input).await?;
    Ok(input)
}

fn counts(tally: &HashMap<HealthLevel, i64>) -> Vec<LevelCount> {
    HealthLevel::ALL
        .iter()
        .map(|&level| LevelCount {
            level,
            count: tally.get(&level).copied().unwrap_or(0),
        })
        .collect()
}

/// The rules in force and the proposed ones (weights and cut-offs either
/// left out stay as they are), for readers of reports; bad fields of the
/// proposal, and any `c` holds already, are a `Validation` error.
///
/// # Errors
/// `Forbidden` for agents, partners and customers; `Validation`.
pub(super) async fn proposal(
    db: &impl Store,
    actor: &Actor,
    c: &mut Checker,
    weights: Option<HealthWeights>,
    cutoffs: Option<HealthCutoffs>,
) -> AppResult<(Rules, Rules)> {
    policy::read_reports(actor)?;
    policy::read_customers(actor)?;
    if let Some(w) = &weights {
        check_weights(c, "weights", w);
    }
    if let Some(k) = &cutoffs {
        check_cutoffs(c, "cutoffs", k);
    }
    std::mem::take(c).finish()?;
    let current: HealthSettings = load(db, KEY).await?;
    let after = Rules::from(HealthSettings {
        weights: weights.unwrap_or(current.weights),
        cutoffs: cutoffs.unwrap_or(current.cutoffs),
        ..current
    });
    Ok((Rules::from(current), after))
}

/// What the proposed weights and cut-offs would do to every live
/// customer's level, against the settings in force; nothing is saved.
///
/// # Errors
/// `Forbidden` for agents, partners and customers; `Validation` naming
/// each bad field.
pub async fn preview(db: &impl Store, actor: &Actor, input: HealthPreviewInput) -> AppResult<HealthPreview> {
    let mut c = Checker::default();
    let (before, after) = proposal(db, actor, &mut c, input.weights, input.cutoffs).await?;
    let at: DateTime<Utc> = now();
    let (mut tally_before, mut tally_after) = (HashMap::new(), HashMap::new());
    let (mut customers, mut changed) = (0_i64, 0_i64);
    let mut changes: Vec<(Uuid, Scored, Scored)> = Vec::new();
    let mut batches = Batches::new(db, at).await?;
    while let Some(batch) = batches.next(db).await? {
        for (id, facts) in &batch {
            let old = explain(facts, at, &before.weights, &before.cutoffs);
            let new = explain(facts, at, &after.weights, &after.cutoffs);
            customers += 1;
            *tally_before.entry(old.level).or_insert(0) += 1;
            *tally_after.entry(new.level).or_insert(0) += 1;
            if old.level != new.level {
                changed += 1;
                if changes.len() < CHANGES {
                    changes.push((*id, (old.score, old.level), (new.score, new.level)));
                }
            }
        }
    }
    let ids: Vec<Uuid> = changes.iter().map(|c| c.0).collect();
    let names: HashMap<Uuid, String> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::Name)
        .filter(customer::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let masked = actor.masks_personal_data();
    Ok(HealthPreview {
        customers,
        before: counts(&tally_before),
        after: counts(&tally_after),
        changed,
        changes: changes
            .into_iter()
            .map(
                |(customer_id, (score_before, level_before), (score_after, level_after))| {
                    let name = names.get(&customer_id).map_or("", String::as_str);
                    LevelChange {
                        customer_id,
                        name: if masked { mask::name(name) } else { name.to_owned() },
                        score_before,
                        score_after,
                        level_before,
                        level_after,
                    }
                },
            )
            .collect(),
        computed_at: at,
    })
}
