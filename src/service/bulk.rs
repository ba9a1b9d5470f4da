//! Bulk export and import of customers and orders. Exports stream page by
//! page through the list's own filters and masking; imports read an upload
//! spooled to disk record by record, validate each row with the same rules
//! as the API, and write each batch in one transaction (each row in a
//! savepoint, so a bad row never fails its batch).

use entity::{customer, import_error, import_run};
use futures_util::Stream;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, policy};
use crate::contract::bulk::{BulkFormat, ImportKind, ImportReport, RowError};
use crate::contract::customers::{CustomerFilter, CustomerPatch, CustomerSort, CustomerView, NewCustomer};
use crate::contract::orders::NewOrder;
use crate::domain::pagination::PageRequest;
use crate::error::{AppError, AppResult};
use crate::service::Store;

/// Customers per page of an export.
const EXPORT_PAGE: u64 = 500;

/// The cells that spreadsheets read as formulas start with one of these.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as exported: one a spreadsheet would run as a formula gets a
/// leading `'`.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(FORMULA_STARTS) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// A cell as imported: the export's neutralising `'` comes off again.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// The customers of a filtered list, page after page, as the caller may see
/// them.
pub fn customers<S: Store + Clone + 'static>(
    db: S,
    actor: Actor,
    filter: CustomerFilter,
    sort: Option<CustomerSort>,
) -> impl Stream<Item = AppResult<Vec<CustomerView>>> {
    let start = Some(PageRequest {
        limit: EXPORT_PAGE,
        after: None,
    });
    futures_util::stream::unfold(start, move |request| {
        let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
        async move {
            let request = request?;
            match super::customer_list::list(&db, &actor, &filter, sort, &request).await {
                Ok(page) => {
                    let next = page
                        .next_cursor
                        .as_deref()
                        .map(crate::domain::pagination::Cursor::decode)
                        .transpose()
                        .ok()
                        .flatten()
                        .map(|after| PageRequest {
                            limit: EXPORT_PAGE,
                            after: Some(after),
                        });
                    Some((Ok(page.items), next))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

/// Rows written per transaction.
const BATCH: usize = 500;
/// Row errors listed in the reply (all are kept for the errors file).
const LISTED_ERRORS: usize = 20;
/// Columns an export writes that an import does not take.
const EXPORT_ONLY: [&str; 4] = ["id", "created_at", "updated_at", "last_contacted_at"];

/// One row of an upload: its number, what was sent, and its fields.
struct Row {
    number: i64,
    cells: serde_json::Value,
    fields: serde_json::Map<String, serde_json::Value>,
}

/// How a row ended.
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Reads an upload record by record.
enum Rows {
    Csv(csv::StringRecordsIntoIter<std::fs::File>, Vec<String>),
    Ndjson(std::io::Lines<std::io::BufReader<std::fs::File>>),
}

impl Rows {
    fn open(path: &std::path::Path, format: BulkFormat) -> AppResult<(Self, Vec<String>)> {
        let file = std::fs::File::open(path).map_err(|e| AppError::Internal(e.into()))?;
        Ok(match format {
            BulkFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
                // A header that cannot be read leaves every row without
                // fields: each is then a row error, not the whole file.
                let header: Vec<String> = reader
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                (Self::Csv(reader.into_records(), header.clone()), header)
            }
            BulkFormat::Ndjson => {
                use std::io::BufRead as _;
                (Self::Ndjson(std::io::BufReader::new(file).lines()), Vec::new())
            }
        })
    }

    /// The next row; `Err` carries a row that could not be read at all.
    fn next(&mut self, number: i64) -> Option<Result<Row, (Row, String)>> {
        match self {
            Self::Csv(records, header) => {
                let record = records.next()?;
                Some(match record {
                    Ok(r) => {
                        let cells: Vec<String> = r.iter().map(str::to_owned).collect();
                        let mut fields = serde_json::Map::new();
                        for (name, cell) in header.iter().zip(&cells) {
                            let cell = restore(cell).trim();
                            if !cell.is_empty() && !EXPORT_ONLY.contains(&name.as_str()) {
                                fields.insert(name.clone(), serde_json::Value::String(cell.to_owned()));
                            }
                        }
                        if cells.len() != header.len() {
                            let row = Row {
                                number,
                                cells: json!(cells),
                                fields,
                            };
                            Err((
                                row,
                                format!("has {} cells; the header has {}", cells.len(), header.len()),
                            ))
                        } else {
                            Ok(Row {
                                number,
                                cells: json!(cells),
                                fields,
                            })
                        }
                    }
                    Err(e) => Err((
                        Row {
                            number,
                            cells: json!([]),
                            fields: serde_json::Map::new(),
                        },
                        e.to_string(),
                    )),
                })
            }
            Self::Ndjson(lines) => loop {
                let line = match lines.next()? {
                    Ok(l) => l,
                    Err(e) => {
                        let row = Row {
                            number,
                            cells: json!(null),
                            fields: serde_json::Map::new(),
                        };
                        return Some(Err((row, e.to_string())));
                    }
                };
                let line = line.trim().trim_start_matches('\u{feff}');
                if line.is_empty() {
                    continue;
                }
                return Some(match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(serde_json::Value::Object(mut map)) => {
                        let cells = serde_json::Value::Object(map.clone());
                        map.retain(|k, v| !v.is_null() && !EXPORT_ONLY.contains(&k.as_str()));
                        Ok(Row {
                            number,
                            cells,
                            fields: map,
                        })
                    }
                    _ => Err((
                        Row {
                            number,
                            cells: json!(line),
                            fields: serde_json::Map::new(),
                        },
                        "is not a JSON object".into(),
                    )),
                });
            },
        }
    }
}

/// Replaces NUL characters (which PostgreSQL text cannot hold) in every
/// string of a value; says whether there were any.
fn scrub(v: &mut serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => {
            *s = s.replace('\0', "\u{fffd}");
            true
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |any, i| scrub(i) | any),
        serde_json::Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            let mut found = !keys.is_empty();
            for k in keys {
                if let Some(value) = map.remove(&k) {
                    map.insert(k.replace('\0', "\u{fffd}"), value);
                }
            }
            for value in map.values_mut() {
                found |= scrub(value);
            }
            found
        }
        _ => false,
    }
}

/// Text cells of a CSV row as the JSON types an input takes.
fn typed(kind: ImportKind, fields: &mut serde_json::Map<String, serde_json::Value>) -> Result<(), (String, String)> {
    for (name, value) in fields.iter_mut() {
        let serde_json::Value::String(text) = value else {
            continue;
        };
        let text = text.clone();
        *value = match (kind, name.as_str()) {
            (ImportKind::Customers, "tier_locked" | "marketing_consent") => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => json!(true),
                "false" | "0" | "no" => json!(false),
                _ => return Err((name.clone(), "must be true or false".into())),
            },
            (ImportKind::Customers, "tags") => json!(
                text.split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            ),
            (ImportKind::Customers, "custom_attributes") => {
                serde_json::from_str(&text).map_err(|_| (name.clone(), "must be a JSON object".to_owned()))?
            }
            (ImportKind::Orders, "amount_minor") => json!(
                text.parse::<i64>()
                    .map_err(|_| (name.clone(), "must be a whole number of minor units".to_owned()))?
            ),
            _ => continue,
        };
    }
    Ok(())
}

/// Reads a row into an input type, naming the failing field.
fn input<T: serde::de::DeserializeOwned>(
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path == "." {
            message.split('`').nth(1).unwrap_or("row").to_owned()
        } else {
            path
        };
        (field, message)
    })
}

