//! Surveys without I/O: question definitions, the checking of answers
//! against them, and the statistics of results (NPS, CSAT, CES) with their
//! 95% intervals and the test for a significant change.
//!
//! Intervals use the adjusted-Wald method:
//! - **NPS** (Rocks, 2016): add 3 to n and ¾ to promoters and to
//!   detractors; the adjusted NPS is p′ − d′ and its variance
//!   (p′ + d′ − (p′ − d′)²) / n′; the interval is the adjusted NPS ± 1.96
//!   standard errors, clamped to [−100, 100]. n = 100 with 50 promoters and
//!   20 detractors gives 30 ± 15.1; n = 10, all promoters, ± 29.4 (never ±0).
//! - **CSAT** (a share): Agresti–Coull, add z²/2 successes and z² trials.
//! - **CES** (a mean): the mean ± 1.96 standard errors (normal
//!   approximation, the sample standard deviation), from n = 2.
//!
//! A change between two periods is significant when the two-sample z test on
//! the adjusted figures (difference over the root of the summed variances)
//! exceeds 1.96 in size, that is at the 5% level, two-sided.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::surveys::SurveyKind;
use crate::domain::Checker;

/// The most questions a survey may ask.
pub const MAX_QUESTIONS: usize = 50;
/// The most choices a question may offer.
pub const MAX_CHOICES: usize = 50;
/// The longest question text or choice label, in characters.
pub const MAX_LABEL: usize = 1_000;
/// The most languages one text may come in.
pub const MAX_LANGUAGES: usize = 20;
/// What a question or choice id looks like.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// The longest text answer, in characters.
pub const MAX_TEXT: usize = 5_000;
/// The id of the score question of NPS, CSAT and CES surveys.
pub const SCORE: &str = "score";
/// The id of their comment question.
pub const COMMENT: &str = "comment";
/// z for a two-sided 95% interval.
const Z: f64 = 1.96;

/// Texts by language tag (`en`, `fr`, `zh-CN`).
pub type Texts = BTreeMap<String, String>;

/// One question as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub required: bool,
    pub text: Texts,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

/// What a question asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// A whole number from `min` to `max`.
    Rating { min: i64, max: i64 },
    /// One choice id.
    SingleChoice { choices: Vec<Choice> },
    /// Any number of distinct choice ids (at least one when answered).
    MultipleChoice { choices: Vec<Choice> },
    /// Any number within the bounds given.
    Number { min: Option<f64>, max: Option<f64> },
    /// Free text up to `max_length` characters.
    Text { max_length: usize },
}

/// One choice: answers store its id, never its label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: Texts,
}

/// The score range of a standard kind; `None` for custom surveys.
pub fn score_range(kind: SurveyKind) -> Option<(i64, i64)> {
    match kind {
        SurveyKind::Nps => Some((0, 10)),
        SurveyKind::Csat => Some((1, 5)),
        SurveyKind::Ces => Some((1, 7)),
        SurveyKind::Custom => None,
    }
}

