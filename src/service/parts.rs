//! The parts of a customer 360: every relation a view may show beside a
//! customer (its contacts, newest orders, order summary, …) is one correlated
//! subquery that yields JSON. A customer with any set of parts, or a page of
//! customers with theirs, is therefore read in **one statement** however many
//! parts are asked for. An area that adds to the 360 (survey scores, points,
//! health) adds a [`Part`] variant: a subquery and a decoder, not a round trip.

use std::collections::HashMap;

use crate::service::Store;

use chrono::{DateTime, NaiveDateTime, Utc};
use entity::{contact, customer, customer_rfm, feedback_item, health_alert, interaction, order, task};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ColumnType, DbBackend, EntityName, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::contract::MinorUnits;
use crate::contract::feedback::FeedbackStatus;
use crate::contract::loyalty::LoyaltyGlance;
use crate::contract::needs::QuadrantCount;
use crate::contract::orders::{OrderStatus, OrderSummary, Spend};
use crate::contract::tasks::TaskStatus;
use crate::error::{AppError, AppResult};

/// One relation shown beside a customer. Lists carry how many rows they keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Every contact, primary first, then oldest first.
    Contacts,
    /// The newest orders (any status).
    RecentOrders(u64),
    /// The newest interactions.
    RecentInteractions(u64),
    /// Completed orders at a glance, spend per currency.
    OrderSummary,
    /// The latest RFM scores; none for customers without completed orders.
    Rfm,
    /// Feedback not yet closed, newest first.
    OpenFeedback(u64),
    /// Loyalty balance, debt and tier; none before points first move.
    Loyalty,
    /// Early-warning alerts still open, newest first.
    OpenAlerts(u64),
    /// Tasks still open, soonest due first.
    OpenTasks(u64),
    /// Open needs counted per quadrant.
    OpenNeeds,
}

/// A part's rows.
#[derive(Clone, Debug)]
pub enum PartValue {
    Contacts(Vec<contact::Model>),
    Orders(Vec<order::Model>),
    Interactions(Vec<interaction::Model>),
    OrderSummary(OrderSummary),
    Rfm(Option<Box<customer_rfm::Model>>),
    Feedback(Vec<feedback_item::Model>),
    Loyalty(Option<LoyaltyGlance>),
    Alerts(Vec<health_alert::Model>),
    Tasks(Vec<task::Model>),
    Needs(Vec<QuadrantCount>),
}

/// The parts read for one customer.
#[derive(Clone, Debug, Default)]
pub struct Parts(HashMap<Part, PartValue>);

impl Parts {
    /// Takes a part out (each is read once); `None` if it was not asked for.
    pub fn take(&mut self, part: Part) -> Option<PartValue> {
        self.0.remove(&part)
    }

    fn insert(&mut self, part: Part, value: PartValue) {
        self.0.insert(part, value);
    }
}

/// The alias the customer table has in every part's subquery.
const CUSTOMER: &str = "c";

impl Part {
    fn alias(self) -> String {
        match self {
            Self::Contacts => "p_contacts".into(),
            Self::RecentOrders(n) => format!("p_orders_{n}"),
            Self::RecentInteractions(n) => format!("p_interactions_{n}"),
            Self::OrderSummary => "p_order_summary".into(),
            Self::Rfm => "p_rfm".into(),
            Self::OpenFeedback(n) => format!("p_open_feedback_{n}"),
            Self::Loyalty => "p_loyalty".into(),
            Self::OpenAlerts(n) => format!("p_open_alerts_{n}"),
            Self::OpenTasks(n) => format!("p_open_tasks_{n}"),
            Self::OpenNeeds => "p_open_needs".into(),
        }
    }

