//! Webhook subscriptions and their deliveries.
//!
//! `webhook_delivery` is one event (or test) for one subscription: its body
//! as first rendered (a retry sends the same bytes with a fresh signature),
//! its state, and when it is next due. Workers claim due rows by pushing
//! `next_attempt_at` forward under a fresh `claim`, so a worker that dies
//! mid-send leaves the row to be retried when the claim lapses.
//! `webhook_attempt` is the delivery log. `webhook_replay` holds replay
//! requests for the background job. `feed_position` keeps where the fan-out
//! has read the event log up to.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    Url,
    Description,
    EventTypes,
    Active,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    FailingSince,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    WebhookId,
    EventId,
    EventType,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    Claim,
    LastAttemptAt,
    LastStatusCode,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempt {
    Table,
    Id,
    DeliveryId,
    WebhookId,
    Attempt,
    At,
    StatusCode,
    LatencyMs,
    ResponseBody,
    Error,
}

#[derive(DeriveIden)]
enum WebhookReplay {
    Table,
    Id,
    WebhookId,
    Since,
    Until,
    Status,
    State,
    Requeued,
    CreatedBy,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum FeedPosition {
    Table,
    Name,
    Cursor,
    UpdatedAt,
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

fn uuid<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

async fn index(manager: &SchemaManager<'_>, name: &str, table: impl IntoIden, cols: &[&str]) -> Result<(), DbErr> {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    manager.create_index(stmt).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .col(uuid(Webhook::Id).primary_key())
                    .col(ColumnDef::new(Webhook::Url).text().not_null())
                    .col(ColumnDef::new(Webhook::Description).text().null())
                    .col(ColumnDef::new(Webhook::EventTypes).json_binary().not_null())
                    .col(ColumnDef::new(Webhook::Active).boolean().not_null())
                    .col(ColumnDef::new(Webhook::Secret).text().not_null())
                    .col(ColumnDef::new(Webhook::PreviousSecret).text().null())
                    .col(ts_null(Webhook::PreviousSecretUntil))
                    .col(ts_null(Webhook::FailingSince))
                    .col(ColumnDef::new(Webhook::DisabledReason).text().null())
                    .col(ts(Webhook::CreatedAt))
                    .col(ts(Webhook::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(uuid(WebhookDelivery::Id).primary_key())
                    .col(uuid(WebhookDelivery::WebhookId))
                    .col(uuid(WebhookDelivery::EventId))
                    .col(ColumnDef::new(WebhookDelivery::EventType).string_len(64).not_null())
                    .col(ColumnDef::new(WebhookDelivery::Body).text().not_null())
                    .col(ColumnDef::new(WebhookDelivery::Status).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookDelivery::Attempts).integer().not_null())
                    .col(ts(WebhookDelivery::NextAttemptAt))
                    .col(ColumnDef::new(WebhookDelivery::Claim).uuid().null())
                    .col(ts_null(WebhookDelivery::LastAttemptAt))
                    .col(ColumnDef::new(WebhookDelivery::LastStatusCode).integer().null())
                    .col(ts(WebhookDelivery::CreatedAt))
                    .col(ts_null(WebhookDelivery::CompletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_webhook")
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_delivery_due",
            WebhookDelivery::Table,
            &["status", "next_attempt_at"],
        )
        .await?;
        index(
            manager,
            "ix_delivery_webhook",
            WebhookDelivery::Table,
            &["webhook_id", "created_at", "id"],
        )
        .await?;
        // An event fans out to a subscription once, however often the fan-out runs.
        manager
            .create_index(
                Index::create()
                    .name("ux_delivery_event")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::WebhookId)
                    .col(WebhookDelivery::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempt::Table)
                    .col(
                        ColumnDef::new(WebhookAttempt::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(uuid(WebhookAttempt::DeliveryId))
                    .col(uuid(WebhookAttempt::WebhookId))
                    .col(ColumnDef::new(WebhookAttempt::Attempt).integer().not_null())
                    .col(ts(WebhookAttempt::At))
                    .col(ColumnDef::new(WebhookAttempt::StatusCode).integer().null())
                    .col(ColumnDef::new(WebhookAttempt::LatencyMs).big_integer().not_null())
                    .col(ColumnDef::new(WebhookAttempt::ResponseBody).text().null())
                    .col(ColumnDef::new(WebhookAttempt::Error).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attempt_delivery")
                            .from(WebhookAttempt::Table, WebhookAttempt::DeliveryId)
                            .to(WebhookDelivery::Table, WebhookDelivery::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_attempt_webhook",
            WebhookAttempt::Table,
            &["webhook_id", "id"],
        )
        .await?;
        index(
            manager,
            "ix_attempt_delivery",
            WebhookAttempt::Table,
            &["delivery_id", "id"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookReplay::Table)
                    .col(uuid(WebhookReplay::Id).primary_key())
                    .col(uuid(WebhookReplay::WebhookId))
                    .col(ts(WebhookReplay::Since))
                    .col(ts(WebhookReplay::Until))
                    .col(ColumnDef::new(WebhookReplay::Status).string_len(16).null())
                    .col(ColumnDef::new(WebhookReplay::State).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookReplay::Requeued).big_integer().not_null())
                    .col(ColumnDef::new(WebhookReplay::CreatedBy).text().not_null())
                    .col(ts(WebhookReplay::CreatedAt))
                    .col(ts_null(WebhookReplay::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_replay_webhook")
                            .from(WebhookReplay::Table, WebhookReplay::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_replay_state",
            WebhookReplay::Table,
            &["state", "created_at"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedPosition::Table)
                    .col(
                        ColumnDef::new(FeedPosition::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(FeedPosition::Cursor).text().not_null())
                    .col(ts(FeedPosition::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            FeedPosition::Table.into_iden(),
            WebhookReplay::Table.into_iden(),
            WebhookAttempt::Table.into_iden(),
            WebhookDelivery::Table.into_iden(),
            Webhook::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