fn first_error(e: &AppError) -> (String, String) {
    match e.field_errors().into_iter().next() {
        Some(f) => (f.path, f.message),
        None => ("row".into(), e.detail()),
    }
}

/// Upserts one customer row by `external_id`.
async fn customer_row(
    db: &DatabaseTransaction,
    actor: &Actor,
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Outcome, (String, String)> {
    let ext = fields.get("external_id").and_then(|v| v.as_str()).map(str::to_owned);
    let Some(ext) = ext else {
        return Err((
            "external_id".into(),
            "is required to import (rows are matched by it)".into(),
        ));
    };
    let new: NewCustomer = input(fields)?;
    let existing = customer::Entity::find()
        .filter(customer::Column::ExternalId.eq(ext.as_str()))
        .filter(customer::Column::DeletedAt.is_null())
        .one(db)
        .await
        .map_err(|e| first_error(&e.into()))?;
    if let Some(email) = new.email.as_deref() {
        let taken = customer::Entity::find()
            .filter(customer::Column::Email.eq(email.trim().to_lowercase()))
            .filter(customer::Column::DeletedAt.is_null())
            .filter(customer::Column::ExternalId.ne(ext.as_str()))
            .one(db)
            .await
            .map_err(|e| first_error(&e.into()))?;
        if taken.is_some() {
            return Err(("email".into(), "belongs to another customer".into()));
        }
    }
    match existing {
        None => {
            super::customers::create(db, actor, new)
                .await
                .map_err(|e| first_error(&e))?;
            Ok(Outcome::Created)
        }
        Some(current) => {
            let before = super::customers::to_view(current.clone(), actor);
            let after = super::customers::update(db, actor, current.id, CustomerPatch::from(new))
                .await
                .map_err(|e| first_error(&e))?;
            let same = |v: &CustomerView| {
                let mut v = serde_json::to_value(v).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("updated_at");
                }
                v
            };
            Ok(if same(&before) == same(&after) {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            })
        }
    }
}