    /// The part's subquery, correlated on `c.id`.
    fn sql(self, backend: DbBackend) -> String {
        match self {
            Self::Contacts => rows::<contact::Entity>(backend, "", "is_primary DESC, created_at ASC, id ASC", None),
            Self::RecentOrders(n) => rows::<order::Entity>(backend, "", "ordered_at DESC, id DESC", Some(n)),
            Self::RecentInteractions(n) => {
                rows::<interaction::Entity>(backend, "", "occurred_at DESC, id DESC", Some(n))
            }
            Self::OpenFeedback(n) => rows::<feedback_item::Entity>(
                backend,
                &format!(" AND status <> '{}'", FeedbackStatus::Closed.as_str()),
                "created_at DESC, id DESC",
                Some(n),
            ),
            Self::OpenAlerts(n) => {
                rows::<health_alert::Entity>(backend, " AND cleared_at IS NULL", "fired_at DESC, id DESC", Some(n))
            }
            Self::OpenTasks(n) => rows::<task::Entity>(
                backend,
                &format!(" AND status = '{}'", TaskStatus::Open.as_str()),
                "due_at ASC, id ASC",
                Some(n),
            ),
            Self::OpenNeeds => format!(
                "(SELECT {} FROM (SELECT quadrant, COUNT(*) AS open, \
                 SUM(CASE WHEN unmet_since IS NULL THEN 0 ELSE 1 END) AS unmet \
                 FROM need WHERE customer_id = {CUSTOMER}.id AND status IN ({}) GROUP BY quadrant) t)",
                aggregate(
                    backend,
                    &object_of(backend, &["quadrant", "open", "unmet"], &[]),
                    "t.quadrant ASC"
                ),
                crate::domain::needs::open_sql_list()
            ),
            Self::Loyalty => format!(
                "(SELECT {} FROM (SELECT a.points - a.debt AS balance, a.debt AS debt, lt.name AS tier_name \
                 FROM loyalty_account a LEFT JOIN loyalty_tier lt ON lt.id = a.tier_id \
                 WHERE a.customer_id = {CUSTOMER}.id) t)",
                object_of(backend, &["balance", "debt", "tier_name"], &[])
            ),
            Self::Rfm => {
                let table = customer_rfm::Entity.table_name();
                format!(
                    "(SELECT {} FROM {table} t WHERE t.customer_id = {CUSTOMER}.id)",
                    object::<customer_rfm::Entity>(backend)
                )
            }
            Self::OrderSummary => {
                // The status test sits inside the aggregates, so the only way
                // in is the customer's orders: with `status = 'completed'` in
                // the WHERE clause, both planners, short of statistics, chose
                // the status index every completed order shares (a scan of
                // the whole table per customer).
                let completed = |expr: &str| {
                    format!(
                        "CASE WHEN status = '{}' THEN {expr} END",
                        OrderStatus::Completed.as_str()
                    )
                };
                let total = super::sum_minor(backend, &completed("amount_minor - refunded_minor"));
                let fields = SUMMARY.iter().map(|(name, _)| *name).collect::<Vec<_>>();
                format!(
                    "(SELECT {} FROM (SELECT currency, COUNT({one}) AS n, {total} AS total, MIN({at}) AS first_at, \
                     MAX({at}) AS last_at FROM {table} WHERE customer_id = {CUSTOMER}.id \
                     GROUP BY currency HAVING COUNT({one}) > 0) t)",
                    aggregate(backend, &object_of(backend, &fields, &[]), "t.currency ASC"),
                    table = order::Entity.table_name(),
                    one = completed("1"),
                    at = completed("ordered_at"),
                )
            }
        }
    }

    /// Reads the part's JSON text (`None`: SQL NULL, no row).
    fn decode(self, text: Option<&str>) -> AppResult<PartValue> {
        Ok(match self {
            Self::Contacts => PartValue::Contacts(models::<contact::Entity>(text)?),
            Self::RecentOrders(_) => PartValue::Orders(models::<order::Entity>(text)?),
            Self::RecentInteractions(_) => PartValue::Interactions(models::<interaction::Entity>(text)?),
            Self::OpenFeedback(_) => PartValue::Feedback(models::<feedback_item::Entity>(text)?),
            Self::Rfm => PartValue::Rfm(match text {
                None => None,
                Some(text) => Some(Box::new(read(text, &shape::<customer_rfm::Entity>())?)),
            }),
            Self::OrderSummary => PartValue::OrderSummary(summary(text)?),
            Self::Loyalty => PartValue::Loyalty(text.map(|t| read(t, &[])).transpose()?),
            Self::OpenAlerts(_) => PartValue::Alerts(models::<health_alert::Entity>(text)?),
            Self::OpenTasks(_) => PartValue::Tasks(models::<task::Entity>(text)?),
            Self::OpenNeeds => PartValue::Needs(match text {
                None => Vec::new(),
                Some(t) => serde_json::from_str(t).map_err(|e| AppError::Internal(e.into()))?,
            }),
        })
    }
}

/// Reads `parts` for each customer of `ids` (deleted ones included; callers
/// chose the ids) in one statement. Customers not found are absent.
///
/// # Errors
/// Database failures.
pub async fn load(db: &impl Store, ids: &[Uuid], parts: &[Part]) -> AppResult<HashMap<Uuid, Parts>> {
    if ids.is_empty() || parts.is_empty() {
        return Ok(ids.iter().map(|id| (*id, Parts::default())).collect());
    }
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.expr_as(
        Expr::col((Alias::new(CUSTOMER), customer::Column::Id)),
        Alias::new("id"),
    )
    .from_as(customer::Entity, Alias::new(CUSTOMER))
    .and_where(Expr::col((Alias::new(CUSTOMER), customer::Column::Id)).is_in(ids.iter().copied()));
    select_parts(&mut q, backend, parts);
    let rows = db.query_all(&q).await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<Uuid>("", "id")?, decode_parts(row, parts)?)))
        .collect()
}