/// The questions of a standard kind: the score (required) and a comment,
/// with the texts given or English defaults.
pub fn standard_questions(kind: SurveyKind, score_text: Texts, comment_text: Texts, language: &str) -> Vec<Question> {
    let Some((min, max)) = score_range(kind) else {
        return Vec::new();
    };
    let or_default = |texts: Texts, default: &str| {
        if texts.is_empty() {
            Texts::from([(language.to_owned(), default.to_owned())])
        } else {
            texts
        }
    };
    let score_default = match kind {
        SurveyKind::Nps => "How likely are you to recommend us to a friend or colleague?",
        SurveyKind::Csat => "How satisfied are you with our service?",
        _ => "How easy was it to get what you needed?",
    };
    vec![
        Question {
            id: SCORE.into(),
            required: true,
            text: or_default(score_text, score_default),
            kind: QuestionKind::Rating { min, max },
        },
        Question {
            id: COMMENT.into(),
            required: false,
            text: or_default(comment_text, "Anything you would like to tell us?"),
            kind: QuestionKind::Text { max_length: MAX_TEXT },
        },
    ]
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks texts by language: language tags, each text one to
/// [`MAX_LABEL`] characters, one in the survey's default language.
pub fn check_texts(c: &mut Checker, path: &str, texts: &Texts, language: &str) {
    if !texts.contains_key(language) {
        c.fail(
            path,
            format!("needs a text in the survey's default language `{language}`"),
        );
    }
    if texts.len() > MAX_LANGUAGES {
        c.fail(path, format!("at most {MAX_LANGUAGES} languages"));
    }
    for (lang, text) in texts {
        if crate::domain::parse::language(lang.clone()).is_err() {
            c.fail(
                path,
                format!("`{lang}` is not a language tag such as \"en\" or \"zh-CN\""),
            );
        } else if let Err(e) = crate::domain::parse::text(text.clone(), MAX_LABEL) {
            c.fail(&format!("{path}.{lang}"), e);
        }
    }
}

/// Checks custom questions, recording every problem under
/// `questions[i]…`.
pub fn check_questions(c: &mut Checker, questions: &[Question], language: &str) {
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        c.fail("questions", format!("must hold 1 to {MAX_QUESTIONS} questions"));
    }
    let mut ids = BTreeSet::new();
    for (i, q) in questions.iter().enumerate() {
        let at = format!("questions[{i}]");
        if !is_id(&q.id) {
            c.fail(&format!("{at}.id"), "must be 1 to 64 letters, digits, `_` or `-`");
        } else if !ids.insert(q.id.as_str()) {
            c.fail(&format!("{at}.id"), "repeats another question's id");
        }
        check_texts(c, &format!("{at}.text"), &q.text, language);
        match &q.kind {
            QuestionKind::Rating { min, max } => {
                if !(0..=100).contains(min) || !(0..=100).contains(max) || min >= max {
                    c.fail(
                        &format!("{at}.max"),
                        "a rating runs from min to max, 0 ≤ min < max ≤ 100",
                    );
                }
            }
            QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => {
                if choices.len() < 2 || choices.len() > MAX_CHOICES {
                    c.fail(
                        &format!("{at}.choices"),
                        format!("must offer 2 to {MAX_CHOICES} choices"),
                    );
                }
                let mut seen = BTreeSet::new();
                for (j, choice) in choices.iter().enumerate() {
                    if !is_id(&choice.id) {
                        c.fail(
                            &format!("{at}.choices[{j}].id"),
                            "must be 1 to 64 letters, digits, `_` or `-`",
                        );
                    } else if !seen.insert(choice.id.as_str()) {
                        c.fail(&format!("{at}.choices[{j}].id"), "repeats another choice's id");
                    }
                    check_texts(c, &format!("{at}.choices[{j}].label"), &choice.label, language);
                }
            }
            QuestionKind::Number { min, max } => {
                let finite = |v: &Option<f64>| v.is_none_or(f64::is_finite);
                if !finite(min) || !finite(max) || matches!((min, max), (Some(a), Some(b)) if a > b) {
                    c.fail(&format!("{at}.max"), "bounds must be finite with min ≤ max");
                }
            }
            QuestionKind::Text { max_length } => {
                if *max_length == 0 || *max_length > MAX_TEXT {
                    c.fail(&format!("{at}.max_length"), format!("must be 1 to {MAX_TEXT}"));
                }
            }
        }
    }
}

/// A checked answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Number(f64),
    Choices(Vec<String>),
    Text(String),
}

impl Answer {
    /// As stored in a response's answers.
    pub fn to_json(&self, kind: &QuestionKind) -> Value {
        match (self, kind) {
            (Self::Number(n), QuestionKind::Rating { .. }) => Value::from(n.round() as i64),
            (Self::Number(n), _) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            (Self::Choices(ids), QuestionKind::SingleChoice { .. }) => Value::from(ids[0].clone()),
            (Self::Choices(ids), _) => Value::from(ids.clone()),
            (Self::Text(t), _) => Value::from(t.clone()),
        }
    }
}

fn check_one(q: &Question, value: &Value) -> Result<Answer, String> {
    match &q.kind {
        QuestionKind::Rating { min, max } => match value.as_i64() {
            Some(n) if (*min..=*max).contains(&n) && !value.is_f64() => Ok(Answer::Number(n as f64)),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
        QuestionKind::Number { min, max } => {
            let n = value.as_f64().ok_or_else(|| "must be a number".to_owned())?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                let bound = |b: &Option<f64>| b.map_or("any".to_owned(), |v| v.to_string());
                return Err(format!("must be from {} to {}", bound(min), bound(max)));
            }
            Ok(Answer::Number(n))
        }
        QuestionKind::SingleChoice { choices } => {
            let id = value.as_str().ok_or_else(|| "must be one choice id".to_owned())?;
            if choices.iter().any(|c| c.id == id) {
                Ok(Answer::Choices(vec![id.to_owned()]))
            } else {
                Err(format!("`{id}` is not a choice of this question"))
            }
        }
        QuestionKind::MultipleChoice { choices } => {
            let list = value
                .as_array()
                .ok_or_else(|| "must be a list of choice ids".to_owned())?;
            let mut ids: Vec<String> = Vec::with_capacity(list.len());
            for item in list {
                let id = item.as_str().ok_or_else(|| "must be a list of choice ids".to_owned())?;
                if !choices.iter().any(|c| c.id == id) {
                    return Err(format!("`{id}` is not a choice of this question"));
                }
                if ids.iter().any(|seen| seen == id) {
                    return Err(format!("`{id}` is given twice"));
                }
                ids.push(id.to_owned());
            }
            if ids.is_empty() {
                return Err("must name at least one choice (or be null to clear it)".into());
            }
            Ok(Answer::Choices(ids))
        }
        QuestionKind::Text { max_length } => {
            let text = value.as_str().ok_or_else(|| "must be text".to_owned())?;
            let text = text.trim();
            if text.chars().count() > *max_length {
                return Err(format!("must be at most {max_length} characters"));
            }
            if text.contains('\0') {
                return Err("must not contain NUL characters".into());
            }
            Ok(Answer::Text(text.to_owned()))
        }
    }
}

