//! Imports: an upload spooled to disk, read record by record, each row
//! checked by the API's rules in a savepoint, batches of 500 in one
//! transaction; the refused rows kept for the errors file.

use std::collections::HashMap;

use entity::{customer, import_error, import_key, import_run};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

mod rows;

use crate::auth::{Actor, policy};
use crate::contract::bulk::{BulkFormat, ImportKind, ImportReport, RowError};
use crate::contract::customers::{CustomerPatch, CustomerView, NewCustomer};
use crate::contract::orders::NewOrder;
use crate::error::{AppError, AppResult};
use crate::service::{self, Store};
use rows::{Row, Rows, scrub};

/// Rows written per transaction.
const BATCH: usize = 500;
/// How long a batch waits for a busy SQLite file before the import fails.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);
/// Row errors listed in the reply (all are kept for the errors file).
const LISTED_ERRORS: usize = 20;
/// How a row ended.
enum Outcome {
    Created,
    Updated,
    Unchanged,
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
            (ImportKind::Customers, "cadence_days") => json!(
                text.parse::<i32>()
                    .map_err(|_| (name.clone(), "must be a whole number of days".to_owned()))?
            ),
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
            service::customers::create(db, actor, new)
                .await
                .map_err(|e| first_error(&e))?;
            Ok(Outcome::Created)
        }
        Some(current) => {
            let before = service::customers::to_view(current.clone(), actor);
            let after = service::customers::update(db, actor, current.id, CustomerPatch::from(new))
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
    let id = service::new_id();
    let started_at = service::now();
    let begun = service::begin_patiently(db, PATIENCE).await?;
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
    .insert(&begun)
    .await?;
    begun.commit().await?;
    let (mut number, mut created, mut updated, mut unchanged) = (0_i64, 0_i64, 0_i64, 0_i64);
    let mut errors: Vec<RowError> = Vec::new();
    let mut failed = 0_i64;
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
        // Each row read and checked on its own, then the batch written.
        let mut read = Vec::with_capacity(batch.len());
        for item in batch {
            read.push(match screened(item) {
                Err((row, why)) => (row, Err(("row".to_owned(), why))),
                Ok(mut row) => {
                    let fields = std::mem::take(&mut row.fields);
                    (row, Ok(fields))
                }
            });
        }
        // Every write waits patiently for a busy SQLite file; a dry run keeps
        // the ids it met (and its refused rows) outside the rolled-back batch.
        if dry_run {
            let keys = service::begin_patiently(db, PATIENCE).await?;
            first_rows(&keys, id, &mut read).await?;
            keys.commit().await?;
        }
        let txn = service::begin_patiently(db, PATIENCE).await?;
        if !dry_run {
            first_rows(&txn, id, &mut read).await?;
        }
        let mut refused: Vec<import_error::ActiveModel> = Vec::new();
        let written = match kind {
            ImportKind::Customers => {
                let mut out = Vec::with_capacity(read.len());
                for (row, fields) in read {
                    let outcome = match fields {
                        Ok(fields) => write_customer(&txn, actor, fields).await,
                        Err(e) => Err(e),
                    };
                    out.push((row, outcome));
                }
                out
            }
            ImportKind::Orders => write_orders(&txn, actor, read).await?,
        };
        for (row, outcome) in written {
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
            if !refused.is_empty() {
                let errors = service::begin_patiently(db, PATIENCE).await?;
                import_error::Entity::insert_many(refused)
                    .exec_without_returning(&errors)
                    .await?;
                errors.commit().await?;
            }
        } else {
            if !refused.is_empty() {
                import_error::Entity::insert_many(refused)
                    .exec_without_returning(&txn)
                    .await?;
            }
            txn.commit().await?;
        }
    }
    let done = service::begin_patiently(db, PATIENCE).await?;
    import_key::Entity::delete_many()
        .filter(import_key::Column::ImportId.eq(id))
        .exec(&done)
        .await?;
    let finished_at = service::now();
    import_run::Entity::update_many()
        .col_expr(import_run::Column::Rows, Expr::value(number))
        .col_expr(import_run::Column::Created, Expr::value(created))
        .col_expr(import_run::Column::Updated, Expr::value(updated))
        .col_expr(import_run::Column::Unchanged, Expr::value(unchanged))
        .col_expr(import_run::Column::Failed, Expr::value(failed))
        .col_expr(import_run::Column::FinishedAt, Expr::value(Some(finished_at)))
        .filter(import_run::Column::Id.eq(id))
        .exec(&done)
        .await?;
    done.commit().await?;
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

type Fields = serde_json::Map<String, serde_json::Value>;
/// A batch's rows as read: each row's fields, or why it is refused.
type Read = Vec<(Row, Result<Fields, (String, String)>)>;

