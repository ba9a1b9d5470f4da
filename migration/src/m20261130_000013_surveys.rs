//! Surveys: definitions, invitations (one token each, only its hash kept),
//! responses (partial until finished) with one row per answer for results in
//! SQL, and the customer's latest NPS and CSAT for segments and the 360.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Survey {
    Table,
    Id,
    Name,
    Kind,
    Status,
    DefaultLanguage,
    Questions,
    Fatigue,
    FatigueKindDays,
    FatigueCooldownDays,
    FollowUpExempt,
    ExpiresAfterHours,
    MaxReminders,
    TriggerKind,
    TriggerDelayMinutes,
    TriggerSegmentId,
    TriggerEveryMonths,
    TriggerCursor,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ActivatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum SurveyInvitation {
    Table,
    Id,
    SurveyId,
    CustomerId,
    Kind,
    TokenHash,
    Channel,
    Source,
    SourceKey,
    FeedbackId,
    Exempt,
    Status,
    ExpiresAt,
    SentAt,
    LastSentAt,
    Reminders,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyResponse {
    Table,
    Id,
    InvitationId,
    SurveyId,
    CustomerId,
    Status,
    Score,
    Comment,
    Answers,
    Language,
    Channel,
    FeedbackId,
    OpenedFeedbackId,
    StartedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SurveyAnswer {
    Table,
    Id,
    ResponseId,
    SurveyId,
    QuestionId,
    ChoiceId,
    Value,
}

#[derive(DeriveIden)]
enum Customer {
    Table,
    Id,
    NpsScore,
    NpsCategory,
    NpsAt,
    LatestCsat,
    CsatAt,
    ReferralCandidateAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
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
                    .table(Survey::Table)
                    .col(ColumnDef::new(Survey::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Survey::Name).text().not_null())
                    .col(ColumnDef::new(Survey::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Survey::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Survey::DefaultLanguage).string_len(16).not_null())
                    .col(ColumnDef::new(Survey::Questions).json_binary().not_null())
                    .col(ColumnDef::new(Survey::Fatigue).string_len(16).not_null())
                    .col(ColumnDef::new(Survey::FatigueKindDays).integer().null())
                    .col(ColumnDef::new(Survey::FatigueCooldownDays).integer().null())
                    .col(ColumnDef::new(Survey::FollowUpExempt).boolean().not_null())
                    .col(ColumnDef::new(Survey::ExpiresAfterHours).integer().not_null())
                    .col(ColumnDef::new(Survey::MaxReminders).integer().not_null())
                    .col(ColumnDef::new(Survey::TriggerKind).string_len(16).null())
                    .col(ColumnDef::new(Survey::TriggerDelayMinutes).integer().null())
                    .col(ColumnDef::new(Survey::TriggerSegmentId).uuid().null())
                    .col(ColumnDef::new(Survey::TriggerEveryMonths).integer().null())
                    .col(ts_null(Survey::TriggerCursor))
                    .col(ColumnDef::new(Survey::CreatedBy).text().not_null())
                    .col(ts(Survey::CreatedAt))
                    .col(ts(Survey::UpdatedAt))
                    .col(ts_null(Survey::ActivatedAt))
                    .col(ts_null(Survey::ClosedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SurveyInvitation::Table)
                    .col(ColumnDef::new(SurveyInvitation::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(SurveyInvitation::SurveyId).uuid().not_null())
                    .col(ColumnDef::new(SurveyInvitation::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(SurveyInvitation::Kind).string_len(16).not_null())
                    .col(
                        ColumnDef::new(SurveyInvitation::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(SurveyInvitation::Channel).string_len(16).not_null())
                    .col(ColumnDef::new(SurveyInvitation::Source).string_len(16).not_null())
                    .col(ColumnDef::new(SurveyInvitation::SourceKey).text().null())
                    .col(ColumnDef::new(SurveyInvitation::FeedbackId).uuid().null())
                    .col(ColumnDef::new(SurveyInvitation::Exempt).boolean().not_null())
                    .col(ColumnDef::new(SurveyInvitation::Status).string_len(16).not_null())
                    .col(ts(SurveyInvitation::ExpiresAt))
                    .col(ts(SurveyInvitation::SentAt))
                    .col(ts(SurveyInvitation::LastSentAt))
                    .col(ColumnDef::new(SurveyInvitation::Reminders).integer().not_null())
                    .col(ColumnDef::new(SurveyInvitation::CreatedBy).text().not_null())
                    .col(ts(SurveyInvitation::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_survey_invitation_survey",
                        (SurveyInvitation::Table, SurveyInvitation::SurveyId),
                        (Survey::Table, Survey::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_invitation_customer",
                        (SurveyInvitation::Table, SurveyInvitation::CustomerId),
                        (Customer::Table, Customer::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A trigger's invitation is made once however many instances run it.
        manager
            .create_index(
                index(
                    "ux_survey_invitation_source",
                    SurveyInvitation::Table,
                    &["survey_id", "source_key"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_survey_invitation_survey",
                &["survey_id", "status", "created_at"][..],
            ),
            // Fatigue: the latest counted send of a customer, by kind.
            ("ix_survey_invitation_fatigue", &["customer_id", "last_sent_at"][..]),
        ] {
            manager.create_index(index(name, SurveyInvitation::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SurveyResponse::Table)
                    .col(ColumnDef::new(SurveyResponse::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(SurveyResponse::InvitationId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(SurveyResponse::SurveyId).uuid().not_null())
                    .col(ColumnDef::new(SurveyResponse::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(SurveyResponse::Status).string_len(16).not_null())
                    .col(ColumnDef::new(SurveyResponse::Score).integer().null())
                    .col(ColumnDef::new(SurveyResponse::Comment).text().null())
                    .col(ColumnDef::new(SurveyResponse::Answers).json_binary().not_null())
                    .col(ColumnDef::new(SurveyResponse::Language).string_len(16).not_null())
                    .col(ColumnDef::new(SurveyResponse::Channel).string_len(16).not_null())
                    .col(ColumnDef::new(SurveyResponse::FeedbackId).uuid().null())
                    .col(ColumnDef::new(SurveyResponse::OpenedFeedbackId).uuid().null())
                    .col(ts(SurveyResponse::StartedAt))
                    .col(ts(SurveyResponse::UpdatedAt))
                    .col(ts_null(SurveyResponse::FinishedAt))
                    .foreign_key(&mut fk(
                        "fk_survey_response_invitation",
                        (SurveyResponse::Table, SurveyResponse::InvitationId),
                        (SurveyInvitation::Table, SurveyInvitation::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_survey_response_survey", &["survey_id", "started_at"][..]),
            ("ix_survey_response_customer", &["customer_id", "started_at"][..]),
        ] {
            manager.create_index(index(name, SurveyResponse::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SurveyAnswer::Table)
                    .col(
                        ColumnDef::new(SurveyAnswer::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SurveyAnswer::ResponseId).uuid().not_null())
                    .col(ColumnDef::new(SurveyAnswer::SurveyId).uuid().not_null())
                    .col(ColumnDef::new(SurveyAnswer::QuestionId).string_len(64).not_null())
                    .col(ColumnDef::new(SurveyAnswer::ChoiceId).string_len(64).null())
                    .col(ColumnDef::new(SurveyAnswer::Value).double().null())
                    .foreign_key(&mut fk(
                        "fk_survey_answer_response",
                        (SurveyAnswer::Table, SurveyAnswer::ResponseId),
                        (SurveyResponse::Table, SurveyResponse::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_survey_answer_response", &["response_id"][..]),
            ("ix_survey_answer_question", &["survey_id", "question_id"][..]),
        ] {
            manager.create_index(index(name, SurveyAnswer::Table, cols)).await?;
        }
        for col in [
            ColumnDef::new(Customer::NpsScore).integer().null().to_owned(),
            ColumnDef::new(Customer::NpsCategory).string_len(16).null().to_owned(),
            ts_null(Customer::NpsAt),
            ColumnDef::new(Customer::LatestCsat).integer().null().to_owned(),
            ts_null(Customer::CsatAt),
            ts_null(Customer::ReferralCandidateAt),
        ] {
            manager
                .alter_table(Table::alter().table(Customer::Table).add_column(col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Customer::NpsScore,
            Customer::NpsCategory,
            Customer::NpsAt,
            Customer::LatestCsat,
            Customer::CsatAt,
            Customer::ReferralCandidateAt,
        ] {
            manager
                .alter_table(Table::alter().table(Customer::Table).drop_column(col).to_owned())
                .await?;
        }
        for table in [
            SurveyAnswer::Table.into_iden(),
            SurveyResponse::Table.into_iden(),
            SurveyInvitation::Table.into_iden(),
            Survey::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
