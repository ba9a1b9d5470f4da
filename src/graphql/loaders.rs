//! The customer's relations through one DataLoader: a batch of (customer,
//! part) keys is one statement however many customers and parts it holds
//! (see `service::parts`).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::service::parts::{self, Part, PartValue};

/// The loaders of one request (fresh per request, so caches never go stale).
pub struct Loaders {
    pub parts: DataLoader<PartsLoader, HashMapCache>,
}

/// How long the loader waits for more keys before it queries.
const BATCH_WINDOW: Duration = Duration::from_millis(2);

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            parts: DataLoader::with_cache(PartsLoader(db), tokio::spawn, HashMapCache::default()).delay(BATCH_WINDOW),
        }
    }
}

/// Parts of customers, keyed by (customer, part).
pub struct PartsLoader(DatabaseConnection);

impl Loader<(Uuid, Part)> for PartsLoader {
    type Value = PartValue;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, Part)]) -> Result<HashMap<(Uuid, Part), Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let wanted: Vec<Part> = keys
            .iter()
            .map(|(_, p)| *p)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found = parts::load(&self.0, &ids, &wanted).await.map_err(|e| e.extend())?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let value = found.get_mut(&key.0)?.take(key.1)?;
                Some((*key, value))
            })
            .collect())
    }
}

/// One part of one customer, through the request's loader.
pub async fn part(c: &async_graphql::Context<'_>, id: Uuid, part: Part) -> async_graphql::Result<Option<PartValue>> {
    c.data::<Loaders>()?.parts.load_one((id, part)).await
}

/// The parts a selection of `Customer` fields asks for.
///
/// # Errors
/// A bad `limit` argument.
pub fn selected(node: async_graphql::Lookahead<'_>) -> async_graphql::Result<Vec<Part>> {
    let mut parts = Vec::new();
    for (field, part) in [
        ("contacts", Part::Contacts),
        ("orderSummary", Part::OrderSummary),
        (
            "openFeedback",
            Part::OpenFeedback(crate::service::overview::OPEN_FEEDBACK),
        ),
        ("rfm", Part::Rfm),
        ("loyalty", Part::Loyalty),
        ("openAlerts", Part::OpenAlerts(crate::service::overview::OPEN_WORK)),
        ("openTasks", Part::OpenTasks(crate::service::overview::OPEN_WORK)),
    ] {
        if node.field(field).exists() {
            parts.push(part);
        }
    }
    for field in node.field("orders").selection_fields() {
        parts.push(Part::RecentOrders(limit_of(&field)?));
    }
    for field in node.field("interactions").selection_fields() {
        parts.push(Part::RecentInteractions(limit_of(&field)?));
    }
    parts.sort();
    parts.dedup();
    Ok(parts)
}

/// Puts parts already read into the request's loader, so resolvers find them.
///
/// # Errors
/// The loaders are missing from the context.
pub async fn feed(
    c: &async_graphql::Context<'_>,
    read: HashMap<Uuid, parts::Parts>,
    wanted: &[Part],
) -> async_graphql::Result<()> {
    let mut values = Vec::new();
    for (id, mut parts) in read {
        for part in wanted {
            if let Some(value) = parts.take(*part) {
                values.push(((id, *part), value));
            }
        }
    }
    c.data::<Loaders>()?.parts.feed_many(values).await;
    Ok(())
}

/// Loads the parts a query selects on a page of customers in one statement
/// and feeds them to the loader. A timer-batched loader can split a batch when
/// the machine is busy; loading ahead keeps the statement count fixed.
///
/// # Errors
/// Database failures; a bad `limit` argument.
pub async fn prefetch(
    c: &async_graphql::Context<'_>,
    node: async_graphql::Lookahead<'_>,
    ids: &[Uuid],
) -> async_graphql::Result<()> {
    let wanted = selected(node)?;
    if ids.is_empty() || wanted.is_empty() {
        return Ok(());
    }
    let db = c.data::<DatabaseConnection>()?;
    let read = parts::load(db, ids, &wanted).await.map_err(|e| e.extend())?;
    feed(c, read, &wanted).await
}

/// The `limit` of one occurrence of a list field, or the schema's default.
fn limit_of(field: &async_graphql::SelectionField<'_>) -> async_graphql::Result<u64> {
    let mut limit = super::paging::DEFAULT_NESTED;
    for (name, value) in field.arguments()? {
        if let ("limit", async_graphql::Value::Number(n)) = (name.as_str(), value) {
            limit = n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
        }
    }
    super::paging::nested_limit(limit)
}
