//! Customers, their tags, contacts, interactions and orders.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
    ExternalId,
    Kind,
    Name,
    Email,
    Phone,
    Company,
    Industry,
    SizeBand,
    Country,
    City,
    Source,
    OwnerId,
    ValueTier,
    TierLocked,
    LifecycleStage,
    Tags,
    PreferredChannel,
    PreferredLanguage,
    Birthday,
    RelationshipStart,
    MarketingConsent,
    MarketingConsentAt,
    CustomAttributes,
    Notes,
    LastContactedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum CustomerTag {
    Table,
    CustomerId,
    Tag,
}

#[derive(DeriveIden)]
enum Contact {
    Table,
    Id,
    CustomerId,
    Name,
    Title,
    Email,
    Phone,
    Role,
    IsPrimary,
    Active,
    LeftAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Interaction {
    Table,
    Id,
    CustomerId,
    ContactId,
    Channel,
    Direction,
    Summary,
    OccurredAt,
    StaffId,
    Sentiment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomerOrder {
    Table,
    Id,
    CustomerId,
    ExternalId,
    AmountMinor,
    Currency,
    Status,
    OrderedAt,
    RefundedAt,
    CreatedAt,
    UpdatedAt,
}

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

fn uuid_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}

fn fk(name: &str, from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Customer::Table, Customer::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customer::Table)
                    .col(uuid_pk(Customer::Id))
                    .col(text_null(Customer::ExternalId).unique_key())
                    .col(text(Customer::Kind))
                    .col(text(Customer::Name))
                    .col(text_null(Customer::Email))
                    .col(text_null(Customer::Phone))
                    .col(text_null(Customer::Company))
                    .col(text_null(Customer::Industry))
                    .col(text_null(Customer::SizeBand))
                    .col(text_null(Customer::Country))
                    .col(text_null(Customer::City))
                    .col(text_null(Customer::Source))
                    .col(text_null(Customer::OwnerId))
                    .col(text(Customer::ValueTier))
                    .col(ColumnDef::new(Customer::TierLocked).boolean().not_null())
                    .col(text(Customer::LifecycleStage))
                    .col(ColumnDef::new(Customer::Tags).json_binary().not_null())
                    .col(text_null(Customer::PreferredChannel))
                    .col(text_null(Customer::PreferredLanguage))
                    .col(ColumnDef::new(Customer::Birthday).date().null())
                    .col(ColumnDef::new(Customer::RelationshipStart).date().null())
                    .col(ColumnDef::new(Customer::MarketingConsent).boolean().not_null())
                    .col(ts_null(Customer::MarketingConsentAt))
                    .col(ColumnDef::new(Customer::CustomAttributes).json_binary().not_null())
                    .col(ColumnDef::new(Customer::Notes).text().null())
                    .col(ts_null(Customer::LastContactedAt))
                    .col(ts(Customer::CreatedAt))
                    .col(ts(Customer::UpdatedAt))
                    .col(ts_null(Customer::DeletedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_customer_created", &["created_at", "id"][..]),
            ("ix_customer_updated", &["updated_at", "id"][..]),
            ("ix_customer_name", &["name", "id"][..]),
            ("ix_customer_tier", &["value_tier"][..]),
            ("ix_customer_stage", &["lifecycle_stage"][..]),
            ("ix_customer_owner", &["owner_id"][..]),
            ("ix_customer_email", &["email"][..]),
        ] {
            manager.create_index(index(name, Customer::Table, cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CustomerTag::Table)
                    .col(ColumnDef::new(CustomerTag::CustomerId).uuid().not_null())
                    .col(text(CustomerTag::Tag))
                    .primary_key(Index::create().col(CustomerTag::CustomerId).col(CustomerTag::Tag))
                    .foreign_key(&mut fk(
                        "fk_customer_tag_customer",
                        (CustomerTag::Table, CustomerTag::CustomerId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_customer_tag_tag",
                CustomerTag::Table,
                &["tag", "customer_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contact::Table)
                    .col(uuid_pk(Contact::Id))
                    .col(ColumnDef::new(Contact::CustomerId).uuid().not_null())
                    .col(text(Contact::Name))
                    .col(text_null(Contact::Title))
                    .col(text_null(Contact::Email))
                    .col(text_null(Contact::Phone))
                    .col(text_null(Contact::Role))
                    .col(ColumnDef::new(Contact::IsPrimary).boolean().not_null())
                    .col(ColumnDef::new(Contact::Active).boolean().not_null())
                    .col(ts_null(Contact::LeftAt))
                    .col(ts(Contact::CreatedAt))
                    .col(ts(Contact::UpdatedAt))
                    .foreign_key(&mut fk("fk_contact_customer", (Contact::Table, Contact::CustomerId)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_contact_customer",
                Contact::Table,
                &["customer_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Interaction::Table)
                    .col(uuid_pk(Interaction::Id))
                    .col(ColumnDef::new(Interaction::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(Interaction::ContactId).uuid().null())
                    .col(text(Interaction::Channel))
                    .col(text(Interaction::Direction))
                    .col(ColumnDef::new(Interaction::Summary).text().not_null())
                    .col(ts(Interaction::OccurredAt))
                    .col(text_null(Interaction::StaffId))
                    .col(text_null(Interaction::Sentiment))
                    .col(ts(Interaction::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_interaction_customer",
                        (Interaction::Table, Interaction::CustomerId),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interaction_contact")
                            .from(Interaction::Table, Interaction::ContactId)
                            .to(Contact::Table, Contact::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_interaction_customer",
                Interaction::Table,
                &["customer_id", "occurred_at", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomerOrder::Table)
                    .col(uuid_pk(CustomerOrder::Id))
                    .col(ColumnDef::new(CustomerOrder::CustomerId).uuid().not_null())
                    .col(text_null(CustomerOrder::ExternalId).unique_key())
                    .col(ColumnDef::new(CustomerOrder::AmountMinor).big_integer().not_null())
                    .col(text(CustomerOrder::Currency))
                    .col(text(CustomerOrder::Status))
                    .col(ts(CustomerOrder::OrderedAt))
                    .col(ts_null(CustomerOrder::RefundedAt))
                    .col(ts(CustomerOrder::CreatedAt))
                    .col(ts(CustomerOrder::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_order_customer",
                        (CustomerOrder::Table, CustomerOrder::CustomerId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_order_customer",
                CustomerOrder::Table,
                &["customer_id", "ordered_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_order_status_ordered",
                CustomerOrder::Table,
                &["status", "ordered_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomerOrder::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Interaction::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Contact::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CustomerTag::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Customer::Table).to_owned())
            .await?;
        Ok(())
    }
}
