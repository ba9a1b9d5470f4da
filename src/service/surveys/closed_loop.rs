//! The closed loop: a resolved feedback item asks for a CSAT follow-up; a
//! low score reopens the item or makes a task; a detractor (or a low CSAT
//! outside a follow-up) opens one complaint and a follow-up task for the
//! owner; a promoter becomes a referral candidate. Everything here runs in
//! the caller's transaction.

use chrono::{DateTime, Duration, Utc};
use entity::{customer, feedback_item, survey, survey_invitation, survey_response};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;

use super::invitations::{Draft, held_back, write};
use super::{fatigue_windows, settings};
use crate::auth::{Actor, Role};
use crate::contract::events::EventType;
use crate::contract::feedback::{FeedbackChannel, FeedbackKind, FeedbackStatus, NewFeedback, Severity, Transition};
use crate::contract::surveys::{InvitationSource, LowScoreAction, SurveyChannel, SurveyKind, SurveyStatus};
use crate::contract::tasks::TaskKind;
use crate::domain::surveys::nps_category;
use crate::error::{AppError, AppResult};
use crate::service::feedback::SYSTEM;
use crate::service::tasks::{self, TaskDraft};
use crate::service::{events, feedback};

/// Who acts for the loop.
fn system() -> Actor {
    Actor {
        sub: SYSTEM.into(),
        role: Role::Admin,
        customer_id: None,
        partner_id: None,
    }
}

/// Whether a score is low: an NPS detractor (0–6) or a CSAT of 2 or less.
fn low(kind: SurveyKind, score: i32) -> bool {
    match kind {
        SurveyKind::Nps => score <= 6,
        SurveyKind::Csat => score <= 2,
        _ => false,
    }
}

/// Days a follow-up task is given.
const TASK_DAYS: i64 = 2;

/// Acts on a response's score, in the answering transaction: the
/// customer's latest NPS or CSAT; the loop once per response when the score
/// becomes low (a score moved from one low value to another acts no more).
#[allow(clippy::too_many_arguments)]
pub(super) async fn on_score(
    txn: &DatabaseTransaction,
    s: &survey::Model,
    inv: &survey_invitation::Model,
    response: &survey_response::Model,
    who: &customer::Model,
    score: i32,
    previous: Option<i32>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let kind = SurveyKind::from_db(&s.kind);
    let mut update = customer::Entity::update_many().filter(customer::Column::Id.eq(who.id));
    match kind {
        SurveyKind::Nps => {
            let category = nps_category(i64::from(score));
            update = update
                .col_expr(customer::Column::NpsScore, Expr::value(Some(score)))
                .col_expr(customer::Column::NpsCategory, Expr::value(Some(category)))
                .col_expr(customer::Column::NpsAt, Expr::value(Some(at)));
            if category == "promoter" && who.referral_candidate_at.is_none() {
                update = update.col_expr(customer::Column::ReferralCandidateAt, Expr::value(Some(at)));
            }
        }
        SurveyKind::Csat => {
            update = update
                .col_expr(customer::Column::LatestCsat, Expr::value(Some(score)))
                .col_expr(customer::Column::CsatAt, Expr::value(Some(at)));
        }
        _ => return Ok(()),
    }
    update.exec(txn).await?;
    if !low(kind, score) || previous.is_some_and(|p| low(kind, p)) {
        return Ok(());
    }
    if let Some(item_id) = inv.feedback_id {
        return low_follow_up(txn, who, item_id, score, at).await;
    }
    if response.opened_feedback_id.is_some() {
        return Ok(());
    }
    let what = match kind {
        SurveyKind::Nps => format!("Detractor: NPS {score}"),
        _ => format!("Low satisfaction: CSAT {score}"),
    };
    let body = match &response.comment {
        Some(comment) if !comment.is_empty() => format!("{what} in survey “{}”.\n\n{comment}", s.name),
        _ => format!("{what} in survey “{}”.", s.name),
    };
    let item = feedback::create(
        txn,
        &system(),
        NewFeedback {
            customer_id: Some(who.id),
            channel: FeedbackChannel::Survey,
            kind: FeedbackKind::Complaint,
            subject: what.clone(),
            body,
            rating: None,
            severity: Some(Severity::Important),
            assignee_id: who.owner_id.clone(),
        },
    )
    .await?;
    survey_response::Entity::update_many()
        .col_expr(survey_response::Column::OpenedFeedbackId, Expr::value(Some(item.id)))
        .filter(survey_response::Column::Id.eq(response.id))
        .exec(txn)
        .await?;
    tasks::insert(
        txn,
        TaskDraft {
            kind: TaskKind::FollowUp,
            customer_id: who.id,
            feedback_id: Some(item.id),
            title: format!("Follow up: {what}"),
            assignee_id: who.owner_id.clone(),
            due_at: Some(at + Duration::days(TASK_DAYS)),
            created_by: SYSTEM.into(),
        },
        at,
    )
    .await?;
    if kind == SurveyKind::Nps {
        events::emit(
            txn,
            EventType::NpsDetractor,
            response.id,
            Some(who.id),
            json!({"survey_id": s.id, "score": score, "feedback_id": item.id}),
            at,
        )
        .await?;
    }
    Ok(())
}

