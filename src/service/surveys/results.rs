//! Results: counted in SQL as score histograms (per interval, per group),
//! turned into NPS, CSAT and means with their intervals here (see
//! `domain::surveys`), and the responses themselves, paged and masked.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use entity::survey_response;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::invitations::{owned_by, reader_scope};
use super::{find, questions_of, settings};
use crate::auth::{Actor, Role};
use crate::contract::Page;
use crate::contract::surveys::{
    ChangeView, EstimateView, Figures, GroupFigures, QuestionResult, ResponseFilter, ResponseStatus, ResponseView,
    ResultsGroup, ResultsInterval, ResultsQuery, SurveyChannel, SurveyKind, SurveyResults, TrendPoint, ValueCount,
};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::surveys::{self as rules, Estimate, QuestionKind};
use crate::error::{AppError, AppResult};
use crate::service::paging::before_cursor;
use crate::service::{Store, mask, now};

/// The most intervals one trend may have.
const MAX_INTERVALS: i64 = 520;

/// Counts of each score (None for responses without one).
#[derive(Clone, Debug, Default)]
struct Histogram(BTreeMap<Option<i64>, i64>);

impl Histogram {
    fn add(&mut self, score: Option<i64>, n: i64) {
        *self.0.entry(score).or_default() += n;
    }

    fn merge(&mut self, other: &Self) {
        for (k, v) in &other.0 {
            self.add(*k, *v);
        }
    }

    fn responses(&self) -> i64 {
        self.0.values().sum()
    }

    fn scored(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.0.iter().filter_map(|(k, v)| k.map(|k| (k, *v)))
    }

    fn count(&self, keep: impl Fn(i64) -> bool) -> i64 {
        self.scored().filter(|(k, _)| keep(*k)).map(|(_, v)| v).sum()
    }
}

fn estimate(e: Estimate) -> EstimateView {
    let r = |v: f64| if v.is_finite() { (v * 10.0).round() / 10.0 } else { 0.0 };
    EstimateView {
        value: r(e.value),
        low: r(e.low),
        high: r(e.high),
        margin: r(e.margin),
    }
}

/// The figures of a histogram, and its main estimate (for changes).
fn figures(kind: SurveyKind, h: &Histogram, min_responses: u32) -> (Figures, Option<Estimate>) {
    let n: i64 = h.scored().map(|(_, v)| v).sum();
    let responses = if rules::score_range(kind).is_some() {
        n
    } else {
        h.responses()
    };
    let (sum, sum_sq) = h.scored().fold((0.0, 0.0), |(s, q), (k, v)| {
        let (k, v) = (k as f64, v as f64);
        (s + k * v, q + k * k * v)
    });
    let mut f = Figures {
        responses,
        insufficient_data: responses < i64::from(min_responses),
        ..Figures::default()
    };
    let main = match kind {
        SurveyKind::Nps => {
            let (p, d) = (h.count(|s| s >= 9), h.count(|s| s <= 6));
            f.promoters = Some(p);
            f.detractors = Some(d);
            f.passives = Some(n - p - d);
            let e = rules::nps(n, p, d);
            f.nps = e.map(estimate);
            e
        }
        SurveyKind::Csat => {
            let e = rules::share(n, h.count(|s| s >= 4));
            f.csat = e.map(estimate);
            e
        }
        SurveyKind::Ces => rules::mean(n, sum, sum_sq),
        SurveyKind::Custom => None,
    };
    if rules::score_range(kind).is_some() {
        f.mean = rules::mean(n, sum, sum_sq).map(estimate);
    }
    (f, main)
}

/// The start of the interval holding `t` (weeks start on Monday, UTC).
fn interval_start(t: DateTime<Utc>, interval: ResultsInterval) -> NaiveDate {
    let d = t.date_naive();
    match interval {
        ResultsInterval::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        ResultsInterval::Month => d.with_day(1).unwrap_or(d),
    }
}

fn next_start(d: NaiveDate, interval: ResultsInterval) -> NaiveDate {
    match interval {
        ResultsInterval::Week => d + Duration::days(7),
        ResultsInterval::Month => d.checked_add_months(chrono::Months::new(1)).unwrap_or(d),
    }
}

/// SQL for the interval start of `started_at`, as `YYYY-MM-DD`.
fn bucket_sql(backend: DbBackend, interval: ResultsInterval) -> &'static str {
    match (backend, interval) {
        (DbBackend::Postgres, ResultsInterval::Week) => {
            "to_char(date_trunc('week', r.started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        }
        (DbBackend::Postgres, ResultsInterval::Month) => {
            "to_char(date_trunc('month', r.started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        }
        (_, ResultsInterval::Week) => "date(r.started_at, 'weekday 0', '-6 days')",
        (_, ResultsInterval::Month) => "strftime('%Y-%m-01', r.started_at)",
    }
}

/// The responses counted: the survey's, started in the period, and for an
/// agent only those of the customers it owns. `$1` survey, `$2` from, `$3`
/// to, `$4` the owner when scoped.
fn scope_sql(owner: bool) -> &'static str {
    if owner {
        "r.survey_id = $1 AND r.started_at >= $2 AND r.started_at < $3
         AND r.customer_id IN (SELECT id FROM customer WHERE owner_id = $4)"
    } else {
        "r.survey_id = $1 AND r.started_at >= $2 AND r.started_at < $3"
    }
}

