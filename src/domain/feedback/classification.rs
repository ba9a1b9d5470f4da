//! Deciding severity when nobody says: keywords, the key-tier rule, each kind's floor.

use super::rank;
use crate::contract::feedback::{FeedbackKind, Severity};

/// A severity and the rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub severity: Severity,
    /// `explicit`, `keyword:<word>`, `tier:key`, `kind:<kind>`.
    pub rule: String,
}

/// Whether `keyword` occurs in `text` (both lower case): ASCII keywords as
/// whole words, others (Chinese) anywhere.
fn mentions(text: &str, keyword: &str) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !keyword.is_ascii() {
        return text.contains(keyword);
    }
    text.match_indices(keyword).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + keyword.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// How severity is decided when none is given (the settings document
/// `ClassificationSettings` is read into this at the service boundary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassificationRules {
    pub urgent_keywords: Vec<String>,
    pub important_keywords: Vec<String>,
    pub key_tier_severity: Severity,
    pub key_tier_kinds: Vec<FeedbackKind>,
    /// The lowest severity of each listed kind.
    pub kind_floors: Vec<(FeedbackKind, Severity)>,
}

impl Default for ClassificationRules {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Self {
            urgent_keywords: words(&[
                "safety",
                "unsafe",
                "injury",
                "injured",
                "hurt",
                "fraud",
                "fraudulent",
                "scam",
                "data leak",
                "data breach",
                "leaked",
                "privacy breach",
                "fire",
                "poisoning",
                "安全",
                "受伤",
                "伤害",
                "欺诈",
                "诈骗",
                "盗刷",
                "数据泄露",
                "泄露",
                "起火",
                "中毒",
            ]),
            important_keywords: words(&[
                "refund",
                "cancel",
                "broken",
                "lawyer",
                "complaint",
                "退款",
                "投诉",
                "损坏",
                "律师",
            ]),
            key_tier_severity: Severity::Important,
            key_tier_kinds: vec![FeedbackKind::Complaint, FeedbackKind::Incident, FeedbackKind::Question],
            kind_floors: vec![
                (FeedbackKind::Complaint, Severity::Important),
                (FeedbackKind::Incident, Severity::Important),
            ],
        }
    }
}

/// Decides the severity of new feedback: an explicit one stands; otherwise
/// the strongest of keywords, the key-tier rule and the kind's floor, the
/// earlier rule winning a tie.
pub fn classify(
    rules: &ClassificationRules,
    explicit: Option<Severity>,
    kind: FeedbackKind,
    key_customer: bool,
    text: &str,
) -> Classification {
    if let Some(severity) = explicit {
        return Classification {
            severity,
            rule: "explicit".into(),
        };
    }
    let text = text.to_lowercase();
    let keyword = |list: &[String], severity| {
        list.iter()
            .find(|k| mentions(&text, &k.to_lowercase()))
            .map(|k| Classification {
                severity,
                rule: format!("keyword:{k}"),
            })
    };
    let candidates = [
        keyword(&rules.urgent_keywords, Severity::Urgent),
        keyword(&rules.important_keywords, Severity::Important),
        (key_customer && rules.key_tier_kinds.contains(&kind)).then(|| Classification {
            severity: rules.key_tier_severity,
            rule: "tier:key".into(),
        }),
        Some(Classification {
            severity: rules
                .kind_floors
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(Severity::General, |(_, severity)| *severity),
            rule: format!("kind:{}", kind.as_str()),
        }),
    ];
    let mut best: Option<Classification> = None;
    for c in candidates.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| rank(c.severity) > rank(b.severity)) {
            best = Some(c);
        }
    }
    best.unwrap_or(Classification {
        severity: Severity::General,
        rule: format!("kind:{}", kind.as_str()),
    })
}
