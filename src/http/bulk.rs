//! `/exports` and `/imports`: customers and orders in bulk, as CSV or NDJSON.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use super::extract::{Query, parse_id, parse_query};
use super::problem::Problem;
use super::{Db, ErrorResponses, ReadDb};
use crate::auth::BearerAuth;
use crate::contract::bulk::{BulkFormat, ExportFormatQuery, ImportKind, ImportQuery, ImportReport};
use crate::contract::customers::CustomerListQuery;
use crate::contract::surveys::ResponseFilter;
use crate::error::{AppError, AppResult};
use crate::service::bulk;

/// The largest upload an import takes, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct ImportLimit(pub usize);

/// The CSV columns of a customer export (an import takes the same).
const CUSTOMER_COLUMNS: [&str; 27] = [
    "id",
    "external_id",
    "kind",
    "name",
    "email",
    "phone",
    "company",
    "industry",
    "size_band",
    "country",
    "city",
    "source",
    "owner_id",
    "value_tier",
    "tier_locked",
    "lifecycle_stage",
    "tags",
    "preferred_channel",
    "preferred_language",
    "birthday",
    "relationship_start",
    "time_zone",
    "cadence_days",
    "marketing_consent",
    "custom_attributes",
    "notes",
    "created_at",
];

/// The CSV columns of a survey response export (`answers` as JSON text).
const RESPONSE_COLUMNS: [&str; 14] = [
    "id",
    "survey_id",
    "invitation_id",
    "customer_id",
    "status",
    "score",
    "comment",
    "answers",
    "language",
    "channel",
    "feedback_id",
    "opened_feedback_id",
    "started_at",
    "finished_at",
];

/// One row's cells in `columns` order; cells a spreadsheet would run as
/// formulas are neutralised.
fn csv_cells(v: &impl serde::Serialize, columns: &[&str]) -> Vec<String> {
    let value = serde_json::to_value(v).unwrap_or_default();
    columns
        .iter()
        .map(|c| match (c, &value[*c]) {
            (_, serde_json::Value::Null) => String::new(),
            (&"tags", serde_json::Value::Array(tags)) => {
                tags.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join(";")
            }
            (_, serde_json::Value::String(s)) => bulk::neutralise(s),
            (_, other) => bulk::neutralise(&other.to_string()),
        })
        .collect()
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(cells);
        let _ = w.flush();
    }
    out
}

fn encode<T: serde::Serialize>(format: BulkFormat, columns: &[&str], page: &[T]) -> web::Bytes {
    let mut out = Vec::new();
    for v in page {
        match format {
            BulkFormat::Csv => out.extend(csv_line(&csv_cells(v, columns))),
            BulkFormat::Ndjson => {
                out.extend(serde_json::to_vec(v).unwrap_or_default());
                out.push(b'\n');
            }
        }
    }
    web::Bytes::from(out)
}

/// Customers, as the list filters them and the caller may see them (masked
/// for analysts), streamed page by page: CSV (a header row; cells a
/// spreadsheet would run as formulas start with `'`, which an import takes
/// off again) or NDJSON.
#[utoipa::path(get, path = "/api/v1/exports/customers", tag = "bulk", params(CustomerListQuery, ExportFormatQuery),
    responses((status = 200, description = "The customers, CSV or NDJSON", content(
        (String = "text/csv"), (String = "application/x-ndjson"))), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn export_customers(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (format, rest) = split_format(&req)?;
    let (filter, sort) = parse_query::<CustomerListQuery>(&rest)?.into_parts();
    streamed(
        format,
        &CUSTOMER_COLUMNS,
        "customers",
        bulk::customers(db, actor, filter, sort),
    )
    .await
}

/// A survey's responses as the response list filters them and the caller
/// may see them (comments and text answers masked for analysts), streamed:
/// CSV (a header row, `answers` as JSON text, formula cells neutralised) or
/// NDJSON.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/responses/export", tag = "surveys",
    params(("id" = uuid::Uuid, Path), ResponseFilter, ExportFormatQuery),
    responses((status = 200, description = "The responses, CSV or NDJSON", content(
        (String = "text/csv"), (String = "application/x-ndjson"))), ErrorResponses),
    security(("bearer" = ["admin", "manager", "agent", "analyst"])))]
