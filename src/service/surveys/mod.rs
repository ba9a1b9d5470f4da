//! Surveys: definitions and their lifecycle (draft → active → closed),
//! invitations with the fatigue rules, answers by token or by the signed-in
//! customer, results in SQL, and the closed loop back to feedback and tasks.

use crate::service::Store;
use entity::{survey, survey_response};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::paging::before_cursor;
use super::{new_id, now};
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::surveys::{
    ChoiceSpec, FatigueMode, NewSurvey, QuestionSpec, QuestionType, SurveyFilter, SurveyKind, SurveyPatch,
    SurveySettings, SurveyStatus, SurveyView, TriggerKind, TriggerSpec,
};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::surveys::{self as rules, Choice, Question, QuestionKind, Texts};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

mod answers;
mod closed_loop;
mod invitations;
mod results;
mod triggers;

pub use answers::{finish_by_token, finish_mine, list_mine, open_by_token, open_mine, save_by_token, save_mine};
pub use closed_loop::on_resolved;
pub use invitations::{issue_token, list_invitations, remind, send, to_view as invitation_view};
pub use results::{list_responses, responses_for_timeline, results, to_view as response_view};
pub use triggers::{TriggerRun, run_triggers};

const SETTINGS: &str = "surveys";

/// The survey settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub async fn settings(conn: &impl sea_orm::ConnectionTrait) -> AppResult<SurveySettings> {
    super::settings::load(conn, SETTINGS).await
}

/// Reads the survey settings.
///
/// # Errors
/// `Forbidden` for roles without read access.
pub async fn get_settings(db: &impl Store, actor: &Actor) -> AppResult<SurveySettings> {
    policy::read_customers(actor)?;
    settings(db).await
}

/// Replaces the survey settings.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_settings(db: &impl Store, actor: &Actor, input: SurveySettings) -> AppResult<SurveySettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    for (path, days) in [
        ("nps_days", input.nps_days),
        ("csat_days", input.csat_days),
        ("ces_days", input.ces_days),
        ("custom_days", input.custom_days),
    ] {
        if days > 730 {
            c.fail(path, "must be between 0 and 730");
        }
    }
    if input.cooldown_days > 365 {
        c.fail("cooldown_days", "must be between 0 and 365");
    }
    if !(1..=10_000).contains(&input.min_responses) {
        c.fail("min_responses", "must be between 1 and 10000");
    }
    if !(3..=10_000).contains(&input.min_group_size) {
        c.fail("min_group_size", "must be between 3 and 10000");
    }
    if let Some(id) = input.follow_up_survey_id {
        match survey::Entity::find_by_id(id).one(db).await? {
            Some(s) if s.kind == SurveyKind::Csat.as_str() => {}
            Some(_) => c.fail("follow_up_survey_id", "must be a CSAT survey"),
            None => c.fail("follow_up_survey_id", "no such survey"),
        }
    }
    c.finish()?;
    super::settings::store(db, SETTINGS, &input).await?;
    Ok(input)
}

/// The ids of a survey's free-text questions (what erasure blanks).
pub fn text_questions(m: &survey::Model) -> Vec<String> {
    questions_of(m)
        .into_iter()
        .filter(|q| matches!(q.kind, QuestionKind::Text { .. }))
        .map(|q| q.id)
        .collect()
}

/// The stored questions of a survey.
pub(crate) fn questions_of(m: &survey::Model) -> Vec<Question> {
    serde_json::from_value(m.questions.clone()).unwrap_or_default()
}

fn spec_of(q: Question) -> QuestionSpec {
    let (kind, min, max, choices, max_length) = match q.kind {
        QuestionKind::Rating { min, max } => (QuestionType::Rating, Some(min as f64), Some(max as f64), None, None),
        QuestionKind::Number { min, max } => (QuestionType::Number, min, max, None, None),
        QuestionKind::SingleChoice { choices } => (QuestionType::SingleChoice, None, None, Some(choices), None),
        QuestionKind::MultipleChoice { choices } => (QuestionType::MultipleChoice, None, None, Some(choices), None),
        QuestionKind::Text { max_length } => (
            QuestionType::Text,
            None,
            None,
            None,
            Some(i32::try_from(max_length).unwrap_or(i32::MAX)),
        ),
    };
    QuestionSpec {
        id: q.id,
        kind,
        required: q.required,
        text: q.text,
        min,
        max,
        choices: choices.map(|cs| {
            cs.into_iter()
                .map(|c| ChoiceSpec {
                    id: c.id,
                    label: c.label,
                })
                .collect()
        }),
        max_length,
    }
}