/// One live customer with `parts`, in one statement.
///
/// # Errors
/// `NotFound` for a missing or deleted customer; database failures.
pub async fn customer_with(db: &impl Store, id: Uuid, parts: &[Part]) -> AppResult<(customer::Model, Parts)> {
    let row = db
        .query_one_raw(customer_statement(db.get_database_backend(), id, parts))
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    Ok((
        customer::Model::from_query_result(&row, "")?,
        decode_parts(&row, parts)?,
    ))
}

/// The statement [`customer_with`] runs (public so tests can read its plan).
pub fn customer_statement(backend: DbBackend, id: Uuid, parts: &[Part]) -> sea_orm::Statement {
    let c = Alias::new(CUSTOMER);
    let mut q = Query::select();
    q.column((c.clone(), Asterisk))
        .from_as(customer::Entity, c.clone())
        .and_where(Expr::col((c.clone(), customer::Column::Id)).eq(id))
        .and_where(Expr::col((c, customer::Column::DeletedAt)).is_null());
    select_parts(&mut q, backend, parts);
    backend.build(&q)
}

fn select_parts(q: &mut sea_orm::sea_query::SelectStatement, backend: DbBackend, parts: &[Part]) {
    for part in parts {
        // As text, read straight into the models (see [`read`]).
        let sql = match backend {
            DbBackend::Postgres => format!("CAST({} AS TEXT)", part.sql(backend)),
            _ => part.sql(backend),
        };
        q.expr_as(Expr::cust(sql), Alias::new(part.alias()));
    }
}

fn decode_parts(row: &QueryResult, parts: &[Part]) -> AppResult<Parts> {
    let mut out = Parts::default();
    for part in parts {
        let text: Option<String> = row.try_get("", &part.alias())?;
        out.insert(*part, part.decode(text.as_deref())?);
    }
    Ok(out)
}

/// How a column travels in JSON, where the databases differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// SQLite keeps UUIDs as 16-byte blobs, which JSON cannot hold: sent as hex.
    Uuid,
    /// SQLite keeps booleans as 0/1.
    Bool,
    /// SQLite keeps JSON as text: nested with `json()`.
    Json,
    /// Timestamps, in whichever text form the database keeps them.
    Time,
    Plain,
}

fn kind(column_type: &ColumnType) -> Kind {
    match column_type {
        ColumnType::Uuid => Kind::Uuid,
        ColumnType::Boolean => Kind::Bool,
        ColumnType::Json | ColumnType::JsonBinary => Kind::Json,
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => Kind::Time,
        _ => Kind::Plain,
    }
}

fn shape<E: EntityTrait>() -> Vec<(&'static str, Kind)> {
    E::Column::iter()
        .map(|c| (c.as_str(), kind(c.def().get_column_type())))
        .collect()
}

/// The columns of the summary's per-currency rows.
const SUMMARY: [(&str, Kind); 5] = [
    ("currency", Kind::Plain),
    ("n", Kind::Plain),
    ("total", Kind::Plain),
    ("first_at", Kind::Time),
    ("last_at", Kind::Time),
];

/// A JSON object of row `t` with `fields`; `kinds` says which need care on SQLite.
fn object_of(backend: DbBackend, fields: &[&str], kinds: &[(&str, Kind)]) -> String {
    if backend == DbBackend::Postgres {
        return "row_to_json(t)".into();
    }
    let pairs: Vec<String> = fields
        .iter()
        .map(|f| {
            let k = kinds.iter().find(|(n, _)| n == f).map_or(Kind::Plain, |(_, k)| *k);
            let value = match k {
                Kind::Uuid => format!("CASE WHEN typeof(t.{f}) = 'blob' THEN lower(hex(t.{f})) ELSE t.{f} END"),
                Kind::Json => format!("json(t.{f})"),
                Kind::Bool => format!("CASE t.{f} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"),
                _ => format!("t.{f}"),
            };
            format!("'{f}', {value}")
        })
        .collect();
    format!("json_object({})", pairs.join(", "))
}

fn object<E: EntityTrait>(backend: DbBackend) -> String {
    let kinds = shape::<E>();
    let fields: Vec<&str> = kinds.iter().map(|(n, _)| *n).collect();
    object_of(backend, &fields, &kinds)
}

/// A JSON array of `item` over rows `t` in `order` (`[]` when there are none).
fn aggregate(backend: DbBackend, item: &str, order: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("COALESCE(json_agg({item} ORDER BY {order}), '[]'::json)"),
        _ => format!("json_group_array({item} ORDER BY {order})"),
    }
}