pub async fn export_survey_responses(
    ReadDb(db): ReadDb,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "survey")?;
    let (format, rest) = split_format(&req)?;
    let filter = parse_query::<ResponseFilter>(&rest)?;
    streamed(
        format,
        &RESPONSE_COLUMNS,
        "responses",
        bulk::survey_responses(db, actor, id, filter),
    )
    .await
}

/// The export format (`format`, default CSV) and the rest of the query.
fn split_format(req: &HttpRequest) -> AppResult<(BulkFormat, String)> {
    let (format, rest): (Vec<_>, Vec<_>) =
        form_urlencoded::parse(req.query_string().as_bytes()).partition(|(k, _)| k == "format");
    let encode_pairs = |pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let format = parse_query::<ExportFormatQuery>(&encode_pairs(format))?
        .format
        .unwrap_or(BulkFormat::Csv);
    Ok((format, encode_pairs(rest)))
}

/// Streams a list's pages as a file: the first page is read before the
/// answer starts, so its errors (role, a refused filter) are problems.
async fn streamed<T: serde::Serialize + 'static>(
    format: BulkFormat,
    columns: &'static [&'static str],
    name: &str,
    pages: impl futures_util::Stream<Item = AppResult<Vec<T>>> + 'static,
) -> AppResult<HttpResponse> {
    let mut pages = Box::pin(pages);
    let first = pages.next().await.transpose()?.unwrap_or_default();
    let head = match format {
        BulkFormat::Csv => web::Bytes::from(csv_line(&columns.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>())),
        BulkFormat::Ndjson => web::Bytes::new(),
    };
    let first = futures_util::stream::iter([Ok::<_, AppError>(head), Ok(encode(format, columns, &first))]);
    let rest = pages.map(move |page| page.map(|p| encode(format, columns, &p)));
    let (content_type, extension) = match format {
        BulkFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        BulkFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{extension}\""),
        ))
        .streaming(first.chain(rest)))
}

/// The format of an upload: its content type when that says, else `format`.
fn upload_format(req: &HttpRequest, asked: Option<BulkFormat>) -> AppResult<BulkFormat> {
    let mime = req.mime_type().ok().flatten();
    match mime.as_ref().map(|m| m.essence_str()) {
        Some("text/csv") => Ok(BulkFormat::Csv),
        Some("application/x-ndjson" | "application/ndjson") => Ok(BulkFormat::Ndjson),
        Some("application/octet-stream") | None => Ok(asked.unwrap_or(BulkFormat::Csv)),
        _ => Err(AppError::UnsupportedMediaType(
            "application/octet-stream (with format), text/csv or application/x-ndjson",
        )),
    }
}

/// Writes the upload to a temporary file as it arrives, up to the limit.
async fn spool(req: &HttpRequest, mut payload: web::Payload) -> AppResult<tempfile_path::TempPath> {
    let limit = req.app_data::<web::Data<ImportLimit>>().map_or(usize::MAX, |l| l.0);
    let path = tempfile_path::TempPath::new();
    let mut file = tokio::fs::File::create(&path.0)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut written = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("the upload broke off: {e}")))?;
        written += chunk.len();
        if written > limit {
            return Err(AppError::PayloadTooLarge(limit));
        }
        file.write_all(&chunk).await.map_err(|e| AppError::Internal(e.into()))?;
    }
    file.flush().await.map_err(|e| AppError::Internal(e.into()))?;
    if written == 0 {
        return Err(AppError::BadRequest("an import needs a file: the body is empty".into()));
    }
    Ok(path)
}