/// Merges `given` answers into `stored` ones (a `null` clears an answer),
/// checking each against its question under `answers.<id>`; when
/// `finishing`, every required question must then be answered. Returns the
/// merged answers, checked, in question order.
pub fn merge_answers(
    c: &mut Checker,
    questions: &[Question],
    stored: &serde_json::Map<String, Value>,
    given: &serde_json::Map<String, Value>,
    finishing: bool,
) -> Vec<(String, Answer)> {
    for id in given.keys() {
        if !questions.iter().any(|q| &q.id == id) {
            c.fail(&format!("answers.{id}"), "is not a question of this survey");
        }
    }
    let mut out = Vec::new();
    for q in questions {
        let value = match given.get(&q.id) {
            Some(v) => Some(v),
            None => stored.get(&q.id),
        };
        let answer = match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() && matches!(q.kind, QuestionKind::Text { .. }) => None,
            Some(v) => c.check(&format!("answers.{}", q.id), check_one(q, v)),
        };
        match answer {
            Some(a) => out.push((q.id.clone(), a)),
            None if finishing && q.required && !matches!(value, Some(v) if !v.is_null()) => {
                c.fail(&format!("answers.{}", q.id), "is required");
            }
            None => {}
        }
    }
    out
}

/// The text of `texts` in `language`, else in `fallback`, else any.
pub fn text_in<'a>(texts: &'a Texts, language: Option<&str>, fallback: &str) -> &'a str {
    language
        .and_then(|l| texts.get(l).or_else(|| texts.get(l.split('-').next().unwrap_or(l))))
        .or_else(|| texts.get(fallback))
        .or_else(|| texts.values().next())
        .map_or("", String::as_str)
}

/// The NPS category of a 0–10 score.
pub fn nps_category(score: i64) -> &'static str {
    match score {
        9.. => "promoter",
        7..=8 => "passive",
        _ => "detractor",
    }
}

/// A figure with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The figure as measured (NPS −100…100, a share 0…100, a mean).
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Half the interval's width.
    pub margin: f64,
    /// The adjusted figure the interval is centred on.
    pub adjusted: f64,
    /// The variance of the adjusted figure, for comparisons.
    pub variance: f64,
}

/// NPS from counts; `None` without responses.
pub fn nps(n: i64, promoters: i64, detractors: i64) -> Option<Estimate> {
    if n <= 0 {
        return None;
    }
    let (n, p, d) = (n as f64, promoters as f64, detractors as f64);
    let value = (p - d) / n * 100.0;
    let na = n + 3.0;
    let (pa, da) = ((p + 0.75) / na, (d + 0.75) / na);
    let adjusted = pa - da;
    let variance = ((pa + da - adjusted * adjusted) / na).max(0.0);
    let margin = Z * variance.sqrt() * 100.0;
    let centre = adjusted * 100.0;
    Some(Estimate {
        value,
        low: (centre - margin).max(-100.0),
        high: (centre + margin).min(100.0),
        margin,
        adjusted: centre,
        variance: variance * 10_000.0,
    })
}

/// A share in percent (`hits` of `n`), Agresti–Coull; `None` without responses.
pub fn share(n: i64, hits: i64) -> Option<Estimate> {
    if n <= 0 {
        return None;
    }
    let (n, x) = (n as f64, hits as f64);
    let value = x / n * 100.0;
    let na = n + Z * Z;
    let pa = (x + Z * Z / 2.0) / na;
    let variance = pa * (1.0 - pa) / na;
    let margin = Z * variance.sqrt() * 100.0;
    let centre = pa * 100.0;
    Some(Estimate {
        value,
        low: (centre - margin).max(0.0),
        high: (centre + margin).min(100.0),
        margin,
        adjusted: centre,
        variance: variance * 10_000.0,
    })
}