/// Records one order row (orders are facts: the same `external_id` with
/// other values is an error, not an update).
async fn order_row(
    db: &DatabaseTransaction,
    actor: &Actor,
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Outcome, (String, String)> {
    if !fields.contains_key("external_id") {
        return Err((
            "external_id".into(),
            "is required to import (rows are matched by it)".into(),
        ));
    }
    let new: NewOrder = input(fields)?;
    let (amount, currency) = (new.amount_minor, new.currency.trim().to_uppercase());
    match super::orders::record(db, actor, new)
        .await
        .map_err(|e| first_error(&e))?
    {
        super::orders::Recorded::Created(_) => Ok(Outcome::Created),
        super::orders::Recorded::Existing(o) if o.amount_minor == amount && o.currency == currency => {
            Ok(Outcome::Unchanged)
        }
        super::orders::Recorded::Existing(_) => Err((
            "external_id".into(),
            "an order with this external_id exists with another amount or currency".into(),
        )),
    }
}

/// Imports an upload (spooled to `path`): each row validated, valid rows
/// written batch by batch, each in a savepoint; `dry_run` writes nothing but
/// the report.
///
/// # Errors
/// `Forbidden` unless admin or manager; `BadRequest` for an unreadable header.
pub async fn import(
    db: &impl Store,
    actor: &Actor,
    kind: ImportKind,
    format: BulkFormat,
    dry_run: bool,
    path: &std::path::Path,
) -> AppResult<ImportReport> {
    policy::manage_customers(actor)?;
    let (mut rows, columns) = Rows::open(path, format)?;
    let columns: Vec<String> = columns.iter().map(|c| c.replace('\0', "\u{fffd}")).collect();
    let id = super::new_id();
    let started_at = super::now();
    import_run::ActiveModel {
        id: Set(id),
        kind: Set(kind.as_str().into()),
        format: Set(format.as_str().into()),
        dry_run: Set(dry_run),
        columns: Set(json!(columns)),
        rows: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        failed: Set(0),
        created_by: Set(actor.sub.clone()),
        started_at: Set(started_at),
        finished_at: Set(None),
    }
    .insert(db)
    .await?;
    let (mut number, mut created, mut updated, mut unchanged) = (0_i64, 0_i64, 0_i64, 0_i64);
    let mut errors: Vec<RowError> = Vec::new();
    let mut failed = 0_i64;
    // The row each external_id first appeared in: a later row with the same
    // one is an error, so a file imported twice changes nothing the second time.
    let mut seen: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let Some(next) = rows.next(number + 1) else { break };
            number += 1;
            batch.push(next);
        }
        if batch.is_empty() {
            break;
        }
        let txn = super::begin(db).await?;
        let mut refused: Vec<import_error::ActiveModel> = Vec::new();
        for item in batch {
            let item = match item {
                Ok(mut row) => {
                    let in_fields = serde_json::Value::Object(row.fields.clone())
                        .to_string()
                        .contains("\\u0000");
                    if scrub(&mut row.cells) || in_fields {
                        Err((row, crate::http::edge::NUL_MESSAGE.to_owned()))
                    } else {
                        Ok(row)
                    }
                }
                Err((mut row, why)) => {
                    scrub(&mut row.cells);
                    Err((row, why.replace('\0', "\u{fffd}")))
                }
            };
            let (row, outcome) = match item {
                Err((row, why)) => (row, Err(("row".to_owned(), why))),
                Ok(mut row) => {
                    let fields = std::mem::take(&mut row.fields);
                    let ext = fields.get("external_id").and_then(|v| v.as_str()).map(str::to_owned);
                    let first = ext.as_ref().and_then(|e| seen.get(e).copied());
                    let outcome = match first {
                        Some(first) => Err((
                            "external_id".to_owned(),
                            format!("repeats row {first} of this file, which counts"),
                        )),
                        None => {
                            if let Some(e) = ext {
                                seen.insert(e, row.number);
                            }
                            write_row(&txn, actor, kind, fields).await
                        }
                    };
                    (row, outcome)
                }
            };
            match outcome {
                Ok(Outcome::Created) => created += 1,
                Ok(Outcome::Updated) => updated += 1,
                Ok(Outcome::Unchanged) => unchanged += 1,
                Err((field, error)) => {
                    let (field, error) = (field.replace('\0', "\u{fffd}"), error.replace('\0', "\u{fffd}"));
                    failed += 1;
                    if errors.len() < LISTED_ERRORS {
                        errors.push(RowError {
                            row: row.number,
                            field: field.clone(),
                            error: error.clone(),
                        });
                    }
                    refused.push(import_error::ActiveModel {
                        import_id: Set(id),
                        row: Set(row.number),
                        field: Set(field),
                        error: Set(error),
                        cells: Set(row.cells),
                        ..Default::default()
                    });
                }
            }
        }
        if dry_run {
            txn.rollback().await?;
        } else {
            txn.commit().await?;
        }
        if !refused.is_empty() {
            import_error::Entity::insert_many(refused)
                .exec_without_returning(db)
                .await?;
        }
    }
    let finished_at = super::now();
    import_run::Entity::update_many()
        .col_expr(import_run::Column::Rows, Expr::value(number))
        .col_expr(import_run::Column::Created, Expr::value(created))
        .col_expr(import_run::Column::Updated, Expr::value(updated))
        .col_expr(import_run::Column::Unchanged, Expr::value(unchanged))
        .col_expr(import_run::Column::Failed, Expr::value(failed))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Some(finished_at)))
        .filter(import_run::Column::Id.eq(id))
        .exec(db)
        .await?;
    tracing::info!(import_id = %id, rows = number, created, updated, unchanged, failed, "import finished");
    Ok(ImportReport {
        id,
        kind,
        format,
        dry_run,
        rows: number,
        created,
        updated,
        unchanged,
        failed,
        errors,
        errors_url: format!("/api/v1/imports/{id}/errors"),
        started_at,
        finished_at,
    })
}

