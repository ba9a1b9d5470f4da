//! Feedback items with their two SLA clocks, their history and keywords;
//! tasks; the staff directory (who manages whom, for escalations); and the
//! outbox that webhook delivery will drain.
//!
//! Each SLA clock is stored as: target (minutes, business or wall time),
//! time used before the current run, when the current run started (null
//! while paused or met), and the due and warning instants of the current
//! run, which the sweeper finds through partial indexes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedbackItem {
    Table,
    Id,
    CustomerId,
    Channel,
    Kind,
    Subject,
    Body,
    Rating,
    Severity,
    SeverityRule,
    Sentiment,
    Keywords,
    Status,
    AssigneeId,
    CreatedBy,
    RootCause,
    ReviewNote,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FeedbackEvent {
    Table,
    Id,
    FeedbackId,
    CustomerId,
    Kind,
    Actor,
    FromValue,
    ToValue,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FeedbackKeyword {
    Table,
    FeedbackId,
    Keyword,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    Kind,
    CustomerId,
    FeedbackId,
    Title,
    AssigneeId,
    DueAt,
    Status,
    Outcome,
    CreatedBy,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StaffMember {
    Table,
    Id,
    Name,
    Email,
    ManagerId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Id,
    Topic,
    AggregateId,
    Payload,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

/// The columns of one SLA clock, prefixed `response_` or `resolution_`.
const CLOCK_COLUMNS: [&str; 9] = [
    "target_minutes",
    "business",
    "used_micros",
    "since",
    "due_at",
    "warn_at",
    "met_at",
    "warned_at",
    "breached_at",
];

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

fn clock_column(prefix: &str, name: &str) -> ColumnDef {
    let col = Alias::new(format!("{prefix}_{name}"));
    match name {
        "target_minutes" | "used_micros" => ColumnDef::new(col).big_integer().not_null().to_owned(),
        "business" => ColumnDef::new(col).boolean().not_null().to_owned(),
        "due_at" | "warn_at" => ts(col),
        _ => ts_null(col),
    }
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(manager: &SchemaManager<'_>, name: &str, table: impl IntoIden, cols: &[&str]) -> Result<(), DbErr> {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for c in cols {
        stmt.col(Alias::new(*c));
    }
    manager.create_index(stmt).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut item = Table::create()
            .table(FeedbackItem::Table)
            .col(ColumnDef::new(FeedbackItem::Id).uuid().not_null().primary_key())
            .col(ColumnDef::new(FeedbackItem::CustomerId).uuid().not_null())
            .col(text(FeedbackItem::Channel))
            .col(text(FeedbackItem::Kind))
            .col(text(FeedbackItem::Subject))
            .col(ColumnDef::new(FeedbackItem::Body).text().not_null())
            .col(ColumnDef::new(FeedbackItem::Rating).integer().null())
            .col(text(FeedbackItem::Severity))
            .col(text(FeedbackItem::SeverityRule))
            .col(ColumnDef::new(FeedbackItem::Sentiment).double().not_null())
            .col(ColumnDef::new(FeedbackItem::Keywords).json_binary().not_null())
            .col(text(FeedbackItem::Status))
            .col(text_null(FeedbackItem::AssigneeId))
            .col(text(FeedbackItem::CreatedBy))
            .col(text_null(FeedbackItem::RootCause))
            .col(ColumnDef::new(FeedbackItem::ReviewNote).text().null())
            .col(ts_null(FeedbackItem::ClosedAt))
            .col(ts(FeedbackItem::CreatedAt))
            .col(ts(FeedbackItem::UpdatedAt))
            .foreign_key(&mut fk(
                "fk_feedback_customer",
                (FeedbackItem::Table, FeedbackItem::CustomerId),
                (Customer::Table, Customer::Id),
            ))
            .to_owned();
        for prefix in ["response", "resolution"] {
            for name in CLOCK_COLUMNS {
                item.col(clock_column(prefix, name));
            }
        }
        manager.create_table(item).await?;
        for (name, cols) in [
            ("ix_feedback_customer", &["customer_id", "created_at"][..]),
            ("ix_feedback_status", &["status", "created_at"]),
            ("ix_feedback_assignee", &["assignee_id", "status"]),
            ("ix_feedback_severity", &["severity", "created_at"]),
            ("ix_feedback_kind", &["kind", "created_at"]),
            ("ix_feedback_channel", &["channel", "created_at"]),
            ("ix_feedback_created", &["created_at"]),
        ] {
            index(manager, name, FeedbackItem::Table, cols).await?;
        }
        // What the sweeper looks for: running clocks not yet breached.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_feedback_response_sweep ON feedback_item (response_warn_at, response_due_at)
             WHERE response_since IS NOT NULL AND response_breached_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_feedback_resolution_sweep ON feedback_item (resolution_warn_at, resolution_due_at)
             WHERE resolution_since IS NOT NULL AND resolution_breached_at IS NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackEvent::Table)
                    .col(ColumnDef::new(FeedbackEvent::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(FeedbackEvent::FeedbackId).uuid().not_null())
                    .col(ColumnDef::new(FeedbackEvent::CustomerId).uuid().not_null())
                    .col(text(FeedbackEvent::Kind))
                    .col(text(FeedbackEvent::Actor))
                    .col(text_null(FeedbackEvent::FromValue))
                    .col(text_null(FeedbackEvent::ToValue))
                    .col(ColumnDef::new(FeedbackEvent::Note).text().null())
                    .col(ts(FeedbackEvent::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_feedback_event_item",
                        (FeedbackEvent::Table, FeedbackEvent::FeedbackId),
                        (FeedbackItem::Table, FeedbackItem::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_feedback_event_item",
            FeedbackEvent::Table,
            &["feedback_id", "created_at"],
        )
        .await?;
        index(
            manager,
            "ix_feedback_event_customer",
            FeedbackEvent::Table,
            &["customer_id", "created_at"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackKeyword::Table)
                    .col(ColumnDef::new(FeedbackKeyword::FeedbackId).uuid().not_null())
                    .col(text(FeedbackKeyword::Keyword))
                    .primary_key(
                        Index::create()
                            .col(FeedbackKeyword::FeedbackId)
                            .col(FeedbackKeyword::Keyword),
                    )
                    .foreign_key(&mut fk(
                        "fk_feedback_keyword_item",
                        (FeedbackKeyword::Table, FeedbackKeyword::FeedbackId),
                        (FeedbackItem::Table, FeedbackItem::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_feedback_keyword", FeedbackKeyword::Table, &["keyword"]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Task::Table)
                    .col(ColumnDef::new(Task::Id).uuid().not_null().primary_key())
                    .col(text(Task::Kind))
                    .col(ColumnDef::new(Task::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(Task::FeedbackId).uuid().null())
                    .col(text(Task::Title))
                    .col(text_null(Task::AssigneeId))
                    .col(ts_null(Task::DueAt))
                    .col(text(Task::Status))
                    .col(ColumnDef::new(Task::Outcome).text().null())
                    .col(text(Task::CreatedBy))
                    .col(ts_null(Task::CompletedAt))
                    .col(ts(Task::CreatedAt))
                    .col(ts(Task::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_task_customer",
                        (Task::Table, Task::CustomerId),
                        (Customer::Table, Customer::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_task_feedback",
                        (Task::Table, Task::FeedbackId),
                        (FeedbackItem::Table, FeedbackItem::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_task_assignee", &["assignee_id", "status", "due_at"][..]),
            ("ix_task_customer", &["customer_id", "created_at"]),
            ("ix_task_feedback", &["feedback_id"]),
            ("ix_task_status", &["status", "due_at"]),
            ("ix_task_created", &["created_at"]),
        ] {
            index(manager, name, Task::Table, cols).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(StaffMember::Table)
                    .col(ColumnDef::new(StaffMember::Id).string().not_null().primary_key())
                    .col(text(StaffMember::Name))
                    .col(text_null(StaffMember::Email))
                    .col(text_null(StaffMember::ManagerId))
                    .col(ts(StaffMember::CreatedAt))
                    .col(ts(StaffMember::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_staff_manager", StaffMember::Table, &["manager_id"]).await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxEvent::Table)
                    .col(ColumnDef::new(OutboxEvent::Id).uuid().not_null().primary_key())
                    .col(text(OutboxEvent::Topic))
                    .col(ColumnDef::new(OutboxEvent::AggregateId).uuid().not_null())
                    .col(ColumnDef::new(OutboxEvent::Payload).json_binary().not_null())
                    .col(ts(OutboxEvent::CreatedAt))
                    .col(ts_null(OutboxEvent::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("CREATE INDEX ix_outbox_pending ON outbox_event (created_at) WHERE delivered_at IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OutboxEvent::Table.into_iden(),
            StaffMember::Table.into_iden(),
            Task::Table.into_iden(),
            FeedbackKeyword::Table.into_iden(),
            FeedbackEvent::Table.into_iden(),
            FeedbackItem::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
