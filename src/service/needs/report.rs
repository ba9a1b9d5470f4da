//! The needs report over live customers' needs: one grouped pass gives
//! the counts by status, quadrant, tier and owner, a second the ages of
//! open needs by day; deliveries per month and key customers with unmet
//! do-now needs are narrow statements of their own. Unmet is the same
//! condition the unmet job uses, evaluated now.

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
use crate::domain::needs::{is_open, open_sql_list};
use crate::error::{AppError, AppResult};
use crate::service::{Store, mask, now};

/// Needs of customers not deleted, with the customer (`c`).
const LIVE: &str = "need n JOIN customer c ON c.id = n.customer_id AND c.deleted_at IS NULL";

/// Needs of customers not deleted, where the customer is not read: the few
/// deleted customers come from a partial index, not from every customer row.
const LIVE_NEEDS: &str = "need n WHERE NOT EXISTS (
    SELECT 1 FROM customer d WHERE d.id = n.customer_id AND d.deleted_at IS NOT NULL)";

/// Owners listed.
const TOP_OWNERS: usize = 50;
/// Key customers listed.
const TOP_KEY_CUSTOMERS: u32 = 100;

/// Live needs of one status, quadrant, tier and owner, and how many of
/// them are unmet.
struct Tally {
    status: String,
    open: bool,
    quadrant: String,
    tier: String,
    owner: Option<String>,
    needs: i64,
    unmet: i64,
}

/// Open and unmet needs among `tallies`, under `value`.
fn group_count<'a>(value: &str, tallies: impl Iterator<Item = &'a Tally>) -> NeedGroupCount {
    let mut g = NeedGroupCount {
        value: Some(value.into()),
        open: 0,
        unmet: 0,
    };
    for t in tallies.filter(|t| t.open) {
        g.open += t.needs;
        g.unmet += t.unmet;
    }
    g
}

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

    /// Live needs counted per status, quadrant, customer tier and owner,
    /// with how many of them are unmet: the grouped counts every breakdown
    /// is summed from, in one pass over the joined rows. (Unmet is counted,
    /// not grouped by: as a grouping key the planner's estimate of the
    /// groups explodes and it sorts on disk instead of hashing in memory.)
    async fn tallies(&self) -> AppResult<Vec<Tally>> {
        let unmet = &self.unmet.0;
        let rows = self
            .rows_unmet(&format!(
                "SELECT n.status, n.quadrant, c.value_tier, n.owner_id, COUNT(*),
                        SUM(CASE WHEN {unmet} THEN 1 ELSE 0 END)
                 FROM {LIVE} GROUP BY 1, 2, 3, 4"
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get_by_index(0)?;
                Ok(Tally {
                    open: NeedStatus::ALL.iter().any(|s| s.as_str() == status && is_open(*s)),
                    status,
                    quadrant: r.try_get_by_index(1)?,
                    tier: r.try_get_by_index(2)?,
                    owner: r.try_get_by_index(3)?,
                    needs: r.try_get_by_index(4)?,
                    unmet: r.try_get_by_index::<Option<i64>>(5)?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// Open needs per whole day of age, oldest last: percentiles read off
    /// the running count (the p-th percentile is the age at rank ⌈p·n⌉).
    async fn ages(&self, at: DateTime<Utc>) -> AppResult<NeedAges> {
        let age = match self.backend {
            DbBackend::Postgres => "FLOOR(EXTRACT(EPOCH FROM ($1 - n.created_at)) / 86400)::bigint",
            _ => "CAST(julianday($1) - julianday(n.created_at) AS INTEGER)",
        };
        let rows = self
            .rows(
                &format!(
                    "SELECT {age}, COUNT(*) FROM {LIVE_NEEDS} AND n.status IN ({open}) GROUP BY 1 ORDER BY 1",
                    open = open_sql_list()
                ),
                vec![at.into()],
            )
            .await?;
        let days: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect::<AppResult<_>>()?;
        let open: i64 = days.iter().map(|(_, n)| n).sum();
        let percentile = |share: i64| {
            let mut seen = 0;
            days.iter().find_map(|(age, n)| {
                seen += n;
                (seen * 100 >= open * share).then_some(*age)
            })
        };
        Ok(NeedAges {
            open,
            p50_days: percentile(50),
            p90_days: percentile(90),
            max_days: days.last().map(|(age, _)| *age),
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
                    "SELECT {month}, COUNT(*) FROM {LIVE_NEEDS}
                     AND n.status = 'delivered' AND n.closed_at >= $1
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
                // Counted per customer first, then joined to the key ones.
                "SELECT c.id, c.name, c.owner_id, u.unmet, u.oldest
                 FROM (SELECT n.customer_id, COUNT(*) AS unmet, MIN(n.created_at) AS oldest FROM need n
                       WHERE n.quadrant = '{do_now}' AND {unmet} GROUP BY n.customer_id) u
                 JOIN customer c ON c.id = u.customer_id AND c.deleted_at IS NULL AND c.value_tier = '{key}'
                 ORDER BY 4 DESC, 5, 1 LIMIT {TOP_KEY_CUSTOMERS}",
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
    // The four statements read at once, each on its own connection.
    let (tallies, ages, delivered_per_month, key_customers_unmet_do_now) = tokio::try_join!(
        sql.tallies(),
        sql.ages(at),
        sql.delivered(from, months),
        sql.key_customers(actor)
    )?;
    let by_quadrant = Quadrant::ALL
        .iter()
        .map(|q| group_count(q.as_str(), tallies.iter().filter(|t| t.quadrant == q.as_str())))
        .collect();
    let by_tier = ValueTier::ALL
        .iter()
        .map(|v| group_count(v.as_str(), tallies.iter().filter(|t| t.tier == v.as_str())))
        .filter(|g| g.open > 0)
        .collect();
    let mut by_owner: Vec<NeedGroupCount> = Vec::new();
    for t in tallies.iter().filter(|t| t.open) {
        let i = match by_owner.iter().position(|g| g.value == t.owner) {
            Some(i) => i,
            None => {
                by_owner.push(NeedGroupCount {
                    value: t.owner.clone(),
                    open: 0,
                    unmet: 0,
                });
                by_owner.len() - 1
            }
        };
        by_owner[i].open += t.needs;
        by_owner[i].unmet += t.unmet;
    }
    by_owner.sort_by(|a, b| b.open.cmp(&a.open).then_with(|| a.value.cmp(&b.value)));
    by_owner.truncate(TOP_OWNERS);
    let by_status = NeedStatus::ALL
        .iter()
        .map(|s| NeedStatusCount {
            status: *s,
            needs: tallies.iter().filter(|t| t.status == s.as_str()).map(|t| t.needs).sum(),
        })
        .collect();
    Ok(NeedReport {
        generated_at: at,
        by_quadrant,
        by_status,
        by_owner,
        by_tier,
        ages,
        delivered_per_month,
        key_customers_unmet_do_now,
    })
}