/// A low follow-up score: the item reopens, or (by the settings, or when it
/// cannot reopen) a follow-up task is made for its assignee or the owner.
async fn low_follow_up(
    txn: &DatabaseTransaction,
    who: &customer::Model,
    item_id: uuid::Uuid,
    score: i32,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let rules = settings(txn).await?;
    if rules.low_score_action == LowScoreAction::Reopen {
        let reopened = feedback::transition(
            txn,
            &system(),
            item_id,
            Transition {
                to: FeedbackStatus::InProgress,
                note: Some(format!("reopened: the follow-up survey scored {score}")),
                root_cause: None,
                review_note: None,
            },
        )
        .await;
        match reopened {
            Ok(_) => return Ok(()),
            Err(AppError::Conflict { .. } | AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let item = feedback_item::Entity::find_by_id(item_id).one(txn).await?;
    tasks::insert(
        txn,
        TaskDraft {
            kind: TaskKind::FollowUp,
            customer_id: who.id,
            feedback_id: item.as_ref().map(|i| i.id),
            title: format!("Follow up: the follow-up survey scored {score}"),
            assignee_id: item.and_then(|i| i.assignee_id).or_else(|| who.owner_id.clone()),
            due_at: Some(at + Duration::days(TASK_DAYS)),
            created_by: SYSTEM.into(),
        },
        at,
    )
    .await?;
    Ok(())
}

/// A resolved feedback item asks its customer for the configured follow-up
/// CSAT, once per resolution (a reopened item resolved again asks again).
/// Runs in the resolving transaction; nothing is sent without an active
/// follow-up survey.
///
/// # Errors
/// Database failures.
pub async fn on_resolved(txn: &DatabaseTransaction, item: &feedback_item::Model, at: DateTime<Utc>) -> AppResult<()> {
    let rules = settings(txn).await?;
    let Some(survey_id) = rules.follow_up_survey_id else {
        return Ok(());
    };
    let Some(s) = survey::Entity::find_by_id(survey_id).one(txn).await? else {
        return Ok(());
    };
    if s.status != SurveyStatus::Active.as_str() {
        return Ok(());
    }
    if !s.follow_up_exempt {
        let held = held_back(txn, &s, fatigue_windows(&s, &rules), &[item.customer_id], at).await?;
        if !held.is_empty() {
            return Ok(());
        }
    }
    write(
        txn,
        &s,
        vec![Draft {
            customer_id: item.customer_id,
            channel: SurveyChannel::Email,
            source: InvitationSource::FollowUp,
            source_key: Some(format!("feedback:{}:{}", item.id, at.timestamp_micros())),
            feedback_id: Some(item.id),
            exempt: s.follow_up_exempt,
        }],
        SYSTEM,
        at,
    )
    .await?;
    Ok(())
}
