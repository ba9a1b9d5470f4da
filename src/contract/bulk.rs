//! Bulk import and export: formats, reports and row errors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::value_enum;

value_enum!(
    /// A file format: CSV with a header row, or one JSON object per line.
    BulkFormat { Csv => "csv", Ndjson => "ndjson" }
);

value_enum!(
    /// What an import brings in.
    ImportKind { Customers => "customers", Orders => "orders" }
);

/// The format of an export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormatQuery {
    /// `csv` (default) or `ndjson`.
    pub format: Option<BulkFormat>,
}

/// Options of an import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Validate every row and report, writing nothing.
    pub dry_run: Option<bool>,
    /// `csv` (default) or `ndjson`, for an `application/octet-stream` upload.
    pub format: Option<BulkFormat>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub id: Uuid,
    pub kind: ImportKind,
    pub format: BulkFormat,
    pub dry_run: bool,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// The first row errors (all of them at `errors_url`).
    pub errors: Vec<RowError>,
    /// `GET` it (`?format=csv`) for the failed rows with their errors.
    pub errors_url: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// A failed row: where, which field, why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// 1 for the first data row (after a CSV header).
    pub row: i64,
    pub field: String,
    pub error: String,
}
