//! Bulk export and import of customers and orders. Exports stream page by
//! page through the list's own filters and masking; imports read an upload
//! spooled to disk record by record, validate each row with the same rules
//! as the API, and write each batch in one transaction (each row in a
//! savepoint, so a bad row never fails its batch).

mod import;

pub use import::{errors_file, import};

use futures_util::Stream;

use crate::auth::Actor;
use crate::contract::customers::{CustomerFilter, CustomerSort, CustomerView};
use crate::contract::surveys::{ResponseFilter, ResponseView};
use crate::domain::pagination::PageRequest;
use crate::error::AppResult;
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
    pages(move |request| {
        let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
        async move { super::customer_list::list(&db, &actor, &filter, sort, &request).await }
    })
}

/// A survey's responses, page after page, as the caller may see them
/// (comments and text answers masked for analysts).
pub fn survey_responses<S: Store + Clone + 'static>(
    db: S,
    actor: Actor,
    survey_id: uuid::Uuid,
    filter: ResponseFilter,
) -> impl Stream<Item = AppResult<Vec<ResponseView>>> {
    pages(move |request| {
        let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
        async move { super::surveys::list_responses(&db, &actor, survey_id, &filter, &request).await }
    })
}

/// Any list, read page after page through its own cursor.
fn pages<T, F, Fut>(list: F) -> impl Stream<Item = AppResult<Vec<T>>>
where
    F: Fn(PageRequest) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = AppResult<crate::contract::Page<T>>>,
{
    let start = Some(PageRequest {
        limit: EXPORT_PAGE,
        after: None,
    });
    futures_util::stream::unfold(start, move |request| {
        let list = list.clone();
        async move {
            let request = request?;
            match list(request).await {
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
