//! Reading an upload: CSV with a header, or NDJSON, record by record from
//! the spooled file, each record as its cells (kept for the errors file)
//! and its fields.

use serde_json::json;

use super::super::restore;
use crate::contract::bulk::BulkFormat;
use crate::error::{AppError, AppResult};

/// Columns an export writes that an import does not take.
pub(super) const EXPORT_ONLY: [&str; 4] = ["id", "created_at", "updated_at", "last_contacted_at"];

/// One row of an upload: its number, what was sent, and its fields.
pub(super) struct Row {
    pub(super) number: i64,
    pub(super) cells: serde_json::Value,
    pub(super) fields: serde_json::Map<String, serde_json::Value>,
}

/// Reads an upload record by record.
pub(super) enum Rows {
    Csv(csv::StringRecordsIntoIter<std::fs::File>, Vec<String>),
    Ndjson(std::io::Lines<std::io::BufReader<std::fs::File>>),
}

impl Rows {
    pub(super) fn open(path: &std::path::Path, format: BulkFormat) -> AppResult<(Self, Vec<String>)> {
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
    pub(super) fn next(&mut self, number: i64) -> Option<Result<Row, (Row, String)>> {
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
pub(super) fn scrub(v: &mut serde_json::Value) -> bool {
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