/// The rows of `E` of customer `c` meeting `only`, in `order`, at most `limit`.
fn rows<E: EntityTrait + Default>(backend: DbBackend, only: &str, order: &str, limit: Option<u64>) -> String {
    let table = E::default().table_name().to_owned();
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let outer_order = order
        .split(", ")
        .map(|term| format!("t.{term}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "(SELECT {} FROM (SELECT * FROM {table} WHERE customer_id = {CUSTOMER}.id{only} ORDER BY {order}{limit}) t)",
        aggregate(backend, &object::<E>(backend), &outer_order)
    )
}

/// Brings one JSON row to the form serde reads: booleans as booleans and
/// timestamps as RFC 3339, whichever database wrote them.
fn normalise(row: &mut Value, kinds: &[(&str, Kind)]) {
    let Value::Object(map) = row else { return };
    for (name, k) in kinds {
        let Some(v) = map.get_mut(*name) else { continue };
        match (k, &*v) {
            (Kind::Bool, Value::Number(n)) => *v = Value::Bool(n.as_i64() != Some(0)),
            (Kind::Time, Value::String(s)) => {
                if let Some(t) = db_time(s) {
                    *v = Value::String(t.to_rfc3339());
                }
            }
            _ => {}
        }
    }
}

/// A timestamp as either database writes it.
fn db_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// Reads a part's JSON: straight into `T` when the database wrote every
/// value in the form serde reads (the usual case), else through a JSON value
/// brought to that form first (booleans as 0/1, timestamps in another shape).
fn read<T: DeserializeOwned>(text: &str, kinds: &[(&str, Kind)]) -> AppResult<T> {
    let bad = |e: serde_json::Error| AppError::Internal(anyhow::anyhow!("decoding a customer part: {e}"));
    serde_json::from_str(text).or_else(|_| {
        let mut value: Value = serde_json::from_str(text).map_err(bad)?;
        match &mut value {
            Value::Array(rows) => rows.iter_mut().for_each(|row| normalise(row, kinds)),
            row => normalise(row, kinds),
        }
        serde_json::from_value(value).map_err(bad)
    })
}

fn models<E: EntityTrait>(text: Option<&str>) -> AppResult<Vec<E::Model>>
where
    E::Model: DeserializeOwned,
{
    text.map_or(Ok(Vec::new()), |text| read(text, &shape::<E>()))
}

#[derive(serde::Deserialize)]
struct SummaryRow {
    currency: String,
    n: i64,
    total: i64,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
}

fn summary(text: Option<&str>) -> AppResult<OrderSummary> {
    let mut s = OrderSummary::default();
    let rows: Vec<SummaryRow> = text.map_or(Ok(Vec::new()), |text| read(text, &SUMMARY))?;
    for row in rows {
        s.order_count += row.n;
        s.total_spend.push(Spend {
            currency: row.currency,
            amount_minor: MinorUnits(row.total),
        });
        s.first_order_at = Some(s.first_order_at.map_or(row.first_at, |f| Ord::min(f, row.first_at)));
        s.last_order_at = Some(s.last_order_at.map_or(row.last_at, |l| Ord::max(l, row.last_at)));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_in_either_database_form() {
        let want = "2026-11-30T12:00:00.123456Z".parse::<DateTime<Utc>>().unwrap();
        for s in [
            "2026-11-30T12:00:00.123456+00:00",
            "2026-11-30 12:00:00.123456+00:00",
            "2026-11-30 12:00:00.123456",
            "2026-11-30T13:00:00.123456+01:00",
        ] {
            assert_eq!(db_time(s), Some(want), "{s}");
        }
    }

    #[test]
    fn a_row_in_another_databases_forms_is_still_read() {
        let id = Uuid::now_v7();
        let text = format!(
            r#"[{{"id": "{}", "customer_id": "{}", "name": "Pat", "title": null, "email": null, "phone": null,
                "role": null, "is_primary": 1, "active": 0, "left_at": null,
                "created_at": "2026-11-30 12:00:00.5", "updated_at": "2026-11-30T12:00:00.5+00:00"}}]"#,
            id.simple(),
            id
        );
        let rows: Vec<contact::Model> = read(&text, &shape::<contact::Entity>()).unwrap();
        assert_eq!(rows[0].id, id);
        assert!(rows[0].is_primary && !rows[0].active);
        assert_eq!(rows[0].created_at, rows[0].updated_at);
    }

    #[test]
    fn every_part_has_its_own_column() {
        let parts = [
            Part::Contacts,
            Part::RecentOrders(10),
            Part::RecentOrders(5),
            Part::RecentInteractions(10),
            Part::OrderSummary,
            Part::Rfm,
            Part::OpenFeedback(20),
        ];
        let mut aliases: Vec<String> = parts.iter().map(|p| p.alias()).collect();
        aliases.sort();
        aliases.dedup();
        assert_eq!(aliases.len(), parts.len());
    }
}
