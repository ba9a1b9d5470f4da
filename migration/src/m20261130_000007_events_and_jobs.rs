//! The outbox becomes the event log that the pull feed reads and webhook
//! delivery fans out, and background jobs get a table of leases and last runs.
//!
//! `event.seq` orders the log. On SQLite writers queue one at a time, so
//! `seq` order is commit order. On PostgreSQL two transactions can commit in
//! the other order than they took their `seq`; each row therefore records the
//! id of the transaction that wrote it (`tx`, a default), and the feed only
//! reads rows of transactions older than every one still running
//! (`pg_snapshot_xmin`), in (`tx`, `seq`) order — a reader never passes a
//! row that commits later.
//!
//! `job_run` holds one row per job: who holds its lease until when (so one
//! instance runs an exclusive job at a time), and the last run's outcome.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Event {
    Table,
    Seq,
    Id,
    Type,
    OccurredAt,
    SubjectId,
    CustomerId,
    Data,
    Tx,
}

#[derive(DeriveIden)]
enum JobRun {
    Table,
    Name,
    LockedBy,
    LockedUntil,
    LastStartedAt,
    LastFinishedAt,
    LastOutcome,
    LastSummary,
    LastDurationMs,
    LastTrigger,
}

fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == sea_orm::DbBackend::Postgres;
        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(
                        ColumnDef::new(Event::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Event::Id).uuid().not_null().unique_key())
                    .col(ColumnDef::new(Event::Type).string_len(64).not_null())
                    .col(ColumnDef::new(Event::OccurredAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Event::SubjectId).uuid().not_null())
                    .col(ColumnDef::new(Event::CustomerId).uuid().null())
                    .col(ColumnDef::new(Event::Data).json_binary().not_null())
                    .col(ColumnDef::new(Event::Tx).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        if postgres {
            db.execute_unprepared("ALTER TABLE event ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint)")
                .await?;
        }
        for (name, cols) in [
            ("ix_event_feed", &["tx", "seq"][..]),
            ("ix_event_customer", &["customer_id"]),
            ("ix_event_time", &["occurred_at"]),
        ] {
            let mut stmt = Index::create().name(name).table(Event::Table).to_owned();
            for col in cols {
                stmt.col(Alias::new(*col));
            }
            manager.create_index(stmt).await?;
        }
        // What the outbox held so far, in the order it was written; the
        // subject's customer comes out of the payload.
        let (customer, rest) = if postgres {
            (
                "CAST(payload->>'customer_id' AS uuid)",
                "payload - 'customer_id' - 'feedback_id'",
            )
        } else {
            (
                "unhex(replace(json_extract(payload, '$.customer_id'), '-', ''))",
                "json_remove(payload, '$.customer_id', '$.feedback_id')",
            )
        };
        db.execute_unprepared(&format!(
            "INSERT INTO event (id, type, occurred_at, subject_id, customer_id, data, tx)
             SELECT id, CASE topic WHEN 'feedback.status_changed' THEN 'feedback.state_changed' ELSE topic END,
                    created_at, aggregate_id, {customer}, {rest}, 0
             FROM outbox_event ORDER BY created_at, id"
        ))
        .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("outbox_event")).to_owned())
            .await?;
        // A recompute's tier changes become events by their time.
        manager
            .create_index(
                Index::create()
                    .name("ix_tier_change_time")
                    .table(Alias::new("customer_tier_change"))
                    .col(Alias::new("changed_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(JobRun::Table)
                    .col(ColumnDef::new(JobRun::Name).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(JobRun::LockedBy).text().null())
                    .col(ts_null(JobRun::LockedUntil))
                    .col(ts_null(JobRun::LastStartedAt))
                    .col(ts_null(JobRun::LastFinishedAt))
                    .col(ColumnDef::new(JobRun::LastOutcome).string_len(16).null())
                    .col(ColumnDef::new(JobRun::LastSummary).text().null())
                    .col(ColumnDef::new(JobRun::LastDurationMs).big_integer().null())
                    .col(ColumnDef::new(JobRun::LastTrigger).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .drop_table(Table::drop().table(JobRun::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_tier_change_time")
                    .table(Alias::new("customer_tier_change"))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE TABLE outbox_event (id uuid NOT NULL PRIMARY KEY, topic text NOT NULL, aggregate_id uuid NOT NULL,
             payload jsonb NOT NULL, created_at timestamp with time zone NOT NULL,
             delivered_at timestamp with time zone NULL)",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO outbox_event (id, topic, aggregate_id, payload, created_at)
             SELECT id, type, subject_id, data, occurred_at FROM event",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX ix_outbox_pending ON outbox_event (created_at) WHERE delivered_at IS NULL")
            .await?;
        manager.drop_table(Table::drop().table(Event::Table).to_owned()).await?;
        Ok(())
    }
}
