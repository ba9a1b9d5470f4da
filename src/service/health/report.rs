//! The monthly health report: customers per level by their last score in
//! the month, who moved between levels since the month before, the
//! at-risk customers worth most, and churn and win-backs with their
//! reasons — each one aggregate statement over the stored history.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use sea_orm::QueryResult;
use uuid::Uuid;

use crate::auth::{Actor, Role, policy};
use crate::contract::customers::{ChurnReason, LifecycleStage};
use crate::contract::health::{
    AtRiskCustomer, HealthLevel, HealthReport, HealthReportQuery, LevelCount, LevelMove, MovedCustomer, ReasonCount,
};
use crate::error::{AppError, AppResult};
use crate::service::window::Sql;
use crate::service::{Store, mask, now};

/// Moved customers listed.
const MOVED: u32 = 100;
/// At-risk customers listed.
const TOP_AT_RISK: u32 = 20;

/// Each live customer's last score in the window, as `cur (customer_id, at)`.
const CUR: &str = "cur AS (SELECT s.customer_id, MAX(s.computed_at) AS at FROM health_score s
     JOIN customer live ON live.id = s.customer_id AND live.deleted_at IS NULL
     WHERE s.computed_at >= $1 AND s.computed_at < $2 GROUP BY s.customer_id)";
/// Each customer's last score before the window, as `prev`.
const PREV: &str = "prev AS (SELECT customer_id, MAX(computed_at) AS at FROM health_score
     WHERE computed_at < $1 GROUP BY customer_id)";
/// Each customer's level at the end of the window (`c`) and before it (`p`).
const MOVES: &str = "cur JOIN customer cu ON cu.id = cur.customer_id
     JOIN health_score c ON c.customer_id = cur.customer_id AND c.computed_at = cur.at
     JOIN prev ON prev.customer_id = cur.customer_id
     JOIN health_score p ON p.customer_id = prev.customer_id AND p.computed_at = prev.at
     WHERE p.level <> c.level";

/// The first instant of a `YYYY-MM` month and of the next.
fn month_bounds(month: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
    Some((at(first), at(next)))
}

fn level(r: &QueryResult, i: usize) -> AppResult<HealthLevel> {
    Ok(HealthLevel::from_db(&r.try_get_by_index::<String>(i)?))
}

/// The name a reader may see: masked for analysts, none for partners.
fn name_for(actor: &Actor, name: String) -> Option<String> {
    match actor.role {
        Role::Partner => None,
        _ if actor.masks_personal_data() => Some(mask::name(&name)),
        _ => Some(name),
    }
}

async fn reasons(
    sql: &Sql<'_, impl sea_orm::ConnectionTrait>,
    to: LifecycleStage,
) -> AppResult<(i64, Vec<ReasonCount>)> {
    let rows = sql
        .rows(&format!(
            "SELECT reason, COUNT(*) FROM customer_stage_change
             WHERE to_stage = '{}' AND changed_at >= $1 AND changed_at < $2 GROUP BY reason ORDER BY 2 DESC, 1",
            to.as_str()
        ))
        .await?;
    let counts: Vec<ReasonCount> = rows
        .iter()
        .map(|r| {
            Ok(ReasonCount {
                reason: r
                    .try_get_by_index::<Option<String>>(0)?
                    .as_deref()
                    .map(ChurnReason::from_db),
                count: r.try_get_by_index(1)?,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok((counts.iter().map(|c| c.count).sum(), counts))
}

/// The health report of one month (the current one by default).
///
/// # Errors
/// `Forbidden` for agents and customers; `Validation` on `month`.
pub async fn monthly(db: &impl Store, actor: &Actor, q: &HealthReportQuery) -> AppResult<HealthReport> {
    policy::read_reports(actor)?;
    let month = q.month.clone().unwrap_or_else(|| now().format("%Y-%m").to_string());
    let (from, to) = month_bounds(&month).ok_or_else(|| AppError::field("month", "must be a month such as 2026-11"))?;
    let sql = Sql::new(db, from, to);
    let levels = sql
        .rows(&format!(
            "WITH {CUR} SELECT h.level, COUNT(*) FROM cur
             JOIN health_score h ON h.customer_id = cur.customer_id AND h.computed_at = cur.at GROUP BY h.level"
        ))
        .await?;
    let mut per_level: Vec<(HealthLevel, i64)> = Vec::new();
    for r in &levels {
        per_level.push((level(r, 0)?, r.try_get_by_index(1)?));
    }
    let moves = sql
        .rows(&format!(
            "WITH {CUR}, {PREV} SELECT p.level, c.level, COUNT(*) FROM {MOVES}
             GROUP BY p.level, c.level ORDER BY 3 DESC, 1, 2"
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(LevelMove {
                from: level(r, 0)?,
                to: level(r, 1)?,
                count: r.try_get_by_index(2)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let moved = sql
        .rows(&format!(
            "WITH {CUR}, {PREV} SELECT cur.customer_id, cu.name, p.level, c.level FROM {MOVES}
             ORDER BY cur.customer_id LIMIT {MOVED}"
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(MovedCustomer {
                customer_id: r.try_get_by_index::<Uuid>(0)?,
                name: name_for(actor, r.try_get_by_index(1)?),
                from: level(r, 2)?,
                to: level(r, 3)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let top_at_risk = sql
        .rows(&format!(
            "WITH {CUR} SELECT h.customer_id, cu.name, h.level, h.score,
                 CAST(COALESCE(r.lifetime_value, cu.total_spend) AS BIGINT) AS ltv
             FROM cur JOIN health_score h ON h.customer_id = cur.customer_id AND h.computed_at = cur.at
             JOIN customer cu ON cu.id = h.customer_id
             LEFT JOIN customer_rfm r ON r.customer_id = cu.id
             WHERE h.level IN ('{}', '{}')
             ORDER BY ltv DESC, h.customer_id LIMIT {TOP_AT_RISK}",
            HealthLevel::AtRisk.as_str(),
            HealthLevel::Critical.as_str()
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(AtRiskCustomer {
                customer_id: r.try_get_by_index::<Uuid>(0)?,
                name: name_for(actor, r.try_get_by_index(1)?),
                level: level(r, 2)?,
                score: r.try_get_by_index(3)?,
                lifetime_value_minor: r.try_get_by_index(4)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let (churned, churn_reasons) = reasons(&sql, LifecycleStage::Churned).await?;
    let (won_back, win_back_reasons) = reasons(&sql, LifecycleStage::WonBack).await?;
    Ok(HealthReport {
        month: format!("{:04}-{:02}", from.year(), from.month()),
        customers_scored: per_level.iter().map(|l| l.1).sum(),
        levels: HealthLevel::ALL
            .iter()
            .map(|&l| LevelCount {
                level: l,
                count: per_level.iter().filter(|p| p.0 == l).map(|p| p.1).sum(),
            })
            .collect(),
        moves,
        moved,
        top_at_risk,
        churned,
        churn_reasons,
        won_back,
        win_back_reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_parsed_strictly() {
        let (from, to) = month_bounds("2026-12").unwrap_or_default();
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        for bad in ["2026-13", "2026-1", "26-01", "2026-00", "x", "2026-01-01"] {
            assert!(month_bounds(bad).is_none(), "{bad}");
        }
    }
}