/// A temporary file that is removed when dropped.
mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);

    impl TempPath {
        pub fn new() -> Self {
            Self(std::env::temp_dir().join(format!("rapport-import-{}", uuid::Uuid::now_v7())))
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

async fn import(
    db: Db,
    actor: crate::auth::Actor,
    kind: ImportKind,
    query: ImportQuery,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    crate::auth::policy::manage_customers(&actor)?;
    let format = upload_format(&req, query.format)?;
    let file = spool(&req, payload).await?;
    let report = bulk::import(&db, &actor, kind, format, query.dry_run.unwrap_or(false), &file.0).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Upserts customers by `external_id` from CSV (the export's columns; tags
/// `;`-separated, custom attributes as JSON) or NDJSON, streamed to disk, so
/// any number of rows. Each row is checked as `POST /customers` checks it;
/// valid rows commit in batches of 500, invalid ones never (the same
/// `external_id` twice: the later row wins; an e-mail of another customer: a
/// row error). `dry_run=true` checks without writing.
#[utoipa::path(post, path = "/api/v1/imports/customers", tag = "bulk", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file: CSV with a header row, or NDJSON, as `format` says (`Content-Type: text/csv` or `application/x-ndjson` say it too)"),
    responses((status = 200, body = ImportReport), ErrorResponses,
        (status = 415, description = "Not a file type imports take", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin", "manager"])))]
pub async fn import_customers(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Query(query): Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    import(db, actor, ImportKind::Customers, query, req, payload).await
}

/// Records orders by `external_id` (with `customer_external_id`,
/// `amount_minor`, `currency`, `ordered_at`) from CSV or NDJSON; an order
/// already recorded with the same values is unchanged, with other values a
/// row error.
#[utoipa::path(post, path = "/api/v1/imports/orders", tag = "bulk", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file: CSV with a header row, or NDJSON, as `format` says (`Content-Type: text/csv` or `application/x-ndjson` say it too)"),
    responses((status = 200, body = ImportReport), ErrorResponses,
        (status = 415, description = "Not a file type imports take", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin", "manager"])))]
pub async fn import_orders(
    db: Db,
    BearerAuth(actor): BearerAuth,
    Query(query): Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    import(db, actor, ImportKind::Orders, query, req, payload).await
}

/// The rows an import refused, in their original columns plus `_row`,
/// `_field` and `_error`: fix them and send the file again.
#[utoipa::path(get, path = "/api/v1/imports/{id}/errors", tag = "bulk",
    params(("id" = uuid::Uuid, Path), ExportFormatQuery),
    responses((status = 200, description = "The failed rows", content(
        (String = "text/csv"), (String = "application/x-ndjson"))), ErrorResponses),
    security(("bearer" = ["admin", "manager"])))]
pub async fn get_import_errors(
    db: Db,
    BearerAuth(actor): BearerAuth,
    id: web::Path<String>,
    Query(query): Query<ExportFormatQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id, "import")?;
    let (format, body) = bulk::errors_file(&db, &actor, id, query.format).await?;
    Ok(HttpResponse::Ok()
        .content_type(match format {
            BulkFormat::Csv => "text/csv; charset=utf-8",
            BulkFormat::Ndjson => "application/x-ndjson",
        })
        .body(body))
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    export_customers,
    export_survey_responses,
    import_customers,
    import_orders,
    get_import_errors
))]
pub struct Doc;

/// Mounts this module's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/exports/customers").route(web::get().to(export_customers)))
        .service(web::resource("/surveys/{id}/responses/export").route(web::get().to(export_survey_responses)))
        .service(web::resource("/imports/customers").route(web::post().to(import_customers)))
        .service(web::resource("/imports/orders").route(web::post().to(import_orders)))
        .service(web::resource("/imports/{id}/errors").route(web::get().to(get_import_errors)));
}