/// One row in its own savepoint: kept when it wrote, dropped when it failed
/// or changed nothing.
async fn write_row(
    txn: &DatabaseTransaction,
    actor: &Actor,
    kind: ImportKind,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Outcome, (String, String)> {
    typed(kind, &mut fields)?;
    let sp = txn.open().await.map_err(|e| first_error(&e.into()))?;
    let outcome = match kind {
        ImportKind::Customers => customer_row(&sp, actor, fields).await,
        ImportKind::Orders => order_row(&sp, actor, fields).await,
    };
    let kept = match &outcome {
        Ok(Outcome::Created | Outcome::Updated) => sp.commit().await,
        _ => sp.rollback().await,
    };
    kept.map_err(|e| first_error(&e.into()))?;
    outcome
}

/// The failed rows of an import, in their original columns (CSV) or objects
/// (NDJSON), each with `_row`, `_field` and `_error`, ready to fix and send
/// again.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`.
pub async fn errors_file(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    format: Option<BulkFormat>,
) -> AppResult<(BulkFormat, Vec<u8>)> {
    policy::manage_customers(actor)?;
    let run = import_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("import"))?;
    let format = format.unwrap_or_else(|| BulkFormat::from_db(&run.format));
    let errors = import_error::Entity::find()
        .filter(import_error::Column::ImportId.eq(id))
        .order_by_asc(import_error::Column::Row)
        .all(db)
        .await?;
    let columns: Vec<String> = serde_json::from_value(run.columns).unwrap_or_default();
    let mut out = Vec::new();
    match format {
        BulkFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            let header: Vec<&str> = columns
                .iter()
                .map(String::as_str)
                .chain(["_row", "_field", "_error"])
                .collect();
            w.write_record(&header).map_err(|e| AppError::Internal(e.into()))?;
            for e in errors {
                let mut cells: Vec<String> = match &e.cells {
                    serde_json::Value::Array(cells) => cells
                        .iter()
                        .map(|c| c.as_str().unwrap_or_default().to_owned())
                        .collect(),
                    serde_json::Value::Object(map) => columns
                        .iter()
                        .map(|c| map.get(c).map(cell_text).unwrap_or_default())
                        .collect(),
                    _ => Vec::new(),
                };
                cells.resize(columns.len(), String::new());
                cells.extend([e.row.to_string(), e.field, e.error]);
                w.write_record(&cells).map_err(|e| AppError::Internal(e.into()))?;
            }
            w.flush().map_err(|e| AppError::Internal(e.into()))?;
        }
        BulkFormat::Ndjson => {
            for e in errors {
                let mut object = match e.cells {
                    serde_json::Value::Object(map) => map,
                    serde_json::Value::Array(cells) => columns.iter().zip(cells).map(|(c, v)| (c.clone(), v)).collect(),
                    _ => serde_json::Map::new(),
                };
                object.insert("_row".into(), json!(e.row));
                object.insert("_field".into(), json!(e.field));
                object.insert("_error".into(), json!(e.error));
                out.extend_from_slice(serde_json::Value::Object(object).to_string().as_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok((format, out))
}

fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_restored() {
        for cell in ["=SUM(A1)", "+33 6 12", "-1", "@cmd", "\tx", "\rx"] {
            let out = neutralise(cell);
            assert!(out.starts_with('\''), "{cell}");
            assert_eq!(restore(&out), cell);
        }
        assert_eq!(neutralise("plain"), "plain");
        assert_eq!(restore("'quoted"), "'quoted", "a quote that was typed stays");
    }
}
