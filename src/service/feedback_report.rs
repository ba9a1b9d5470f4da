//! The feedback report: volumes, response and resolution times (median and
//! 90th percentile, nearest rank), SLA attainment, top keywords and the
//! weekly sentiment trend — each one aggregate statement in the database.

use crate::service::Store;
use chrono::{Duration, NaiveDate};
use sea_orm::{ConnectionTrait, DbBackend};

use super::window::Sql;

use super::now;
use crate::auth::{Actor, policy};
use crate::contract::feedback::{
    FeedbackGroupBy, FeedbackReport, FeedbackReportQuery, KeywordCount, SentimentWeek, Timing, TimingGroup, VolumeCount,
};
use crate::error::{AppError, AppResult};

/// Default report window.
const DEFAULT_DAYS: i64 = 30;
/// Keywords listed.
const TOP_KEYWORDS: u32 = 20;

impl<C: ConnectionTrait> Sql<'_, C> {
    /// Minutes from `created_at` to a timestamp column.
    fn minutes_to(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({column} - created_at))::float8 / 60.0"),
            _ => format!("(julianday({column}) - julianday(created_at)) * 1440.0"),
        }
    }

    async fn volumes(&self, column: &str) -> AppResult<Vec<VolumeCount>> {
        let rows = self
            .rows(&format!(
                "SELECT {column}, COUNT(*) FROM feedback_item WHERE created_at >= $1 AND created_at < $2
                 GROUP BY 1 ORDER BY 2 DESC, 1"
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(VolumeCount {
                    value: r.try_get_by_index(0)?,
                    items: r.try_get_by_index(1)?,
                })
            })
            .collect()
    }

    /// Timings of one clock per group (`group` is a column or `'all'`).
    async fn timings(&self, group: &str, prefix: &str) -> AppResult<Vec<(String, Timing)>> {
        let minutes = self.minutes_to(&format!("{prefix}_met_at"));
        let rows = self
            .rows(&format!(
                "WITH d AS (
                    SELECT {group} AS grp, {minutes} AS minutes FROM feedback_item
                    WHERE created_at >= $1 AND created_at < $2 AND {prefix}_met_at IS NOT NULL
                 ), r AS (
                    SELECT grp, minutes, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY minutes) AS rn,
                           COUNT(*) OVER (PARTITION BY grp) AS n FROM d
                 ), t AS (
                    SELECT grp, MAX(n) AS n, MIN(CASE WHEN rn * 2 >= n THEN minutes END) AS p50,
                           MIN(CASE WHEN rn * 10 >= n * 9 THEN minutes END) AS p90 FROM r GROUP BY grp
                 ), a AS (
                    SELECT {group} AS grp,
                           SUM(CASE WHEN {prefix}_met_at IS NOT NULL AND {prefix}_breached_at IS NULL THEN 1 ELSE 0 END) AS kept,
                           SUM(CASE WHEN {prefix}_met_at IS NOT NULL OR {prefix}_breached_at IS NOT NULL THEN 1 ELSE 0 END) AS decided
                    FROM feedback_item WHERE created_at >= $1 AND created_at < $2 GROUP BY 1
                 )
                 SELECT a.grp, COALESCE(t.n, 0), t.p50, t.p90, a.kept, a.decided
                 FROM a LEFT JOIN t ON t.grp = a.grp ORDER BY a.grp"
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let kept: i64 = r.try_get_by_index(4)?;
                let decided: i64 = r.try_get_by_index(5)?;
                Ok((
                    r.try_get_by_index(0)?,
                    Timing {
                        items: r.try_get_by_index(1)?,
                        median_minutes: r.try_get_by_index::<Option<f64>>(2)?.map(round),
                        p90_minutes: r.try_get_by_index::<Option<f64>>(3)?.map(round),
                        #[allow(clippy::cast_precision_loss)]
                        attainment_percent: (decided > 0).then(|| round(kept as f64 * 100.0 / decided as f64)),
                    },
                ))
            })
            .collect()
    }

    async fn groups(&self, group: &str) -> AppResult<Vec<TimingGroup>> {
        let first = self.timings(group, "response").await?;
        let resolution = self.timings(group, "resolution").await?;
        let counts = self
            .rows(&format!(
                "SELECT {group}, COUNT(*) FROM feedback_item WHERE created_at >= $1 AND created_at < $2 GROUP BY 1"
            ))
            .await?;
        let mut out = Vec::new();
        for row in counts {
            let value: String = row.try_get_by_index(0)?;
            let find = |list: &[(String, Timing)]| {
                list.iter()
                    .find(|(g, _)| *g == value)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default()
            };
            out.push(TimingGroup {
                items: row.try_get_by_index(1)?,
                first_response: find(&first),
                resolution: find(&resolution),
                value,
            });
        }
        out.sort_by(|a, b| a.value.cmp(&b.value));
        Ok(out)
    }

    async fn keywords(&self) -> AppResult<Vec<KeywordCount>> {
        let rows = self
            .rows(&format!(
                "SELECT k.keyword, COUNT(*) FROM feedback_keyword k JOIN feedback_item f ON f.id = k.feedback_id
                 WHERE f.created_at >= $1 AND f.created_at < $2
                 GROUP BY k.keyword ORDER BY 2 DESC, 1 LIMIT {TOP_KEYWORDS}"
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(KeywordCount {
                    keyword: r.try_get_by_index(0)?,
                    items: r.try_get_by_index(1)?,
                })
            })
            .collect()
    }

    async fn sentiment(&self) -> AppResult<Vec<SentimentWeek>> {
        let week = match self.backend {
            DbBackend::Postgres => "to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
            _ => "date(created_at, 'weekday 0', '-6 days')",
        };
        let rows = self
            .rows(&format!(
                "SELECT {week} AS week, COUNT(*), AVG(sentiment) FROM feedback_item
                 WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1"
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let week: String = r.try_get_by_index(0)?;
                Ok(SentimentWeek {
                    week_start: NaiveDate::parse_from_str(&week, "%Y-%m-%d")
                        .map_err(|e| AppError::Internal(anyhow::anyhow!("week {week}: {e}")))?,
                    items: r.try_get_by_index(1)?,
                    average_sentiment: round(r.try_get_by_index(2)?),
                })
            })
            .collect()
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl From<sea_orm::TryGetError> for AppError {
    fn from(e: sea_orm::TryGetError) -> Self {
        Self::Internal(anyhow::anyhow!("{e:?}"))
    }
}

/// Builds the report (staff and partners: aggregates only, no personal data).
///
/// # Errors
/// `Forbidden` for agents and customers; `Validation` when `from` is not
/// before `to`.
pub async fn report(db: &impl Store, actor: &Actor, q: FeedbackReportQuery) -> AppResult<FeedbackReport> {
    policy::read_reports(actor)?;
    let to = q.to.unwrap_or_else(now);
    let from = q.from.unwrap_or(to - Duration::days(DEFAULT_DAYS));
    if from >= to {
        return Err(AppError::field("from", "must be before to"));
    }
    let sql = Sql::new(db, from, to);
    let mut timings = sql.groups("'all'").await?;
    let items = timings.first().map_or(0, |t| t.items);
    if timings.is_empty() {
        timings.push(TimingGroup {
            value: "all".into(),
            items: 0,
            first_response: Timing::default(),
            resolution: Timing::default(),
        });
    }
    if let Some(g) = q.group_by {
        let column = match g {
            FeedbackGroupBy::Kind => "kind",
            FeedbackGroupBy::Severity => "severity",
            FeedbackGroupBy::Channel => "channel",
        };
        timings.extend(sql.groups(column).await?);
    }
    Ok(FeedbackReport {
        from,
        to,
        items,
        by_kind: sql.volumes("kind").await?,
        by_severity: sql.volumes("severity").await?,
        by_channel: sql.volumes("channel").await?,
        timings,
        top_keywords: sql.keywords().await?,
        sentiment_by_week: sql.sentiment().await?,
    })
}
