//! DataLoaders: each relation of a page of customers costs one statement.

use std::collections::HashMap;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{contact, interaction, order};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::api::orders::OrderSummary;
use crate::service::{contacts, latest_per_customer, orders};

/// The loaders of one request (fresh per request, so caches never go stale).
pub struct Loaders {
    pub contacts: DataLoader<ContactsLoader>,
    pub orders: DataLoader<RecentLoader<order::Entity>>,
    pub interactions: DataLoader<RecentLoader<interaction::Entity>>,
    pub summaries: DataLoader<SummaryLoader>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            contacts: DataLoader::new(ContactsLoader(db.clone()), tokio::spawn),
            orders: DataLoader::new(
                RecentLoader {
                    db: db.clone(),
                    table: order::Entity,
                    time: "ordered_at",
                },
                tokio::spawn,
            ),
            interactions: DataLoader::new(
                RecentLoader {
                    db: db.clone(),
                    table: interaction::Entity,
                    time: "occurred_at",
                },
                tokio::spawn,
            ),
            summaries: DataLoader::new(SummaryLoader(db), tokio::spawn),
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