/// A mean from n, Σx and Σx²; the interval needs two values or more.
pub fn mean(n: i64, sum: f64, sum_sq: f64) -> Option<Estimate> {
    if n <= 0 {
        return None;
    }
    let nf = n as f64;
    let value = sum / nf;
    let (variance, margin) = if n >= 2 {
        let sample_var = ((sum_sq - sum * sum / nf) / (nf - 1.0)).max(0.0);
        let v = sample_var / nf;
        (v, Z * v.sqrt())
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(Estimate {
        value,
        low: value - margin,
        high: value + margin,
        margin,
        adjusted: value,
        variance,
    })
}

/// How a figure moved from the previous period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    /// This period's figure minus the previous one's.
    pub delta: f64,
    /// The z statistic on the adjusted figures.
    pub z: f64,
    /// |z| > 1.96.
    pub significant: bool,
}

/// The change from `before` to `now`; `None` when either is missing or has
/// no variance to test with.
pub fn change(now: Option<Estimate>, before: Option<Estimate>) -> Option<Change> {
    let (now, before) = (now?, before?);
    let se = (now.variance + before.variance).sqrt();
    if !se.is_finite() || se <= 0.0 {
        return None;
    }
    let z = (now.adjusted - before.adjusted) / se;
    Some(Change {
        delta: now.value - before.value,
        z,
        significant: z.abs() > Z,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round1(v: f64) -> f64 {
        (v * 10.0).round() / 10.0
    }

    #[test]
    fn nps_reference_values() {
        let e = nps(100, 50, 20).unwrap();
        assert_eq!(round1(e.value), 30.0);
        assert_eq!(round1(e.margin), 15.1);
        let all = nps(10, 10, 0).unwrap();
        assert_eq!(all.value, 100.0);
        assert_eq!(round1(all.margin), 29.4);
        assert!(all.high <= 100.0 && all.low < 100.0);
        assert!(nps(0, 0, 0).is_none());
        let one = nps(1, 0, 1).unwrap();
        assert_eq!(one.value, -100.0);
        assert!(one.margin > 0.0 && one.low >= -100.0);
    }

    #[test]
    fn shares_and_means() {
        let s = share(100, 80).unwrap();
        assert_eq!(s.value, 80.0);
        assert!(s.low > 70.0 && s.high < 88.0, "{s:?}");
        let all = share(5, 5).unwrap();
        assert!(all.margin > 0.0 && all.high <= 100.0);
        let m = mean(4, 20.0, 104.0).unwrap();
        assert_eq!(m.value, 5.0);
        // sample variance (104 - 100) / 3, standard error sqrt(4/3/4)
        assert!((m.margin - 1.96 * (1.0_f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!(mean(1, 3.0, 9.0).unwrap().margin.is_nan());
    }

    #[test]
    fn changes_are_tested_on_the_adjusted_figures() {
        let big = change(nps(400, 240, 40), nps(400, 120, 120)).unwrap();
        assert!(big.significant && big.delta > 0.0, "{big:?}");
        let small = change(nps(50, 25, 10), nps(50, 24, 10)).unwrap();
        assert!(!small.significant, "{small:?}");
        assert!(change(nps(0, 0, 0), nps(10, 5, 1)).is_none());
    }

    #[test]
    fn answers_are_checked_against_their_questions() {
        let questions = vec![
            Question {
                id: "q".into(),
                required: true,
                text: Texts::from([("en".into(), "Pick".into())]),
                kind: QuestionKind::SingleChoice {
                    choices: vec![
                        Choice {
                            id: "a".into(),
                            label: Texts::new(),
                        },
                        Choice {
                            id: "b".into(),
                            label: Texts::new(),
                        },
                    ],
                },
            },
            Question {
                id: "r".into(),
                required: false,
                text: Texts::new(),
                kind: QuestionKind::Rating { min: 1, max: 5 },
            },
        ];
        let mut c = Checker::default();
        let given = serde_json::json!({"q": "c", "r": 6, "x": 1});
        merge_answers(
            &mut c,
            &questions,
            &Default::default(),
            given.as_object().unwrap(),
            true,
        );
        let err = c.finish().unwrap_err();
        let paths: Vec<String> = err.field_errors().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["answers.x", "answers.q", "answers.r"]);
        let mut c = Checker::default();
        let stored = serde_json::json!({"q": "a"});
        let merged = merge_answers(
            &mut c,
            &questions,
            stored.as_object().unwrap(),
            serde_json::json!({"r": 4}).as_object().unwrap(),
            true,
        );
        assert!(c.finish().is_ok());
        assert_eq!(merged.len(), 2);
        let mut c = Checker::default();
        merge_answers(
            &mut c,
            &questions,
            &Default::default(),
            serde_json::json!({"r": 2.5}).as_object().unwrap(),
            true,
        );
        let paths: Vec<String> = c
            .finish()
            .unwrap_err()
            .field_errors()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(paths, ["answers.q", "answers.r"]);
    }
}
