//! DataLoaders: each relation of a page of customers costs one statement.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{contact, customer_rfm, feedback_item, interaction, order};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::contract::orders::OrderSummary;
use crate::service::overview::OPEN_FEEDBACK;
use crate::service::{contacts, feedback, latest_per_customer, orders, rfm};

/// A per-request loader with a cache, so values fed ahead are served from it.
pub type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request (fresh per request, so caches never go stale).
pub struct Loaders {
    pub contacts: Cached<ContactsLoader>,
    pub orders: Cached<RecentLoader<order::Entity>>,
    pub interactions: Cached<RecentLoader<interaction::Entity>>,
    pub summaries: Cached<SummaryLoader>,
    pub rfm: Cached<RfmLoader>,
    pub open_feedback: Cached<OpenFeedbackLoader>,
}

/// How long a loader waits for more keys before it queries.
const BATCH_WINDOW: Duration = Duration::from_millis(2);

fn loader<L>(l: L) -> Cached<L> {
    DataLoader::with_cache(l, tokio::spawn, HashMapCache::default()).delay(BATCH_WINDOW)
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            contacts: loader(ContactsLoader(db.clone())),
            orders: loader(RecentLoader {
                db: db.clone(),
                table: order::Entity,
                time: "ordered_at",
            }),
            interactions: loader(RecentLoader {
                db: db.clone(),
                table: interaction::Entity,
                time: "occurred_at",
            }),
            summaries: loader(SummaryLoader(db.clone())),
            rfm: loader(RfmLoader(db.clone())),
            open_feedback: loader(OpenFeedbackLoader(db)),
        }
    }
}

/// A customer's contacts.
pub struct ContactsLoader(DatabaseConnection);

impl Loader<Uuid> for ContactsLoader {
    type Value = Vec<contact::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = contacts::list_for(&self.0, keys).await.map_err(|e| e.extend())?;
        let mut map: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(row.customer_id).or_default().push(row);
        }
        Ok(map)
    }
}

/// The newest `limit` rows of a table per customer; keys are (customer, limit).
pub struct RecentLoader<E> {
    db: DatabaseConnection,
    table: E,
    time: &'static str,
}

/// Rows of the tables `RecentLoader` reads carry their customer.
pub trait OfCustomer {
    fn customer_id(&self) -> Uuid;
}

impl OfCustomer for order::Model {
    fn customer_id(&self) -> Uuid {
        self.customer_id
    }
}

impl OfCustomer for interaction::Model {
    fn customer_id(&self) -> Uuid {
        self.customer_id
    }
}

impl<E> Loader<(Uuid, u64)> for RecentLoader<E>
where
    E: sea_orm::EntityTrait + Copy + Sync,
    E::Model: OfCustomer + Clone + Send + Sync,
{
    type Value = Vec<E::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, u64)]) -> Result<HashMap<(Uuid, u64), Self::Value>, Self::Error> {
        let mut by_limit: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for (id, limit) in keys {
            by_limit.entry(*limit).or_default().push(*id);
        }
        let mut map: HashMap<(Uuid, u64), Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (limit, ids) in by_limit {
            let rows = latest_per_customer(&self.db, self.table, self.time, &ids, limit)
                .await
                .map_err(|e| e.extend())?;
            for row in rows {
                map.entry((row.customer_id(), limit)).or_default().push(row);
            }
        }
        Ok(map)
    }
}

/// Order summaries.
pub struct SummaryLoader(DatabaseConnection);

impl Loader<Uuid> for SummaryLoader {
    type Value = OrderSummary;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(orders::summaries(&self.0, keys)
            .await
            .map_err(|e| e.extend())?
            .into_iter()
            .collect())
    }
}

/// RFM rows (customers without completed orders have none).
pub struct RfmLoader(DatabaseConnection);

impl Loader<Uuid> for RfmLoader {
    /// `None` is kept too, so a customer without scores is not asked for again.
    type Value = Option<customer_rfm::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut map: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, None)).collect();
        for row in rfm::for_customers(&self.0, keys).await.map_err(|e| e.extend())? {
            map.insert(row.customer_id, Some(row));
        }
        Ok(map)
    }
}

/// Feedback items not yet closed, newest first.
pub struct OpenFeedbackLoader(DatabaseConnection);

impl Loader<Uuid> for OpenFeedbackLoader {
    type Value = Vec<feedback_item::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = feedback::open_for(&self.0, keys, OPEN_FEEDBACK)
            .await
            .map_err(|e| e.extend())?;
        let mut map: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(row.customer_id).or_default().push(row);
        }
        Ok(map)
    }
}

/// Loads the relations a query asks for on a page of customers, one statement
/// each, and feeds them to the loaders. A timer-batched loader can split a
/// batch when the machine is busy; loading ahead keeps the statement count of
/// a page fixed whatever the load.
///
/// # Errors
/// Database failures; a bad `limit` argument.
pub async fn prefetch(
    ctx: &async_graphql::Context<'_>,
    node: async_graphql::Lookahead<'_>,
    ids: &[Uuid],
) -> async_graphql::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let loaders = ctx.data::<Loaders>()?;
    if node.field("contacts").exists() {
        let values = loaders.contacts.loader().load(ids).await?;
        loaders.contacts.feed_many(values).await;
    }
    if node.field("orderSummary").exists() {
        let values = loaders.summaries.loader().load(ids).await?;
        loaders.summaries.feed_many(values).await;
    }
    if node.field("openFeedback").exists() {
        let values = loaders.open_feedback.loader().load(ids).await?;
        loaders.open_feedback.feed_many(values).await;
    }
    if node.field("rfm").exists() {
        let values = loaders.rfm.loader().load(ids).await?;
        loaders.rfm.feed_many(values).await;
    }
    for field in node.field("orders").selection_fields() {
        let keys = keys_for(ids, &field)?;
        let values = loaders.orders.loader().load(&keys).await?;
        loaders.orders.feed_many(values).await;
    }
    for field in node.field("interactions").selection_fields() {
        let keys = keys_for(ids, &field)?;
        let values = loaders.interactions.loader().load(&keys).await?;
        loaders.interactions.feed_many(values).await;
    }
    Ok(())
}

/// (customer, limit) keys for one occurrence of a list field; the limit is
/// its `limit` argument or the default the schema declares.
fn keys_for(ids: &[Uuid], field: &async_graphql::SelectionField<'_>) -> async_graphql::Result<Vec<(Uuid, u64)>> {
    let mut limit = super::paging::DEFAULT_NESTED;
    for (name, value) in field.arguments()? {
        if let ("limit", async_graphql::Value::Number(n)) = (name.as_str(), value) {
            limit = n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
        }
    }
    let limit = super::paging::nested_limit(limit)?;
    Ok(ids.iter().map(|id| (*id, limit)).collect())
}