/// Shapes a stored survey.
pub fn to_view(m: survey::Model) -> SurveyView {
    let questions = questions_of(&m).into_iter().map(spec_of).collect();
    let trigger = m.trigger_kind.as_deref().map(|k| TriggerSpec {
        kind: TriggerKind::from_db(k),
        delay_minutes: m.trigger_delay_minutes,
        segment_id: m.trigger_segment_id,
        every_months: m.trigger_every_months,
    });
    SurveyView {
        id: m.id,
        name: m.name,
        kind: SurveyKind::from_db(&m.kind),
        status: SurveyStatus::from_db(&m.status),
        default_language: m.default_language,
        questions,
        fatigue: FatigueMode::from_db(&m.fatigue),
        fatigue_kind_days: m.fatigue_kind_days,
        fatigue_cooldown_days: m.fatigue_cooldown_days,
        follow_up_exempt: m.follow_up_exempt,
        expires_after_hours: m.expires_after_hours,
        max_reminders: m.max_reminders,
        trigger,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
        activated_at: m.activated_at,
        closed_at: m.closed_at,
    }
}

/// A custom question from the wire, each problem under `questions[i]…`.
fn question_of(c: &mut Checker, i: usize, spec: QuestionSpec) -> Question {
    let at = format!("questions[{i}]");
    let whole = |c: &mut Checker, name: &str, v: Option<f64>| -> Option<i64> {
        match v {
            Some(v) if v.fract() == 0.0 && v.is_finite() => Some(v as i64),
            Some(_) => {
                c.fail(&format!("{at}.{name}"), "must be a whole number for a rating");
                None
            }
            None => {
                c.fail(&format!("{at}.{name}"), "is required for a rating");
                None
            }
        }
    };
    let choices = |c: &mut Checker, given: Option<Vec<ChoiceSpec>>| -> Vec<Choice> {
        match given {
            Some(list) => list
                .into_iter()
                .map(|ch| Choice {
                    id: ch.id,
                    label: ch.label,
                })
                .collect(),
            None => {
                c.fail(&format!("{at}.choices"), "is required for a choice question");
                Vec::new()
            }
        }
    };
    let kind = match spec.kind {
        QuestionType::Rating => {
            let (min, max) = (whole(c, "min", spec.min), whole(c, "max", spec.max));
            QuestionKind::Rating {
                min: min.unwrap_or(0),
                max: max.unwrap_or(1),
            }
        }
        QuestionType::Number => QuestionKind::Number {
            min: spec.min,
            max: spec.max,
        },
        QuestionType::SingleChoice => QuestionKind::SingleChoice {
            choices: choices(c, spec.choices),
        },
        QuestionType::MultipleChoice => QuestionKind::MultipleChoice {
            choices: choices(c, spec.choices),
        },
        QuestionType::Text => QuestionKind::Text {
            max_length: match spec.max_length {
                None => rules::MAX_TEXT,
                Some(n) => usize::try_from(n).unwrap_or(0),
            },
        },
    };
    Question {
        id: spec.id,
        required: spec.required,
        text: spec.text,
        kind,
    }
}

/// The questions a survey asks, from what was sent; every problem recorded.
fn build_questions(
    c: &mut Checker,
    kind: SurveyKind,
    language: &str,
    questions: Option<Vec<QuestionSpec>>,
    score_text: Option<Texts>,
    comment_text: Option<Texts>,
) -> Vec<Question> {
    if kind == SurveyKind::Custom {
        if score_text.is_some() || comment_text.is_some() {
            c.fail("score_text", "only NPS, CSAT and CES surveys have a score question");
        }
        let Some(specs) = questions else {
            c.fail("questions", "a custom survey needs its questions");
            return Vec::new();
        };
        if specs.len() > rules::MAX_QUESTIONS {
            c.fail(
                "questions",
                format!("must hold 1 to {} questions", rules::MAX_QUESTIONS),
            );
            return Vec::new();
        }
        let built: Vec<Question> = specs
            .into_iter()
            .enumerate()
            .map(|(i, q)| question_of(c, i, q))
            .collect();
        rules::check_questions(c, &built, language);
        built
    } else {
        if questions.is_some() {
            c.fail(
                "questions",
                "NPS, CSAT and CES surveys ask their score and a comment; give score_text and comment_text",
            );
        }
        let built = rules::standard_questions(
            kind,
            score_text.unwrap_or_default(),
            comment_text.unwrap_or_default(),
            language,
        );
        for (i, q) in built.iter().enumerate() {
            let path = if i == 0 { "score_text" } else { "comment_text" };
            rules::check_texts(c, path, &q.text, language);
        }
        built
    }
}