struct Scope {
    backend: DbBackend,
    values: Vec<sea_orm::Value>,
    owner: bool,
}

impl Scope {
    fn statement(&self, sql: &str) -> Statement {
        let sql = if self.backend == DbBackend::Postgres {
            sql.to_owned()
        } else {
            // SQLite numbers its parameters `?1`, `?2`, …
            sql.replace('$', "?")
        };
        Statement::from_sql_and_values(self.backend, sql, self.values.clone())
    }
}

/// Histograms by key: `key_sql` is the grouping expression, `joins` what it needs.
async fn histograms(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    key_sql: &str,
    joins: &str,
    uuid_key: bool,
) -> AppResult<BTreeMap<String, Histogram>> {
    let sql = format!(
        "SELECT {key_sql} AS k, r.score AS s, COUNT(*) AS n FROM survey_response r {joins}
         WHERE {scope} GROUP BY {key_sql}, r.score",
        scope = scope_sql(scope.owner)
    );
    let rows = conn.query_all_raw(scope.statement(&sql)).await?;
    let mut out: BTreeMap<String, Histogram> = BTreeMap::new();
    for row in rows {
        let key = if uuid_key {
            row.try_get::<Option<Uuid>>("", "k")?.map(|u| u.to_string())
        } else {
            row.try_get::<Option<String>>("", "k")?
        }
        .unwrap_or_else(|| "none".to_owned());
        let score: Option<i32> = row.try_get("", "s")?;
        let n: i64 = row.try_get("", "n")?;
        out.entry(key).or_default().add(score.map(i64::from), n);
    }
    Ok(out)
}

/// Who may read results: staff (agents for the customers they own) and
/// partners; partners and analysts see small groups suppressed.
fn results_scope(actor: &Actor) -> AppResult<(Option<String>, bool)> {
    match actor.role {
        Role::Partner => Ok((None, true)),
        Role::Customer => Err(AppError::Forbidden),
        _ => {
            let owner = reader_scope(actor)?;
            Ok((owner, actor.role == Role::Analyst))
        }
    }
}

