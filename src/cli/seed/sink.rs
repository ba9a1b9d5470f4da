//! Where the seed's batches go (see [`Sink`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use entity::{customer, customer_tag, order};
use sea_orm::sqlx::{self, AssertSqlSafe, Executor as _, PgConnection, PgPool, Postgres};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, TransactionTrait,
};

/// The tables the seed loads.
const LOADED: &str = "('customer'::regclass, 'customer_tag'::regclass, 'customer_order'::regclass)";

/// Where batches go: on PostgreSQL `COPY` on one connection inside one
/// transaction, with the loaded tables' secondary indexes and non-key
/// constraints dropped first and rebuilt at the end (the bulk-load recipe of
/// the PostgreSQL manual); elsewhere multi-row inserts in one transaction.
pub(super) enum Sink {
    Postgres {
        /// Rolls back when dropped, so a failed load leaves nothing behind
        /// and the connection goes back to the pool clean.
        conn: sqlx::Transaction<'static, Postgres>,
        pool: PgPool,
        /// Statements that rebuild what was dropped, in order.
        rebuild: Vec<String>,
    },
    Other(DatabaseTransaction),
}

impl Sink {
    pub(super) async fn open(db: &DatabaseConnection) -> anyhow::Result<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self::Other(db.begin().await?));
        }
        let pool = db.get_postgres_connection_pool().clone();
        let mut conn = pool.begin().await?;
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'").await?;
        let indexes: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
             WHERE indrelid IN {LOADED}
               AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
        )))
        .fetch_all(&mut *conn)
        .await?;
        let constraints: Vec<(String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid IN {LOADED} AND contype IN ('f', 'u') ORDER BY contype DESC"
        )))
        .fetch_all(&mut *conn)
        .await?;
        let mut rebuild = Vec::new();
        for (table, name, def) in constraints {
            conn.execute(AssertSqlSafe(format!("ALTER TABLE {table} DROP CONSTRAINT {name}")))
                .await?;
            rebuild.push(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"));
        }
        for (name, def) in indexes {
            conn.execute(AssertSqlSafe(format!("DROP INDEX {name}"))).await?;
            rebuild.insert(0, def);
        }
        Ok(Self::Postgres { conn, pool, rebuild })
    }

    /// Counts customers' order statistics, rebuilds indexes and constraints,
    /// commits, refreshes planner statistics.
    pub(super) async fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Postgres {
                mut conn,
                pool,
                rebuild,
            } => {
                conn.execute(migration::RECOUNT_ORDER_STATS).await?;
                for statement in rebuild {
                    conn.execute(AssertSqlSafe(statement)).await?;
                }
                conn.commit().await?;
                pool.execute("ANALYZE customer, customer_tag, customer_order").await?;
            }
            Self::Other(txn) => {
                txn.execute_unprepared(migration::RECOUNT_ORDER_STATS).await?;
                txn.commit().await?;
            }
        }
        Ok(())
    }

    async fn copy(conn: &mut PgConnection, statement: &str, data: String) -> anyhow::Result<()> {
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        Ok(())
    }
}

fn field(out: &mut String, value: Option<&str>) {
    match value {
        // Generated values never hold tabs, newlines or backslashes.
        Some(v) => out.push_str(v),
        None => out.push_str("\\N"),
    }
    out.push('\t');
}

fn end_row(out: &mut String) {
    out.pop();
    out.push('\n');
}

fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

impl Sink {
    pub(super) async fn customers(
        &mut self,
        rows: Vec<customer::Model>,
        tags: Vec<customer_tag::Model>,
    ) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let txn = match self {
            Self::Postgres { conn, .. } => return Self::copy_customers(conn, &rows, &tags).await,
            Self::Other(txn) => txn,
        };
        for chunk in rows.chunks(1_000) {
            customer::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        for chunk in tags.chunks(10_000) {
            customer_tag::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    async fn copy_customers(
        conn: &mut PgConnection,
        rows: &[customer::Model],
        tags: &[customer_tag::Model],
    ) -> anyhow::Result<()> {
        {
            let mut out = String::with_capacity(rows.len() * 400);
            for c in rows {
                for v in [
                    Some(c.id.to_string()),
                    c.external_id.clone(),
                    Some(c.kind.clone()),
                    Some(c.name.clone()),
                    c.email.clone(),
                    c.phone.clone(),
                    c.company.clone(),
                    c.industry.clone(),
                    c.country.clone(),
                    c.source.clone(),
                    c.owner_id.clone(),
                    Some(c.value_tier.clone()),
                    Some(c.tier_locked.to_string()),
                    Some(c.lifecycle_stage.clone()),
                    Some(c.tags.to_string()),
                    c.birthday.map(|b| b.to_string()),
                    Some(c.marketing_consent.to_string()),
                    ts(c.marketing_consent_at),
                    Some(c.custom_attributes.to_string()),
                    ts(c.last_contacted_at),
                    ts(Some(c.created_at)),
                    ts(Some(c.updated_at)),
                ] {
                    field(&mut out, v.as_deref());
                }
                end_row(&mut out);
            }
            Self::copy(
                conn,
                "COPY customer (id, external_id, kind, name, email, phone, company, industry, country, source, \
                 owner_id, value_tier, tier_locked, lifecycle_stage, tags, birthday, marketing_consent, \
                 marketing_consent_at, custom_attributes, last_contacted_at, created_at, updated_at) FROM STDIN",
                out,
            )
            .await?;
            let mut out = String::with_capacity(tags.len() * 50);
            for t in tags {
                let _ = writeln!(out, "{}\t{}", t.customer_id, t.tag);
            }
            if !out.is_empty() {
                Self::copy(conn, "COPY customer_tag (customer_id, tag) FROM STDIN", out).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn orders(&mut self, rows: Vec<order::Model>) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let txn = match self {
            Self::Postgres { conn, .. } => return Self::copy_orders(conn, &rows).await,
            Self::Other(txn) => txn,
        };
        for chunk in rows.chunks(2_500) {
            order::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    async fn copy_orders(conn: &mut PgConnection, rows: &[order::Model]) -> anyhow::Result<()> {
        {
            let mut out = String::with_capacity(rows.len() * 200);
            for o in rows {
                for v in [
                    Some(o.id.to_string()),
                    Some(o.customer_id.to_string()),
                    o.external_id.clone(),
                    Some(o.amount_minor.to_string()),
                    Some(o.currency.clone()),
                    Some(o.status.clone()),
                    ts(Some(o.ordered_at)),
                    ts(o.refunded_at),
                    ts(Some(o.created_at)),
                    ts(Some(o.updated_at)),
                ] {
                    field(&mut out, v.as_deref());
                }
                end_row(&mut out);
            }
            Self::copy(
                conn,
                "COPY customer_order (id, customer_id, external_id, amount_minor, currency, status, ordered_at, \
                     refunded_at, created_at, updated_at) FROM STDIN",
                out,
            )
            .await
        }
    }
}
