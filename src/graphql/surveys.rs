//! Surveys: definitions, invitations, responses and results; the signed-in
//! customer's own invitations. Answering by token is REST only (no login).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Json, Object};
use serde_json::{Map, Value};

use super::customers::parse_uuid;
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::surveys::{
    AnswersInput, FinishInput, InvitationFilter, InvitationReport, InvitationView, MySurvey, NewInvitations, NewSurvey,
    PublicInvitation, ReminderReport, ResponseFilter, ResponseView, ResultsQuery, SurveyFilter, SurveyPatch,
    SurveyResults, SurveySettings, SurveyView,
};
use crate::service::surveys;

#[derive(Default)]
pub struct SurveysQuery;

#[Object]
impl SurveysQuery {
    async fn survey(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<SurveyView> {
        let (actor, db) = ctx(c)?;
        gql(surveys::get(db, actor, parse_uuid(&id, "survey")?).await)
    }

    /// Surveys, newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn surveys(
        &self,
        c: &Context<'_>,
        filter: Option<SurveyFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SurveyView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(surveys::list(db, actor, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }

    /// A survey's invitations, newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn survey_invitations(
        &self,
        c: &Context<'_>,
        survey_id: ID,
        filter: Option<InvitationFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, InvitationView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let id = parse_uuid(&survey_id, "survey")?;
        let result = gql(surveys::list_invitations(db, actor, id, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }

    /// A survey's responses, newest first (comments masked for analysts).
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn survey_responses(
        &self,
        c: &Context<'_>,
        survey_id: ID,
        filter: Option<ResponseFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ResponseView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let id = parse_uuid(&survey_id, "survey")?;
        let result = gql(surveys::list_responses(db, actor, id, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }

    /// A survey's results (reads every response of the period).
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn survey_results(
        &self,
        c: &Context<'_>,
        survey_id: ID,
        query: Option<ResultsQuery>,
    ) -> async_graphql::Result<SurveyResults> {
        let (actor, db) = ctx(c)?;
        let id = parse_uuid(&survey_id, "survey")?;
        gql(surveys::results(db, actor, id, query.unwrap_or_default()).await)
    }

    async fn survey_settings(&self, c: &Context<'_>) -> async_graphql::Result<SurveySettings> {
        let (actor, db) = ctx(c)?;
        gql(surveys::get_settings(db, actor).await)
    }

    /// The signed-in customer's invitations.
    async fn my_surveys(&self, c: &Context<'_>) -> async_graphql::Result<Vec<MySurvey>> {
        let (actor, db) = ctx(c)?;
        gql(surveys::list_mine(db, actor).await)
    }

    /// One of the signed-in customer's invitations, to answer.
    async fn my_survey(&self, c: &Context<'_>, invitation_id: ID) -> async_graphql::Result<PublicInvitation> {
        let (actor, db) = ctx(c)?;
        gql(surveys::open_mine(db, actor, parse_uuid(&invitation_id, "survey invitation")?).await)
    }
}

#[derive(Default)]
pub struct SurveysMutation;

#[Object]
impl SurveysMutation {
    async fn create_survey(&self, c: &Context<'_>, input: NewSurvey) -> async_graphql::Result<SurveyView> {
        let (actor, db) = ctx(c)?;
        gql(surveys::create(db, actor, input).await)
    }

    async fn update_survey(&self, c: &Context<'_>, id: ID, patch: SurveyPatch) -> async_graphql::Result<SurveyView> {
        let (actor, db) = ctx(c)?;
        gql(surveys::update(db, actor, parse_uuid(&id, "survey")?, patch).await)
    }

    /// Invites customers (a segment's members may be many: set-wide work).
    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn send_survey_invitations(
        &self,
        c: &Context<'_>,
        survey_id: ID,
        input: NewInvitations,
    ) -> async_graphql::Result<InvitationReport> {
        let (actor, db) = ctx(c)?;
        gql(surveys::send(db, actor, parse_uuid(&survey_id, "survey")?, input).await)
    }

    #[graphql(complexity = "super::SET_WIDE_WRITE + child_complexity")]
    async fn remind_survey_invitations(&self, c: &Context<'_>, survey_id: ID) -> async_graphql::Result<ReminderReport> {
        let (actor, db) = ctx(c)?;
        gql(surveys::remind(db, actor, parse_uuid(&survey_id, "survey")?).await)
    }

    /// Saves the signed-in customer's answers (by question id; `null`
    /// clears one) while its response is partial.
    async fn save_my_survey_response(
        &self,
        c: &Context<'_>,
        invitation_id: ID,
        answers: Json<Map<String, Value>>,
    ) -> async_graphql::Result<PublicInvitation> {
        let (actor, db) = ctx(c)?;
        let id = parse_uuid(&invitation_id, "survey invitation")?;
        gql(surveys::save_mine(db, actor, id, AnswersInput { answers: answers.0 }).await)
    }

    /// Finishes the signed-in customer's response, with any last answers.
    async fn finish_my_survey_response(
        &self,
        c: &Context<'_>,
        invitation_id: ID,
        answers: Option<Json<Map<String, Value>>>,
    ) -> async_graphql::Result<PublicInvitation> {
        let (actor, db) = ctx(c)?;
        let id = parse_uuid(&invitation_id, "survey invitation")?;
        let answers = answers.map(|a| a.0).unwrap_or_default();
        gql(surveys::finish_mine(db, actor, id, FinishInput { answers }).await)
    }

    async fn update_survey_settings(
        &self,
        c: &Context<'_>,
        input: SurveySettings,
    ) -> async_graphql::Result<SurveySettings> {
        let (actor, db) = ctx(c)?;
        gql(surveys::put_settings(db, actor, input).await)
    }
}
