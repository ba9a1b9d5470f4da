//! RFM labels and the scoring method.
//!
//! Scores: each of recency, frequency and monetary is scored 1–5 by its
//! cumulative distribution across all customers with at least one completed
//! order: `score = ceil(5 × (customers with a value at most this one) / n)`
//! (for recency, "at most" means "at least as many days ago", so the most
//! recent buyers score 5). Customers with equal values always share a score,
//! the higher one.
//!
//! Labels come from R and FM, where `FM = ceil((F + M) / 2)`:
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New | Potential Loyalist | Loyal | Champions | Champions |
//! | 4 | Promising | Potential Loyalist | Loyal | Champions | Champions |
//! | 3 | Promising | Need Attention | Loyal | Loyal | Loyal |
//! | 2 | About to Sleep | About to Sleep | At Risk | At Risk | At Risk |
//! | 1 | Lost | Hibernating | At Risk | Cannot Lose | Cannot Lose |

use serde::{Deserialize, Serialize};

/// The eleven standard RFM labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmLabel {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CannotLose,
    Hibernating,
    Lost,
}

impl RfmLabel {
    /// Every label, in the order reports list them.
    pub const ALL: [RfmLabel; 11] = [
        Self::Champions,
        Self::Loyal,
        Self::PotentialLoyalist,
        Self::New,
        Self::Promising,
        Self::NeedAttention,
        Self::AboutToSleep,
        Self::AtRisk,
        Self::CannotLose,
        Self::Hibernating,
        Self::Lost,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Champions => "champions",
            Self::Loyal => "loyal",
            Self::PotentialLoyalist => "potential_loyalist",
            Self::New => "new",
            Self::Promising => "promising",
            Self::NeedAttention => "need_attention",
            Self::AboutToSleep => "about_to_sleep",
            Self::AtRisk => "at_risk",
            Self::CannotLose => "cannot_lose",
            Self::Hibernating => "hibernating",
            Self::Lost => "lost",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }
}

use RfmLabel::*;

/// Rows R = 5 down to 1, columns FM = 1 to 5.
const GRID: [[RfmLabel; 5]; 5] = [
    [New, PotentialLoyalist, Loyal, Champions, Champions],
    [Promising, PotentialLoyalist, Loyal, Champions, Champions],
    [Promising, NeedAttention, Loyal, Loyal, Loyal],
    [AboutToSleep, AboutToSleep, AtRisk, AtRisk, AtRisk],
    [Lost, Hibernating, AtRisk, CannotLose, CannotLose],
];

/// The label grid as a Markdown table (R rows from 5 down, FM columns 1–5),
/// for the API documentation.
pub fn grid_markdown() -> String {
    let mut out = String::from("| R \\ FM | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|\n");
    for (i, row) in GRID.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(|l| l.as_str()).collect();
        out.push_str(&format!("| {} | {} |\n", 5 - i, cells.join(" | ")));
    }
    out
}

/// `ceil((f + m) / 2)`.
pub fn fm(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// The label for scores in 1..=5 (out-of-range scores are clamped).
pub fn label(r: u8, f: u8, m: u8) -> RfmLabel {
    let r = r.clamp(1, 5);
    let fm = fm(f.clamp(1, 5), m.clamp(1, 5));
    GRID[(5 - r) as usize][(fm - 1) as usize]
}

/// A SQL `CASE` computing the label from integer expressions `r` and `fm`,
/// generated from the same grid so SQL and Rust cannot disagree.
pub fn label_case_sql(r: &str, fm: &str) -> String {
    let mut sql = String::from("CASE");
    for (row, labels) in GRID.iter().enumerate() {
        for (col, l) in labels.iter().enumerate() {
            sql.push_str(&format!(
                " WHEN {r} = {} AND {fm} = {} THEN '{}'",
                5 - row,
                col + 1,
                l.as_str()
            ));
        }
    }
    sql.push_str(" END");
    sql
}

/// `ceil(5 × rank / n)` for 1 ≤ rank ≤ n, the score of a cumulative rank.
pub fn score(rank: u64, n: u64) -> u8 {
    if n == 0 {
        return 1;
    }
    u8::try_from((5 * rank).div_ceil(n)).unwrap_or(5).clamp(1, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_reachable_and_the_corners_are_right() {
        assert_eq!(label(5, 5, 5), Champions);
        assert_eq!(label(1, 5, 5), CannotLose);
        assert_eq!(label(1, 1, 1), Lost);
        assert_eq!(label(5, 1, 1), New);
        assert_eq!(label(3, 1, 1), Promising);
        assert_eq!(label(3, 2, 1), NeedAttention, "FM = ceil(3 / 2) = 2");
        for l in RfmLabel::ALL {
            assert!(GRID.iter().flatten().any(|g| *g == l), "{l:?} unreachable");
        }
    }

    #[test]
    fn scores_are_cumulative_quintiles() {
        assert_eq!(score(1, 10), 1);
        assert_eq!(score(2, 10), 1);
        assert_eq!(score(3, 10), 2);
        assert_eq!(score(10, 10), 5);
        assert_eq!(score(1, 1), 5);
    }

    #[test]
    fn the_sql_case_covers_all_25_cells() {
        assert_eq!(label_case_sql("r", "fm").matches(" WHEN ").count(), 25);
    }
}