/// Refuses each row whose `external_id` an earlier row of the file already
/// brought, naming that row: the first counts, so a file imported twice
/// changes nothing the second time. The ids met are kept in `import_key`,
/// not in memory, so memory stays flat however long the file.
async fn first_rows(db: &impl Store, import_id: Uuid, read: &mut Read) -> AppResult<()> {
    let ext_of = |fields: &Result<Fields, (String, String)>| -> Option<String> {
        let ext = fields.as_ref().ok()?.get("external_id")?.as_str()?;
        // Longer ids fail validation anyway; they are not keys.
        (ext.chars().count() <= 255).then(|| ext.to_owned())
    };
    let mut first_here: HashMap<String, i64> = HashMap::new();
    for (row, fields) in read.iter() {
        if let Some(ext) = ext_of(fields) {
            first_here.entry(ext).or_insert(row.number);
        }
    }
    if first_here.is_empty() {
        return Ok(());
    }
    let keys = first_here.iter().map(|(ext, row)| import_key::ActiveModel {
        import_id: Set(import_id),
        external_id: Set(ext.clone()),
        row: Set(*row),
    });
    // The insert says which ids are new (the common case, one statement);
    // only those met in an earlier batch are looked up, for their row.
    let inserted: std::collections::HashSet<String> = match import_key::Entity::insert_many(keys)
        .on_conflict(
            OnConflict::columns([import_key::Column::ImportId, import_key::Column::ExternalId])
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(db)
        .await
    {
        Ok(rows) => rows.into_iter().map(|k| k.external_id).collect(),
        Err(sea_orm::DbErr::RecordNotInserted) => std::collections::HashSet::new(),
        Err(e) => return Err(e.into()),
    };
    let earlier: Vec<String> = first_here.keys().filter(|k| !inserted.contains(*k)).cloned().collect();
    let mut owners: HashMap<String, i64> = first_here;
    if !earlier.is_empty() {
        for k in import_key::Entity::find()
            .filter(import_key::Column::ImportId.eq(import_id))
            .filter(import_key::Column::ExternalId.is_in(earlier))
            .all(db)
            .await?
        {
            owners.insert(k.external_id, k.row);
        }
    }
    for (row, fields) in read.iter_mut() {
        let Some(ext) = ext_of(fields) else { continue };
        let first = owners.get(&ext).copied().unwrap_or(row.number);
        if first != row.number {
            *fields = Err((
                "external_id".to_owned(),
                format!("repeats row {first} of this file, which counts"),
            ));
        }
    }
    Ok(())
}

/// A row as read, its NUL characters turned into a row error (PostgreSQL
/// text cannot hold them).
fn screened(item: Result<Row, (Row, String)>) -> Result<Row, (Row, String)> {
    match item {
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
    }
}

/// One customer row in its own savepoint: kept when it wrote, dropped when
/// it failed or changed nothing.
async fn write_customer(
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Outcome, (String, String)> {
    typed(ImportKind::Customers, &mut fields)?;
    let sp = txn.open().await.map_err(|e| first_error(&e.into()))?;
    let outcome = customer_row(&sp, actor, fields).await;
    let kept = match &outcome {
        Ok(Outcome::Created | Outcome::Updated) => sp.commit().await,
        _ => sp.rollback().await,
    };
    kept.map_err(|e| first_error(&e.into()))?;
    outcome
}

/// A batch of order rows, recorded together (orders are facts: the same
/// `external_id` with other values is an error, not an update).
async fn write_orders(
    txn: &DatabaseTransaction,
    actor: &Actor,
    read: Read,
) -> AppResult<Vec<(Row, Result<Outcome, (String, String)>)>> {
    let mut out = Vec::with_capacity(read.len());
    let mut inputs = Vec::new();
    for (row, fields) in read {
        let order = fields.and_then(|mut fields| {
            typed(ImportKind::Orders, &mut fields)?;
            if !fields.contains_key("external_id") {
                return Err((
                    "external_id".into(),
                    "is required to import (rows are matched by it)".into(),
                ));
            }
            input::<NewOrder>(fields)
        });
        match order {
            Ok(order) => {
                let sent = (order.amount_minor, order.currency.trim().to_uppercase());
                inputs.push((out.len(), sent, order));
                out.push((row, Ok(Outcome::Unchanged)));
            }
            Err(e) => out.push((row, Err(e))),
        }
    }
    let (places, orders): (Vec<_>, Vec<_>) = inputs.into_iter().map(|(i, sent, o)| ((i, sent), o)).unzip();
    let recorded = service::orders::record_many(txn, actor, orders).await?;
    for ((i, (amount, currency)), result) in places.into_iter().zip(recorded) {
        out[i].1 = match result {
            Ok(service::orders::Recorded::Created(_)) => Ok(Outcome::Created),
            Ok(service::orders::Recorded::Existing(o)) if o.amount_minor == amount && o.currency == currency => {
                Ok(Outcome::Unchanged)
            }
            Ok(service::orders::Recorded::Existing(_)) => Err((
                "external_id".into(),
                "an order with this external_id exists with another amount or currency".into(),
            )),
            Err(e) => Err(first_error(&e)),
        };
    }
    Ok(out)
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
