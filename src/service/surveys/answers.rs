//! Answering an invitation, by its token without login or as the signed-in
//! customer: answers saved while the response is partial (a score clicked in
//! an e-mail counts at once, a comment may follow on the same token), then
//! frozen by finishing it.

use chrono::{DateTime, Utc};
use entity::{customer, survey, survey_answer, survey_invitation, survey_response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::invitations::{status_of, token_hash};
use super::{closed_loop, find, language_for, questions_of};
use crate::auth::{Actor, policy};
use crate::contract::events::EventType;
use crate::contract::surveys::{
    AnswersInput, FinishInput, InvitationStatus, MySurvey, PublicChoice, PublicInvitation, PublicQuestion,
    QuestionType, ResponseStatus, SurveyKind, SurveyStatus,
};
use crate::domain::Checker;
use crate::domain::surveys::{self as rules, Answer, Question, QuestionKind, text_in};
use crate::error::{AppError, AppResult};
use crate::service::{Store, begin, events, new_id, now};

/// How the caller reaches an invitation.
enum Access<'a> {
    /// The token from the link (the token is the credential).
    Token(&'a str),
    /// A signed-in customer, its own invitation.
    Mine(Uuid, Uuid),
}

async fn find_invitation(
    conn: &impl ConnectionTrait,
    access: &Access<'_>,
    lock: bool,
) -> AppResult<survey_invitation::Model> {
    let mut q = survey_invitation::Entity::find();
    q = match access {
        Access::Token(token) => q.filter(survey_invitation::Column::TokenHash.eq(token_hash(token))),
        Access::Mine(customer_id, id) => q
            .filter(survey_invitation::Column::Id.eq(*id))
            .filter(survey_invitation::Column::CustomerId.eq(*customer_id)),
    };
    if lock && conn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(conn).await?.ok_or(AppError::NotFound("survey invitation"))
}

/// Whether an invitation can still be answered: a finished one is 409, an
/// expired one or one of a closed survey 410 with its code.
fn answerable(inv: &survey_invitation::Model, s: &survey::Model, at: DateTime<Utc>) -> AppResult<()> {
    if inv.status == InvitationStatus::Completed.as_str() {
        return Err(AppError::Conflict {
            detail: "this invitation has been answered; its response is final".into(),
            field: None,
        });
    }
    if inv.expires_at <= at {
        return Err(AppError::Gone {
            code: "invitation_expired",
            detail: format!("this invitation expired at {}", inv.expires_at.to_rfc3339()),
        });
    }
    if s.status == SurveyStatus::Closed.as_str() {
        return Err(AppError::Gone {
            code: "survey_closed",
            detail: "this survey is closed and takes no more answers".into(),
        });
    }
    Ok(())
}

fn public_question(q: &Question, language: &str, fallback: &str) -> PublicQuestion {
    let choices = |cs: &[rules::Choice]| {
        cs.iter()
            .map(|c| PublicChoice {
                id: c.id.clone(),
                label: text_in(&c.label, Some(language), fallback).to_owned(),
            })
            .collect()
    };
    let (kind, min, max, choices, max_length) = match &q.kind {
        QuestionKind::Rating { min, max } => (
            QuestionType::Rating,
            Some(*min as f64),
            Some(*max as f64),
            Vec::new(),
            None,
        ),
        QuestionKind::Number { min, max } => (QuestionType::Number, *min, *max, Vec::new(), None),
        QuestionKind::SingleChoice { choices: cs } => (QuestionType::SingleChoice, None, None, choices(cs), None),
        QuestionKind::MultipleChoice { choices: cs } => (QuestionType::MultipleChoice, None, None, choices(cs), None),
        QuestionKind::Text { max_length } => (
            QuestionType::Text,
            None,
            None,
            Vec::new(),
            Some(i32::try_from(*max_length).unwrap_or(i32::MAX)),
        ),
    };
    PublicQuestion {
        id: q.id.clone(),
        kind,
        required: q.required,
        text: text_in(&q.text, Some(language), fallback).to_owned(),
        min,
        max,
        choices,
        max_length,
    }
}

fn public_view(
    s: &survey::Model,
    inv: &survey_invitation::Model,
    language: &str,
    answers: Map<String, Value>,
    at: DateTime<Utc>,
) -> PublicInvitation {
    PublicInvitation {
        invitation_id: inv.id,
        survey_name: s.name.clone(),
        kind: SurveyKind::from_db(&s.kind),
        language: language.to_owned(),
        questions: questions_of(s)
            .iter()
            .map(|q| public_question(q, language, &s.default_language))
            .collect(),
        status: status_of(inv, at),
        expires_at: inv.expires_at,
        answers: async_graphql::Json(answers),
    }
}

async fn customer_of(conn: &impl ConnectionTrait, inv: &survey_invitation::Model) -> AppResult<customer::Model> {
    crate::service::customers::find_live(conn, inv.customer_id)
        .await
        .map_err(|_| AppError::NotFound("survey invitation"))
}

async fn response_of(conn: &impl ConnectionTrait, invitation_id: Uuid) -> AppResult<Option<survey_response::Model>> {
    Ok(survey_response::Entity::find()
        .filter(survey_response::Column::InvitationId.eq(invitation_id))
        .one(conn)
        .await?)
}

fn answers_of(r: Option<&survey_response::Model>) -> Map<String, Value> {
    r.and_then(|r| r.answers.as_object().cloned()).unwrap_or_default()
}

async fn open(db: &impl Store, access: Access<'_>) -> AppResult<PublicInvitation> {
    let at = now();
    let inv = find_invitation(db, &access, false).await?;
    let s = find(db, inv.survey_id).await?;
    answerable(&inv, &s, at)?;
    let who = customer_of(db, &inv).await?;
    let language = language_for(&s, who.preferred_language.as_deref());
    let response = response_of(db, inv.id).await?;
    Ok(public_view(&s, &inv, &language, answers_of(response.as_ref()), at))
}

/// One row per number or choice picked, for results in SQL.
fn answer_rows(
    response_id: Uuid,
    survey_id: Uuid,
    questions: &[Question],
    merged: &[(String, Answer)],
) -> Vec<survey_answer::ActiveModel> {
    let mut rows = Vec::new();
    for (qid, answer) in merged {
        let row = |choice: Option<String>, value: Option<f64>| survey_answer::ActiveModel {
            response_id: Set(response_id),
            survey_id: Set(survey_id),
            question_id: Set(qid.clone()),
            choice_id: Set(choice),
            value: Set(value),
            ..Default::default()
        };
        match answer {
            Answer::Number(n) => rows.push(row(None, Some(*n))),
            Answer::Choices(ids) => rows.extend(ids.iter().map(|id| row(Some(id.clone()), None))),
            Answer::Text(_) => {
                // Counted as answered; the text stays in the response.
                if questions.iter().any(|q| &q.id == qid) {
                    rows.push(row(None, None));
                }
            }
        }
    }
    rows
}

/// Saves answers (and with `finishing`, freezes the response), in one
/// transaction with the invitation locked: of two concurrent finishes one
/// wins and the other is 409, and nothing is overwritten.
async fn save(
    db: &impl Store,
    access: Access<'_>,
    given: Map<String, Value>,
    finishing: bool,
) -> AppResult<PublicInvitation> {
    let at = now();
    let txn = begin(db).await?;
    let inv = find_invitation(&txn, &access, true).await?;
    let s = find(&txn, inv.survey_id).await?;
    answerable(&inv, &s, at)?;
    let who = customer_of(&txn, &inv).await?;
    let questions = questions_of(&s);
    let existing = response_of(&txn, inv.id).await?;
    let stored = answers_of(existing.as_ref());
    let mut c = Checker::default();
    let merged = rules::merge_answers(&mut c, &questions, &stored, &given, finishing);
    c.finish()?;
    let answers: Map<String, Value> = merged
        .iter()
        .filter_map(|(qid, a)| {
            let q = questions.iter().find(|q| &q.id == qid)?;
            Some((qid.clone(), a.to_json(&q.kind)))
        })
        .collect();
    let kind = SurveyKind::from_db(&s.kind);
    let score = rules::score_range(kind)
        .and_then(|_| merged.iter().find(|(q, _)| q == rules::SCORE))
        .and_then(|(_, a)| match a {
            Answer::Number(n) => i32::try_from(n.round() as i64).ok(),
            _ => None,
        });
    let comment = merged
        .iter()
        .find(|(q, _)| q == rules::COMMENT)
        .and_then(|(_, a)| match a {
            Answer::Text(t) if rules::score_range(kind).is_some() => Some(t.clone()),
            _ => None,
        });
    let status = if finishing {
        ResponseStatus::Completed
    } else {
        ResponseStatus::Partial
    };
    let language = language_for(&s, who.preferred_language.as_deref());
    let previous_score = existing.as_ref().and_then(|r| r.score);
    let response = match existing {
        Some(r) => {
            let mut am = r.into_active_model();
            am.answers = Set(Value::Object(answers.clone()));
            am.score = Set(score);
            am.comment = Set(comment);
            am.status = Set(status.as_str().into());
            am.updated_at = Set(at);
            if finishing {
                am.finished_at = Set(Some(at));
            }
            am.update(&txn).await?
        }
        None => {
            survey_response::ActiveModel {
                id: Set(new_id()),
                invitation_id: Set(inv.id),
                survey_id: Set(s.id),
                customer_id: Set(inv.customer_id),
                status: Set(status.as_str().into()),
                score: Set(score),
                comment: Set(comment),
                answers: Set(Value::Object(answers.clone())),
                language: Set(language.clone()),
                channel: Set(inv.channel.clone()),
                feedback_id: Set(inv.feedback_id),
                opened_feedback_id: Set(None),
                started_at: Set(at),
                updated_at: Set(at),
                finished_at: Set(finishing.then_some(at)),
            }
            .insert(&txn)
            .await?
        }
    };
    survey_answer::Entity::delete_many()
        .filter(survey_answer::Column::ResponseId.eq(response.id))
        .exec(&txn)
        .await?;
    let rows = answer_rows(response.id, s.id, &questions, &merged);
    if !rows.is_empty() {
        survey_answer::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    // The conditional update is the guard: only an unfinished invitation moves.
    let moved = survey_invitation::Entity::update_many()
        .col_expr(
            survey_invitation::Column::Status,
            Expr::value(if finishing {
                InvitationStatus::Completed.as_str()
            } else {
                InvitationStatus::Partial.as_str()
            }),
        )
        .filter(survey_invitation::Column::Id.eq(inv.id))
        .filter(survey_invitation::Column::Status.ne(InvitationStatus::Completed.as_str()))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 0 {
        return Err(AppError::Conflict {
            detail: "this invitation has been answered; its response is final".into(),
            field: None,
        });
    }
    if score != previous_score
        && let Some(score) = score
    {
        closed_loop::on_score(&txn, &s, &inv, &response, &who, score, previous_score, at).await?;
    }
    if finishing {
        events::emit(
            &txn,
            EventType::SurveyResponseReceived,
            response.id,
            Some(inv.customer_id),
            json!({"survey_id": s.id, "invitation_id": inv.id, "kind": s.kind, "score": score}),
            at,
        )
        .await?;
    }
    let inv = survey_invitation::Entity::find_by_id(inv.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("survey invitation"))?;
    txn.commit().await?;
    Ok(public_view(&s, &inv, &language, answers, at))
}

/// The invitation behind a token, in the customer's language, with the
/// answers saved so far.
///
/// # Errors
/// `NotFound` for an unknown token; `Conflict` when answered; `Gone` when
/// expired or the survey is closed.
pub async fn open_by_token(db: &impl Store, token: &str) -> AppResult<PublicInvitation> {
    open(db, Access::Token(token)).await
}

/// Saves answers on a token while the response is partial.
///
/// # Errors
/// As [`open_by_token`], and `Validation` naming each bad answer.
pub async fn save_by_token(db: &impl Store, token: &str, input: AnswersInput) -> AppResult<PublicInvitation> {
    save(db, Access::Token(token), input.answers, false).await
}

/// Finishes the response on a token (with any last answers): required
/// questions must then be answered; the response is final.
///
/// # Errors
/// As [`save_by_token`].
pub async fn finish_by_token(db: &impl Store, token: &str, input: FinishInput) -> AppResult<PublicInvitation> {
    save(db, Access::Token(token), input.answers, true).await
}

/// The signed-in customer's invitations, newest first (at most 100).
///
/// # Errors
/// `Forbidden` for every role but customer.
pub async fn list_mine(db: &impl Store, actor: &Actor) -> AppResult<Vec<MySurvey>> {
    let me = policy::own_customer(actor)?;
    let at = now();
    let rows = survey_invitation::Entity::find()
        .filter(survey_invitation::Column::CustomerId.eq(me))
        .order_by_desc(survey_invitation::Column::CreatedAt)
        .limit(100)
        .all(db)
        .await?;
    let surveys: std::collections::HashMap<Uuid, survey::Model> = survey::Entity::find()
        .filter(survey::Column::Id.is_in(rows.iter().map(|r| r.survey_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|inv| {
            let s = surveys.get(&inv.survey_id)?.clone();
            Some(MySurvey {
                invitation_id: inv.id,
                survey_name: s.name,
                kind: SurveyKind::from_db(&s.kind),
                status: status_of(&inv, at),
                expires_at: inv.expires_at,
            })
        })
        .collect())
}

/// One of the signed-in customer's invitations, to answer.
///
/// # Errors
/// `Forbidden` for every role but customer; then as [`open_by_token`].
pub async fn open_mine(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<PublicInvitation> {
    let me = policy::own_customer(actor)?;
    open(db, Access::Mine(me, id)).await
}

/// Saves answers to one of the signed-in customer's invitations.
///
/// # Errors
/// As [`open_mine`], and `Validation`.
pub async fn save_mine(db: &impl Store, actor: &Actor, id: Uuid, input: AnswersInput) -> AppResult<PublicInvitation> {
    let me = policy::own_customer(actor)?;
    save(db, Access::Mine(me, id), input.answers, false).await
}

/// Finishes the signed-in customer's response.
///
/// # Errors
/// As [`save_mine`].
pub async fn finish_mine(db: &impl Store, actor: &Actor, id: Uuid, input: FinishInput) -> AppResult<PublicInvitation> {
    let me = policy::own_customer(actor)?;
    save(db, Access::Mine(me, id), input.answers, true).await
}
