//! The needs register: a customer's needs (urgency, importance and the
//! quadrant they make, stored so reports group in SQL), their history, and
//! their links to tasks and interactions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Need {
    Table,
    Id,
    CustomerId,
    Title,
    Description,
    Kind,
    Urgency,
    Importance,
    Quadrant,
    Source,
    SourceId,
    Stage,
    OwnerId,
    DueOn,
    Status,
    Solution,
    Reason,
    ConfirmedByContactId,
    ConfirmedAt,
    UnmetSince,
    ClosedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NeedEvent {
    Table,
    Id,
    NeedId,
    CustomerId,
    Event,
    Actor,
    FromValue,
    ToValue,
    Note,
    At,
}

#[derive(DeriveIden)]
enum NeedLink {
    Table,
    NeedId,
    Kind,
    TargetId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ts = |c: Need| ColumnDef::new(c).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(Need::Table)
                    .col(ColumnDef::new(Need::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Need::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(Need::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Need::Description).text().null())
                    .col(ColumnDef::new(Need::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Need::Urgency).string_len(8).not_null())
                    .col(ColumnDef::new(Need::Importance).string_len(8).not_null())
                    .col(ColumnDef::new(Need::Quadrant).string_len(8).not_null())
                    .col(ColumnDef::new(Need::Source).string_len(16).not_null())
                    .col(ColumnDef::new(Need::SourceId).uuid().null())
                    .col(ColumnDef::new(Need::Stage).string_len(200).null())
                    .col(ColumnDef::new(Need::OwnerId).string_len(128).null())
                    .col(ColumnDef::new(Need::DueOn).date().null())
                    .col(ColumnDef::new(Need::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Need::Solution).text().null())
                    .col(ColumnDef::new(Need::Reason).text().null())
                    .col(ColumnDef::new(Need::ConfirmedByContactId).uuid().null())
                    .col(ts(Need::ConfirmedAt).null())
                    .col(ts(Need::UnmetSince).null())
                    .col(ts(Need::ClosedAt).null())
                    .col(ColumnDef::new(Need::CreatedBy).string_len(128).not_null())
                    .col(ts(Need::CreatedAt).not_null())
                    .col(ts(Need::UpdatedAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_need_customer")
                            .from(Need::Table, Need::CustomerId)
                            .to(Customer::Table, Customer::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_need_customer_status", &["customer_id", "status"][..]),
            ("ix_need_status_quadrant", &["status", "quadrant"][..]),
            ("ix_need_owner_status", &["owner_id", "status"][..]),
            ("ix_need_created", &["created_at", "id"][..]),
        ] {
            manager.create_index(index(name, Need::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(NeedEvent::Table)
                    .col(ColumnDef::new(NeedEvent::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(NeedEvent::NeedId).uuid().not_null())
                    .col(ColumnDef::new(NeedEvent::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(NeedEvent::Event).string_len(24).not_null())
                    .col(ColumnDef::new(NeedEvent::Actor).string_len(128).not_null())
                    .col(ColumnDef::new(NeedEvent::FromValue).string_len(64).null())
                    .col(ColumnDef::new(NeedEvent::ToValue).string_len(64).null())
                    .col(ColumnDef::new(NeedEvent::Note).text().null())
                    .col(ColumnDef::new(NeedEvent::At).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_need_event_need")
                            .from(NeedEvent::Table, NeedEvent::NeedId)
                            .to(Need::Table, Need::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_need_event_need", NeedEvent::Table, &["need_id", "at"]))
            .await?;
        manager
            .create_index(index(
                "ix_need_event_customer",
                NeedEvent::Table,
                &["customer_id", "at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NeedLink::Table)
                    .col(ColumnDef::new(NeedLink::NeedId).uuid().not_null())
                    .col(ColumnDef::new(NeedLink::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(NeedLink::TargetId).uuid().not_null())
                    .col(ColumnDef::new(NeedLink::CreatedBy).string_len(128).not_null())
                    .col(
                        ColumnDef::new(NeedLink::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("pk_need_link")
                            .col(NeedLink::NeedId)
                            .col(NeedLink::Kind)
                            .col(NeedLink::TargetId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_need_link_need")
                            .from(NeedLink::Table, NeedLink::NeedId)
                            .to(Need::Table, Need::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            NeedLink::Table.into_iden(),
            NeedEvent::Table.into_iden(),
            Need::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
