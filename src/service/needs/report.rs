//! The needs report, each part one aggregate statement over live
//! customers' needs; unmet is the same condition the unmet job uses,
//! evaluated now.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use uuid::Uuid;

use super::unmet::{settings, statement, unmet_sql};
use crate::auth::{Actor, policy};
use crate::contract::customers::ValueTier;
use crate::contract::needs::{
    DeliveredMonth, KeyCustomerUnmet, NeedAges, NeedGroupCount, NeedReport, NeedReportQuery, NeedStatus,
    NeedStatusCount, Quadrant,
};
use crate::domain::needs::open_sql_list;
use crate::error::{AppError, AppResult};
use crate::service::{Store, mask, now};

/// Needs of customers not deleted.
const LIVE: &str = "need n JOIN customer c ON c.id = n.customer_id AND c.deleted_at IS NULL";

/// Owners listed.
const TOP_OWNERS: u32 = 50;
/// Key customers listed.
const TOP_KEY_CUSTOMERS: u32 = 100;

struct Sql<'a, C: ConnectionTrait> {
    db: &'a C,
    backend: DbBackend,
    /// The unmet condition (over `n.`) and its values, numbered from `$1`.
    unmet: (String, Vec<Value>),
}

impl<C: ConnectionTrait> Sql<'_, C> {
    /// Runs `sql` with its `$1…` values.
    async fn rows(&self, sql: &str, values: Vec<Value>) -> AppResult<Vec<QueryResult>> {
        Ok(self.db.query_all_raw(statement(self.backend, sql, values)).await?)
    }

    /// Runs `sql` that holds the unmet condition (its values are `$1…`).
    async fn rows_unmet(&self, sql: &str) -> AppResult<Vec<QueryResult>> {
        self.rows(sql, self.unmet.1.clone()).await
    }

    /// Open and unmet needs per group (`group` an expression over `n` and `c`).
    async fn groups(&self, group: &str, tail: &str) -> AppResult<Vec<NeedGroupCount>> {
        let unmet = &self.unmet.0;
        let rows = self
            .rows_unmet(&format!(
                "SELECT {group}, COUNT(*) AS open, SUM(CASE WHEN {unmet} THEN 1 ELSE 0 END)
                 FROM {LIVE} WHERE n.status IN ({open}) GROUP BY {group} {tail}",
                open = open_sql_list()
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NeedGroupCount {
                    value: r.try_get_by_index(0)?,
                    open: r.try_get_by_index(1)?,
                    unmet: r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn statuses(&self) -> AppResult<Vec<NeedStatusCount>> {
        let rows = self
            .rows(
                &format!("SELECT n.status, COUNT(*) FROM {LIVE} GROUP BY n.status"),
                vec![],
            )
            .await?;
        let counted: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect::<AppResult<_>>()?;
        Ok(NeedStatus::ALL
            .iter()
            .map(|s| NeedStatusCount {
                status: *s,
                needs: counted.iter().find(|(v, _)| v == s.as_str()).map_or(0, |(_, n)| *n),
            })
            .collect())
    }

    async fn ages(&self, at: DateTime<Utc>) -> AppResult<NeedAges> {
        // Newest first: the p-th percentile of age is at rank ⌈p·n⌉.
        let rows = self
            .rows(
                &format!(
                    "WITH r AS (
                        SELECT n.created_at, ROW_NUMBER() OVER (ORDER BY n.created_at DESC, n.id DESC) AS rn,
                               COUNT(*) OVER () AS cnt
                        FROM {LIVE} WHERE n.status IN ({open})
                     )
                     SELECT MAX(cnt), MAX(CASE WHEN rn * 2 >= cnt THEN created_at END),
                            MAX(CASE WHEN rn * 10 >= cnt * 9 THEN created_at END), MIN(created_at) FROM r",
                    open = open_sql_list()
                ),
                vec![],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(NeedAges::default());
        };
        let days = |i: usize| -> AppResult<Option<i64>> {
            Ok(r.try_get_by_index::<Option<DateTime<Utc>>>(i)?
                .map(|t| (at - t).num_days()))
        };
        Ok(NeedAges {
            open: r.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0),
            p50_days: days(1)?,
            p90_days: days(2)?,
            max_days: days(3)?,
        })
    }

    async fn delivered(&self, from: NaiveDate, months: u32) -> AppResult<Vec<DeliveredMonth>> {
        let month = match self.backend {
            DbBackend::Postgres => "to_char(n.closed_at AT TIME ZONE 'UTC', 'YYYY-MM')",
            _ => "strftime('%Y-%m', n.closed_at)",
        };
        let since = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let rows = self
            .rows(
                &format!(
                    "SELECT {month}, COUNT(*) FROM {LIVE}
                     WHERE n.status = 'delivered' AND n.closed_at >= $1
                     GROUP BY 1"
                ),
                vec![since.into()],
            )
            .await?;
        let counted: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect::<AppResult<_>>()?;
        Ok((0..months)
            .filter_map(|i| from.checked_add_months(Months::new(i)))
            .map(|d| {
                let label = format!("{:04}-{:02}", d.year(), d.month());
                DeliveredMonth {
                    delivered: counted.iter().find(|(m, _)| *m == label).map_or(0, |(_, n)| *n),
                    month: label,
                }
            })
            .collect())
    }

    async fn key_customers(&self, actor: &Actor) -> AppResult<Vec<KeyCustomerUnmet>> {
        let unmet = &self.unmet.0;
        let rows = self
            .rows_unmet(&format!(
                "SELECT c.id, c.name, c.owner_id, COUNT(*), MIN(n.created_at) FROM {LIVE}
                 WHERE c.value_tier = '{key}' AND n.quadrant = '{do_now}' AND {unmet}
                 GROUP BY c.id, c.name, c.owner_id ORDER BY 4 DESC, 5, 1 LIMIT {TOP_KEY_CUSTOMERS}",
                key = ValueTier::Key.as_str(),
                do_now = Quadrant::DoNow.as_str(),
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get_by_index(1)?;
                Ok(KeyCustomerUnmet {
                    customer_id: r.try_get_by_index::<Uuid>(0)?,
                    name: if actor.masks_personal_data() {
                        mask::name(&name)
                    } else {
                        name
                    },
                    owner_id: r.try_get_by_index(2)?,
                    unmet_do_now: r.try_get_by_index(3)?,
                    oldest_created_at: r.try_get_by_index(4)?,
                })
            })
            .collect()
    }
}

/// The needs report.
///
/// # Errors
/// `Forbidden` for agents, partners and customers; `Validation` for
/// `months` outside 1–24.
pub async fn report(db: &impl Store, actor: &Actor, q: &NeedReportQuery) -> AppResult<NeedReport> {
    policy::read_account_reports(actor)?;
    let months = q.months.unwrap_or(12);
    if !(1..=24).contains(&months) {
        return Err(AppError::field("months", "must be between 1 and 24"));
    }
    let at = now();
    let this_month = at.date_naive().with_day(1).unwrap_or_else(|| at.date_naive());
    let from = this_month
        .checked_sub_months(Months::new(months - 1))
        .unwrap_or(this_month);
    let s = settings(db).await?;
    let sql = Sql {
        db,
        backend: db.get_database_backend(),
        unmet: unmet_sql(&s, at, "n.", 1),
    };
    let mut by_quadrant = sql.groups("n.quadrant", "").await?;
    for q in Quadrant::ALL {
        if !by_quadrant.iter().any(|g| g.value.as_deref() == Some(q.as_str())) {
            by_quadrant.push(NeedGroupCount {
                value: Some(q.as_str().into()),
                open: 0,
                unmet: 0,
            });
        }
    }
    by_quadrant.sort_by_key(|g| {
        Quadrant::ALL
            .iter()
            .position(|q| g.value.as_deref() == Some(q.as_str()))
    });
    let mut by_tier = sql.groups("c.value_tier", "").await?;
    by_tier.sort_by_key(|g| {
        ValueTier::ALL
            .iter()
            .position(|t| g.value.as_deref() == Some(t.as_str()))
    });
    Ok(NeedReport {
        generated_at: at,
        by_quadrant,
        by_status: sql.statuses().await?,
        by_owner: sql
            .groups("n.owner_id", &format!("ORDER BY 2 DESC, 1 LIMIT {TOP_OWNERS}"))
            .await?,
        by_tier,
        ages: sql.ages(at).await?,
        delivered_per_month: sql.delivered(from, months).await?,
        key_customers_unmet_do_now: sql.key_customers(actor).await?,
    })
}