/// A survey's results over a period: response count and rate, NPS / CSAT /
/// mean with 95% intervals, the trend per week or month (empty intervals
/// as n = 0, each with its change against the previous one and whether that
/// change is significant), an optional breakdown, and each question's
/// distribution.
///
/// # Errors
/// `Forbidden` for customers; `NotFound`; `Validation` for a bad period.
pub async fn results(db: &impl Store, actor: &Actor, survey_id: Uuid, q: ResultsQuery) -> AppResult<SurveyResults> {
    let (owner, suppress) = results_scope(actor)?;
    let s = find(db, survey_id).await?;
    let kind = SurveyKind::from_db(&s.kind);
    let interval = q.interval.unwrap_or(ResultsInterval::Month);
    let to = q.to.unwrap_or_else(now);
    let from = match q.from {
        Some(f) => f,
        None => {
            let mut start = interval_start(to, interval);
            for _ in 0..11 {
                start = match interval {
                    ResultsInterval::Week => start - Duration::days(7),
                    ResultsInterval::Month => start.checked_sub_months(chrono::Months::new(1)).unwrap_or(start),
                };
            }
            Utc.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN))
        }
    };
    if from >= to {
        return Err(AppError::field("from", "must be before to"));
    }
    let span_days = (to - from).num_days();
    let limit_days = match interval {
        ResultsInterval::Week => MAX_INTERVALS * 7,
        ResultsInterval::Month => MAX_INTERVALS * 31,
    };
    if span_days > limit_days {
        return Err(AppError::field(
            "from",
            format!("the period may hold at most {MAX_INTERVALS} intervals"),
        ));
    }
    let rules_in_force = settings(db).await?;
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![survey_id.into(), from.into(), to.into()];
    if let Some(o) = &owner {
        values.push(o.clone().into());
    }
    let scope = Scope {
        backend,
        values,
        owner: owner.is_some(),
    };
    // The trend, and everything overall, from one histogram per interval.
    let by_interval = histograms(db, &scope, bucket_sql(backend, interval), "", false).await?;
    let mut overall = Histogram::default();
    for h in by_interval.values() {
        overall.merge(h);
    }
    let min_n = rules_in_force.min_responses;
    let mut trend = Vec::new();
    let mut start = interval_start(from, interval);
    let mut previous: Option<Option<Estimate>> = None;
    while Utc.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN)) < to {
        let h = by_interval
            .get(&start.format("%Y-%m-%d").to_string())
            .cloned()
            .unwrap_or_default();
        let (f, main) = figures(kind, &h, min_n);
        let change = previous.and_then(|p| rules::change(main, p)).map(|c| ChangeView {
            delta: (c.delta * 10.0).round() / 10.0,
            z: (c.z * 100.0).round() / 100.0,
            significant: c.significant,
        });
        trend.push(TrendPoint {
            start: Utc.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN)),
            figures: f,
            change_vs_previous: change,
        });
        previous = Some(main);
        start = next_start(start, interval);
    }
    let mut groups = Vec::new();
    if let Some(g) = q.group_by {
        let (key, joins, uuid_key) = match g {
            ResultsGroup::Tier => ("c.value_tier", "JOIN customer c ON c.id = r.customer_id", false),
            ResultsGroup::Owner => ("c.owner_id", "JOIN customer c ON c.id = r.customer_id", false),
            ResultsGroup::Channel => ("r.channel", "", false),
            ResultsGroup::Segment => (
                "m.segment_id",
                "JOIN segment_member m ON m.customer_id = r.customer_id",
                true,
            ),
            ResultsGroup::FeedbackCategory => (
                "f.root_cause",
                "LEFT JOIN feedback_item f ON f.id = r.feedback_id",
                false,
            ),
        };
        let min_group = i64::from(rules_in_force.min_group_size.max(3));
        for (k, h) in histograms(db, &scope, key, joins, uuid_key).await? {
            let (f, _) = figures(kind, &h, min_n);
            let small = suppress && f.responses < min_group;
            groups.push(GroupFigures {
                key: k,
                suppressed: small,
                figures: if small { Figures::default() } else { f },
            });
        }
    }
    let (invited, responded) = invitation_counts(db, &scope).await?;
    let questions = if actor.role == Role::Partner {
        Vec::new()
    } else {
        question_results(db, &scope, &s, &overall).await?
    };
    let (f, _) = figures(kind, &overall, min_n);
    Ok(SurveyResults {
        survey_id,
        kind,
        from,
        to,
        invited,
        response_rate: rules::share(invited, responded).map(estimate),
        figures: f,
        interval,
        trend,
        group_by: q.group_by,
        groups,
        questions,
    })
}

/// Invitations sent in the period, and how many of them have a response.
async fn invitation_counts(conn: &impl ConnectionTrait, scope: &Scope) -> AppResult<(i64, i64)> {
    let owned = if scope.owner {
        " AND i.customer_id IN (SELECT id FROM customer WHERE owner_id = $4)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT COUNT(*) AS n, COUNT(CASE WHEN i.status <> 'pending' THEN 1 END) AS answered
         FROM survey_invitation i WHERE i.survey_id = $1 AND i.sent_at >= $2 AND i.sent_at < $3{owned}"
    );
    let row = conn.query_one_raw(scope.statement(&sql)).await?;
    Ok(match row {
        Some(r) => (r.try_get("", "n")?, r.try_get("", "answered")?),
        None => (0, 0),
    })
}

/// A choice or a value of one question, and how often it was given.
type AnswerCount = (Option<String>, Option<f64>, i64);

