//! Stored answers of idempotent requests (the HTTP side is
//! `http::idempotency`): found and saved inside the request's transaction.

use chrono::Duration;
use entity::idempotency_key;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, Set,
    Statement,
};
use serde_json::json;

use super::now;
use crate::error::AppError;

/// Opens the request's transaction; `None` while another instance runs the
/// same key (PostgreSQL; SQLite has one writer and the in-process set).
pub async fn open(db: &DatabaseConnection, scope: &str) -> Result<Option<DatabaseTransaction>, AppError> {
    let txn = super::begin(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                // The lock is the cluster's: the database's name keeps two
                // databases on one server (staging and production) apart.
                "SELECT pg_try_advisory_xact_lock(hashtextextended(current_database() || $1, 7)) AS got",
                [scope.into()],
            ))
            .await?;
        if !row.map(|r| r.try_get::<bool>("", "got")).transpose()?.unwrap_or(false) {
            return Ok(None);
        }
    }
    Ok(Some(txn))
}

/// An answer to store.
pub struct Answer<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub location: Option<&'a str>,
    pub body: &'a [u8],
}

/// Where an answer is stored.
pub struct Stored {
    pub subject: String,
    pub method: String,
    pub route: String,
    pub key: String,
}

impl Stored {
    fn filter<E: EntityTrait<Column = idempotency_key::Column>>(&self, q: sea_orm::Select<E>) -> sea_orm::Select<E> {
        q.filter(idempotency_key::Column::Subject.eq(&self.subject))
            .filter(idempotency_key::Column::Method.eq(&self.method))
            .filter(idempotency_key::Column::Route.eq(&self.route))
            .filter(idempotency_key::Column::Key.eq(&self.key))
    }

    pub async fn find(&self, txn: &DatabaseTransaction) -> Result<Option<idempotency_key::Model>, AppError> {
        Ok(self
            .filter(idempotency_key::Entity::find())
            .filter(idempotency_key::Column::ExpiresAt.gt(now()))
            .one(txn)
            .await?)
    }

    pub async fn save(
        &self,
        txn: &DatabaseTransaction,
        fingerprint: &str,
        answer: &Answer<'_>,
        retention: Duration,
    ) -> Result<(), AppError> {
        let at = now();
        let row = idempotency_key::ActiveModel {
            subject: Set(self.subject.clone()),
            method: Set(self.method.clone()),
            route: Set(self.route.clone()),
            key: Set(self.key.clone()),
            fingerprint: Set(fingerprint.to_owned()),
            status: Set(i32::from(answer.status)),
            headers: Set(json!({"content-type": answer.content_type, "location": answer.location})),
            body: Set(String::from_utf8_lossy(answer.body).into_owned()),
            created_at: Set(at),
            expires_at: Set(at + retention),
        };
        // An expired answer under the same key gives way to the new one.
        idempotency_key::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::Subject,
                    idempotency_key::Column::Method,
                    idempotency_key::Column::Route,
                    idempotency_key::Column::Key,
                ])
                .update_columns([
                    idempotency_key::Column::Fingerprint,
                    idempotency_key::Column::Status,
                    idempotency_key::Column::Headers,
                    idempotency_key::Column::Body,
                    idempotency_key::Column::CreatedAt,
                    idempotency_key::Column::ExpiresAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }
}

/// Deletes stored answers past their time; returns how many.
///
/// # Errors
/// Database failures.
pub async fn purge(db: &DatabaseConnection) -> Result<u64, AppError> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(now()))
        .exec(db)
        .await?
        .rows_affected)
}
