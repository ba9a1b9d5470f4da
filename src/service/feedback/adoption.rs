//! Adopting a suggestion: the item is marked adopted once, the customer
//! receives the configured bonus through the loyalty ledger (keyed by the
//! item, so a second adoption, a retry or a concurrent request credits
//! nothing), `feedback.suggestion_adopted` is emitted, and — when the needs
//! settings ask — a need is recorded for the product team. One transaction.

use chrono::Utc;
use entity::feedback_item;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use super::find_for_update;
use crate::auth::{Actor, policy};
use crate::contract::events::EventType;
use crate::contract::feedback::FeedbackKind;
use crate::contract::loyalty::EntryKind;
use crate::contract::needs::{AdoptSuggestion, Adoption, NeedKind, NeedLevel, NeedSource};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};
use crate::service::loyalty::ledger::{self, Memo};
use crate::service::{Store, begin, customers, events, loyalty, needs, now};

fn view(item: &feedback_item::Model, points: i64, entry: Option<Uuid>, need: Option<Uuid>) -> Adoption {
    Adoption {
        feedback_id: item.id,
        adopted_at: item.adopted_at.unwrap_or_else(Utc::now),
        adopted_by: item.adopted_by.clone().unwrap_or_default(),
        note: item.adoption_note.clone(),
        points_credited: points,
        loyalty_entry_id: entry,
        need_id: need,
    }
}

/// Adopts a suggestion (admins, managers, or the agent it is assigned to).
/// Adopting it again answers the adoption already made and credits nothing.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Conflict` for an item that is no suggestion,
/// `Validation` for a bad note.
pub async fn adopt(db: &impl Store, actor: &Actor, id: Uuid, input: AdoptSuggestion) -> AppResult<Adoption> {
    policy::log_interaction(actor)?;
    let mut c = Checker::default();
    let note = c.opt("note", input.note, |v| parse::text(v, parse::MAX_TEXT));
    let txn = begin(db).await?;
    let item = find_for_update(&txn, id).await?;
    policy::work_assigned(actor, item.assignee_id.as_deref())?;
    c.finish()?;
    if FeedbackKind::from_db(&item.kind) != FeedbackKind::Suggestion {
        return Err(AppError::conflict_on("kind", "only a suggestion can be adopted"));
    }
    if item.adopted_at.is_some() {
        return Ok(view(&item, 0, None, None));
    }
    let at = now();
    let settings = needs::settings(&txn).await?;
    let customer = customers::find_live(&txn, item.customer_id).await?;
    let mut item = item;
    item.adopted_at = Some(at);
    item.adopted_by = Some(actor.sub.clone());
    item.adoption_note = note;
    item.updated_at = at;
    let item = item.into_active_model().reset_all().update(&txn).await?;
    let rules = loyalty::rules(&txn).await?;
    let points = i64::from(settings.suggestion_bonus_points);
    let entry = if points > 0 && rules.enabled {
        let mut account = ledger::lock(&txn, item.customer_id, at).await?;
        let memo = Memo {
            actor: actor.sub.clone(),
            key: format!("suggestion:{}", item.id),
            note: Some("suggestion adopted".into()),
            ..Memo::default()
        };
        let posted = ledger::credit_now(&txn, &mut account, &rules, EntryKind::Bonus, points, memo, at).await?;
        Some(posted.entry.id)
    } else {
        None
    };
    let need = if settings.adoption_creates_need {
        let draft = needs::NeedDraft {
            customer_id: item.customer_id,
            title: item.subject.clone(),
            description: None,
            kind: NeedKind::Secondary,
            urgency: NeedLevel::Low,
            importance: NeedLevel::Medium,
            source: NeedSource::Feedback,
            source_id: Some(item.id),
            stage: None,
            owner_id: customer.owner_id.clone(),
            due_on: None,
        };
        Some(needs::insert(&txn, draft, &actor.sub, at).await?.id)
    } else {
        None
    };
    let credited = if entry.is_some() { points } else { 0 };
    let data = json!({"points": credited, "loyalty_entry_id": entry, "need_id": need});
    events::emit(
        &txn,
        EventType::FeedbackSuggestionAdopted,
        item.id,
        Some(item.customer_id),
        data,
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(view(&item, credited, entry, need))
}