/// Each question's distribution: a standard survey's score from the
/// histogram already counted; a custom survey's from its answer rows.
async fn question_results(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    s: &entity::survey::Model,
    overall: &Histogram,
) -> AppResult<Vec<QuestionResult>> {
    let questions = questions_of(s);
    let kind = SurveyKind::from_db(&s.kind);
    if rules::score_range(kind).is_some() {
        let n: i64 = overall.scored().map(|(_, v)| v).sum();
        let sum: f64 = overall.scored().map(|(k, v)| (k * v) as f64).sum();
        return Ok(vec![QuestionResult {
            question_id: rules::SCORE.into(),
            answered: n,
            counts: overall
                .scored()
                .map(|(k, v)| ValueCount {
                    value: k.to_string(),
                    count: v,
                })
                .collect(),
            mean: (n > 0).then(|| ((sum / n as f64) * 100.0).round() / 100.0),
        }]);
    }
    let sql = format!(
        "SELECT a.question_id AS q, a.choice_id AS c, a.value AS v, COUNT(*) AS n
         FROM survey_answer a JOIN survey_response r ON r.id = a.response_id
         WHERE a.survey_id = $1 AND {scope} GROUP BY a.question_id, a.choice_id, a.value",
        scope = scope_sql(scope.owner)
    );
    let rows = conn.query_all_raw(scope.statement(&sql)).await?;
    let mut by_question: BTreeMap<String, Vec<AnswerCount>> = BTreeMap::new();
    for row in rows {
        by_question.entry(row.try_get("", "q")?).or_default().push((
            row.try_get("", "c")?,
            row.try_get("", "v")?,
            row.try_get("", "n")?,
        ));
    }
    Ok(questions
        .iter()
        .map(|q| {
            let rows = by_question.remove(&q.id).unwrap_or_default();
            let (mut counts, mut answered, mut sum, mut numbers) = (BTreeMap::new(), 0_i64, 0.0, 0_i64);
            for (choice, value, n) in rows {
                match (&q.kind, choice, value) {
                    (QuestionKind::Rating { .. }, _, Some(v)) => {
                        *counts.entry(format!("{}", v as i64)).or_insert(0) += n;
                        answered += n;
                        sum += v * n as f64;
                        numbers += n;
                    }
                    (QuestionKind::Number { .. }, _, Some(v)) => {
                        answered += n;
                        sum += v * n as f64;
                        numbers += n;
                    }
                    (QuestionKind::SingleChoice { .. } | QuestionKind::MultipleChoice { .. }, Some(c), _) => {
                        *counts.entry(c).or_insert(0) += n;
                    }
                    (QuestionKind::Text { .. }, _, _) => answered += n,
                    _ => {}
                }
            }
            if matches!(q.kind, QuestionKind::SingleChoice { .. }) {
                answered = counts.values().sum();
            }
            QuestionResult {
                question_id: q.id.clone(),
                answered,
                counts: counts
                    .into_iter()
                    .map(|(value, count)| ValueCount { value, count })
                    .collect(),
                mean: (numbers > 0).then(|| ((sum / numbers as f64) * 100.0).round() / 100.0),
            }
        })
        .collect())
}

/// Shapes a response as `actor` may see it: comments and text answers
/// masked for analysts.
pub fn to_view(m: survey_response::Model, actor: &Actor) -> ResponseView {
    let mut answers: Map<String, Value> = m.answers.as_object().cloned().unwrap_or_default();
    if actor.masks_personal_data() {
        for v in answers.values_mut() {
            if let Value::String(text) = v {
                *text = mask::text(text);
            }
        }
    }
    ResponseView {
        id: m.id,
        survey_id: m.survey_id,
        invitation_id: m.invitation_id,
        customer_id: m.customer_id,
        status: ResponseStatus::from_db(&m.status),
        score: m.score,
        comment: m.comment.map(|c| mask::text_for(actor, c)),
        answers: async_graphql::Json(answers),
        language: m.language,
        channel: SurveyChannel::from_db(&m.channel),
        feedback_id: m.feedback_id,
        opened_feedback_id: m.opened_feedback_id,
        started_at: m.started_at,
        updated_at: m.updated_at,
        finished_at: m.finished_at,
    }
}

/// A survey's responses, newest first.
///
/// # Errors
/// `Forbidden` for partners and customers; `NotFound`; `Validation` on bad paging.
pub async fn list_responses(
    db: &impl Store,
    actor: &Actor,
    survey_id: Uuid,
    filter: &ResponseFilter,
    page: &PageRequest,
) -> AppResult<Page<ResponseView>> {
    let owner = reader_scope(actor)?;
    find(db, survey_id).await?;
    let mut q = survey_response::Entity::find().filter(survey_response::Column::SurveyId.eq(survey_id));
    if let Some(o) = &owner {
        q = q.filter(owned_by(survey_response::Column::CustomerId, o));
    }
    if let Some(s) = filter.status {
        q = q.filter(survey_response::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = filter.customer_id {
        q = q.filter(survey_response::Column::CustomerId.eq(c));
    }
    if let Some(f) = filter.from {
        q = q.filter(survey_response::Column::StartedAt.gte(f));
    }
    if let Some(t) = filter.to {
        q = q.filter(survey_response::Column::StartedAt.lt(t));
    }
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            survey_response::Column::StartedAt,
            survey_response::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(survey_response::Column::StartedAt)
        .order_by_desc(survey_response::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(
        crate::service::paging::page(rows, page.limit, |m: &survey_response::Model| Cursor {
            key: m.started_at.to_rfc3339(),
            id: m.id,
        })
        .map(|m| to_view(m, actor)),
    )
}

/// A page of a customer's responses for its timeline, newest first.
///
/// # Errors
/// `Validation` on a bad cursor; database failures.
pub async fn responses_for_timeline(
    db: &impl Store,
    customer_id: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<survey_response::Model>> {
    let mut q = survey_response::Entity::find().filter(survey_response::Column::CustomerId.eq(customer_id));
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            survey_response::Column::StartedAt,
            survey_response::Column::Id,
            after,
        )?);
    }
    Ok(q.order_by_desc(survey_response::Column::StartedAt)
        .order_by_desc(survey_response::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}