fn in_range(c: &mut Checker, path: &str, value: Option<i32>, range: std::ops::RangeInclusive<i32>) -> Option<i32> {
    match value {
        Some(v) if !range.contains(&v) => {
            c.fail(path, format!("must be between {} and {}", range.start(), range.end()));
            None
        }
        v => v,
    }
}

/// Checks a trigger; a periodic one's segment must exist.
async fn check_trigger(db: &impl Store, c: &mut Checker, trigger: &TriggerSpec, kind: SurveyKind) -> AppResult<()> {
    match trigger.kind {
        TriggerKind::AfterOrder => {
            in_range(c, "trigger.delay_minutes", trigger.delay_minutes, 0..=43_200);
            if trigger.segment_id.is_some() || trigger.every_months.is_some() {
                c.fail("trigger.segment_id", "an after_order trigger takes only delay_minutes");
            }
        }
        TriggerKind::Periodic => {
            if trigger.every_months.is_none() {
                c.fail("trigger.every_months", "is required for a periodic trigger");
            }
            in_range(c, "trigger.every_months", trigger.every_months, 1..=24);
            match trigger.segment_id {
                None => c.fail("trigger.segment_id", "is required for a periodic trigger"),
                Some(id) => {
                    if entity::segment::Entity::find_by_id(id).one(db).await?.is_none() {
                        c.fail("trigger.segment_id", "no such segment");
                    }
                }
            }
            if trigger.delay_minutes.is_some() {
                c.fail(
                    "trigger.delay_minutes",
                    "a periodic trigger takes segment_id and every_months",
                );
            }
        }
    }
    let _ = kind;
    Ok(())
}

fn set_trigger(am: &mut survey::ActiveModel, trigger: Option<&TriggerSpec>) {
    am.trigger_kind = Set(trigger.map(|t| t.kind.as_str().to_owned()));
    am.trigger_delay_minutes = Set(trigger.and_then(|t| t.delay_minutes));
    am.trigger_segment_id = Set(trigger.and_then(|t| t.segment_id));
    am.trigger_every_months = Set(trigger.and_then(|t| t.every_months));
}

/// Creates a survey as a draft.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn create(db: &impl Store, actor: &Actor, input: NewSurvey) -> AppResult<SurveyView> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let name = c.check("name", parse::name(input.name));
    let language = c
        .opt("default_language", input.default_language, parse::language)
        .unwrap_or_else(|| "en".to_owned());
    let questions = build_questions(
        &mut c,
        input.kind,
        &language,
        input.questions,
        input.score_text,
        input.comment_text,
    );
    let fatigue = input.fatigue.unwrap_or(FatigueMode::Default);
    let kind_days = in_range(&mut c, "fatigue_kind_days", input.fatigue_kind_days, 0..=730);
    let cooldown_days = in_range(&mut c, "fatigue_cooldown_days", input.fatigue_cooldown_days, 0..=365);
    check_fatigue(&mut c, fatigue, kind_days, cooldown_days);
    let expires = in_range(&mut c, "expires_after_hours", input.expires_after_hours, 1..=8_760).unwrap_or(336);
    let reminders = in_range(&mut c, "max_reminders", input.max_reminders, 0..=10).unwrap_or(2);
    if let Some(t) = &input.trigger {
        check_trigger(db, &mut c, t, input.kind).await?;
    }
    c.finish()?;
    let at = now();
    let mut am = survey::ActiveModel {
        id: Set(new_id()),
        name: Set(name.unwrap_or_default()),
        kind: Set(input.kind.as_str().into()),
        status: Set(SurveyStatus::Draft.as_str().into()),
        default_language: Set(language),
        questions: Set(serde_json::to_value(&questions).map_err(|e| AppError::Internal(e.into()))?),
        fatigue: Set(fatigue.as_str().into()),
        fatigue_kind_days: Set(kind_days),
        fatigue_cooldown_days: Set(cooldown_days),
        follow_up_exempt: Set(input.follow_up_exempt.unwrap_or(true)),
        expires_after_hours: Set(expires),
        max_reminders: Set(reminders),
        created_by: Set(actor.sub.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        activated_at: Set(None),
        closed_at: Set(None),
        ..Default::default()
    };
    set_trigger(&mut am, input.trigger.as_ref());
    Ok(to_view(am.insert(db).await?))
}

fn check_fatigue(c: &mut Checker, mode: FatigueMode, kind_days: Option<i32>, cooldown_days: Option<i32>) {
    match mode {
        FatigueMode::Override if kind_days.is_none() && cooldown_days.is_none() => {
            c.fail(
                "fatigue_kind_days",
                "an override gives fatigue_kind_days, fatigue_cooldown_days or both",
            );
        }
        FatigueMode::Default | FatigueMode::Ignore if kind_days.is_some() || cooldown_days.is_some() => {
            c.fail("fatigue", "day counts are given only with `override`");
        }
        _ => {}
    }
}

/// A survey by id.
///
/// # Errors
/// `NotFound`; database failures.
pub(crate) async fn find(db: &impl Store, id: Uuid) -> AppResult<survey::Model> {
    survey::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("survey"))
}

/// Reading survey definitions: staff and partners (no personal data).
fn read_policy(actor: &Actor) -> AppResult<()> {
    policy::read_customers(actor).or_else(|_| policy::read_reports(actor))
}

/// Reads a survey.
///
/// # Errors
/// `Forbidden` for customers; `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<SurveyView> {
    read_policy(actor)?;
    Ok(to_view(find(db, id).await?))
}

/// Lists surveys, newest first.
///
/// # Errors
/// `Forbidden` for customers; `Validation` on bad paging.
pub async fn list(
    db: &impl Store,
    actor: &Actor,
    filter: &SurveyFilter,
    page: &PageRequest,
) -> AppResult<Page<SurveyView>> {
    read_policy(actor)?;
    let mut q = survey::Entity::find();
    if let Some(k) = filter.kind {
        q = q.filter(survey::Column::Kind.eq(k.as_str()));
    }
    if let Some(s) = filter.status {
        q = q.filter(survey::Column::Status.eq(s.as_str()));
    }
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(survey::Column::CreatedAt, survey::Column::Id, after)?);
    }
    let rows = q
        .order_by_desc(survey::Column::CreatedAt)
        .order_by_desc(survey::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(super::paging::page(rows, page.limit, |m: &survey::Model| Cursor {
        key: m.created_at.to_rfc3339(),
        id: m.id,
    })
    .map(to_view))
}

/// Changes a survey: its name, settings, trigger, status (draft → active →
/// closed), and its questions while no response exists.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation`;
/// `Conflict` for a move the lifecycle does not allow or questions changed
/// after a response.
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: SurveyPatch) -> AppResult<SurveyView> {
    policy::manage_customers(actor)?;
    let current = find(db, id).await?;
    let kind = SurveyKind::from_db(&current.kind);
    let mut c = Checker::default();
    let name = c.opt("name", patch.name, parse::name);
    let changes_questions = patch.questions.is_some() || patch.score_text.is_some() || patch.comment_text.is_some();
    let questions = changes_questions.then(|| {
        let stored = questions_of(&current);
        let text_of = |i: usize| stored.get(i).map(|q| q.text.clone());
        build_questions(
            &mut c,
            kind,
            &current.default_language,
            patch.questions,
            patch
                .score_text
                .or_else(|| (kind != SurveyKind::Custom).then(|| text_of(0)).flatten()),
            patch
                .comment_text
                .or_else(|| (kind != SurveyKind::Custom).then(|| text_of(1)).flatten()),
        )
    });
    let fatigue = patch.fatigue.unwrap_or_else(|| FatigueMode::from_db(&current.fatigue));
    let kind_days = in_range(&mut c, "fatigue_kind_days", patch.fatigue_kind_days, 0..=730);
    let cooldown_days = in_range(&mut c, "fatigue_cooldown_days", patch.fatigue_cooldown_days, 0..=365);
    let (kind_days, cooldown_days) = if patch.fatigue.is_some() && fatigue != FatigueMode::Override {
        (kind_days, cooldown_days)
    } else {
        (
            kind_days.or(current.fatigue_kind_days),
            cooldown_days.or(current.fatigue_cooldown_days),
        )
    };
    check_fatigue(&mut c, fatigue, kind_days, cooldown_days);
    let expires = in_range(&mut c, "expires_after_hours", patch.expires_after_hours, 1..=8_760);
    let reminders = in_range(&mut c, "max_reminders", patch.max_reminders, 0..=10);
    if let Some(t) = &patch.trigger {
        if patch.clear_trigger {
            c.fail("clear_trigger", "give a trigger or clear it, not both");
        }
        check_trigger(db, &mut c, t, kind).await?;
    }
    c.finish()?;
    let from = SurveyStatus::from_db(&current.status);
    if let Some(to) = patch.status
        && to != from
    {
        let allowed = matches!(
            (from, to),
            (SurveyStatus::Draft, SurveyStatus::Active) | (SurveyStatus::Active, SurveyStatus::Closed)
        );
        if !allowed {
            return Err(AppError::conflict_on(
                "status",
                format!("a {} survey cannot become {}", from.as_str(), to.as_str()),
            ));
        }
    }
    if questions.is_some() && has_responses(db, id).await? {
        return Err(AppError::conflict_on(
            "questions",
            "questions cannot change once a response exists",
        ));
    }
    let at = now();
    let mut am = current.clone().into_active_model();
    if let Some(name) = name {
        am.name = Set(name);
    }
    if let Some(q) = questions {
        am.questions = Set(serde_json::to_value(&q).map_err(|e| AppError::Internal(e.into()))?);
    }
    am.fatigue = Set(fatigue.as_str().into());
    am.fatigue_kind_days = Set(if fatigue == FatigueMode::Override {
        kind_days
    } else {
        None
    });
    am.fatigue_cooldown_days = Set(if fatigue == FatigueMode::Override {
        cooldown_days
    } else {
        None
    });
    if let Some(v) = patch.follow_up_exempt {
        am.follow_up_exempt = Set(v);
    }
    if let Some(v) = expires {
        am.expires_after_hours = Set(v);
    }
    if let Some(v) = reminders {
        am.max_reminders = Set(v);
    }
    if patch.clear_trigger {
        set_trigger(&mut am, None);
    } else if let Some(t) = &patch.trigger {
        set_trigger(&mut am, Some(t));
    }
    if patch.trigger.is_some() && from == SurveyStatus::Active {
        // A new trigger looks at orders from now on, not back to activation.
        am.trigger_cursor = Set(Some(at));
    }
    match patch.status {
        Some(SurveyStatus::Active) if from == SurveyStatus::Draft => {
            am.status = Set(SurveyStatus::Active.as_str().into());
            am.activated_at = Set(Some(at));
            am.trigger_cursor = Set(Some(at));
        }
        Some(SurveyStatus::Closed) if from == SurveyStatus::Active => {
            am.status = Set(SurveyStatus::Closed.as_str().into());
            am.closed_at = Set(Some(at));
        }
        _ => {}
    }
    am.updated_at = Set(at);
    Ok(to_view(am.update(db).await?))
}

async fn has_responses(db: &impl Store, survey_id: Uuid) -> AppResult<bool> {
    Ok(survey_response::Entity::find()
        .filter(survey_response::Column::SurveyId.eq(survey_id))
        .count(db)
        .await?
        > 0)
}

/// The fatigue windows a survey applies, in days: (same kind, any survey);
/// `None` when it ignores them.
pub(crate) fn fatigue_windows(m: &survey::Model, s: &SurveySettings) -> Option<(i64, i64)> {
    let kind_default = match SurveyKind::from_db(&m.kind) {
        SurveyKind::Nps => s.nps_days,
        SurveyKind::Csat => s.csat_days,
        SurveyKind::Ces => s.ces_days,
        SurveyKind::Custom => s.custom_days,
    };
    match FatigueMode::from_db(&m.fatigue) {
        FatigueMode::Ignore => None,
        FatigueMode::Default => Some((i64::from(kind_default), i64::from(s.cooldown_days))),
        FatigueMode::Override => Some((
            m.fatigue_kind_days.map_or(i64::from(kind_default), i64::from),
            m.fatigue_cooldown_days.map_or(i64::from(s.cooldown_days), i64::from),
        )),
    }
}

/// Texts of a survey's questions, for the customer's language.
pub(crate) fn language_for(m: &survey::Model, preferred: Option<&str>) -> String {
    let questions = questions_of(m);
    let has = |lang: &str| questions.iter().all(|q| q.text.contains_key(lang));
    match preferred {
        Some(p) if has(p) => p.to_owned(),
        Some(p) if has(p.split('-').next().unwrap_or(p)) => p.split('-').next().unwrap_or(p).to_owned(),
        _ => m.default_language.clone(),
    }
}
