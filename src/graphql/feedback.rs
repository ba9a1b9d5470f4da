//! Feedback items, their history and comments, and the feedback report.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, Object};

use super::customers::parse_uuid;
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::feedback::{
    FeedbackEventView, FeedbackFilter, FeedbackPatch, FeedbackReport, FeedbackReportQuery, FeedbackView,
    MyFeedbackView, NewComment, NewFeedback, Transition,
};
use crate::contract::needs::{AdoptSuggestion, Adoption};
use crate::service::feedback::History;
use crate::service::{feedback, feedback_report};

#[ComplexObject]
impl FeedbackView {
    /// The item's history, oldest first (`onlyComments` for the comments).
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn events(
        &self,
        c: &Context<'_>,
        #[graphql(default)] only_comments: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FeedbackEventView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(feedback::events(
            db,
            actor,
            self.id,
            if only_comments { History::Comments } else { History::All },
            &request,
        )
        .await)?;
        Ok(connection(&request, result))
    }
}

#[derive(Default)]
pub struct FeedbackQuery;

#[Object]
impl FeedbackQuery {
    /// One feedback item.
    async fn feedback(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<FeedbackView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::get(db, actor, parse_uuid(&id, "feedback")?).await)
    }

    /// Feedback items, newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn feedbacks(
        &self,
        c: &Context<'_>,
        filter: Option<FeedbackFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FeedbackView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(feedback::list(db, actor, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result))
    }

    /// The signed-in customer's feedback, newest first.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn my_feedback(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, MyFeedbackView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(feedback::list_mine(db, actor, &request).await)?;
        Ok(connection(&request, result))
    }

    /// Volumes, timings, SLA attainment, keywords and sentiment of a window.
    #[graphql(complexity = "super::SET_WIDE_READ + child_complexity")]
    async fn feedback_report(
        &self,
        c: &Context<'_>,
        input: Option<FeedbackReportQuery>,
    ) -> async_graphql::Result<FeedbackReport> {
        let (actor, db) = ctx(c)?;
        gql(feedback_report::report(db, actor, input.unwrap_or_default()).await)
    }
}

#[derive(Default)]
pub struct FeedbackMutation;

#[Object]
impl FeedbackMutation {
    /// Files feedback for a customer (staff).
    async fn create_feedback(&self, c: &Context<'_>, input: NewFeedback) -> async_graphql::Result<FeedbackView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::create(db, actor, input).await)
    }

    /// Files feedback as the signed-in customer.
    async fn create_my_feedback(&self, c: &Context<'_>, input: NewFeedback) -> async_graphql::Result<MyFeedbackView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::create_mine(db, actor, input).await)
    }

    async fn update_feedback(
        &self,
        c: &Context<'_>,
        id: ID,
        patch: FeedbackPatch,
    ) -> async_graphql::Result<FeedbackView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::update(db, actor, parse_uuid(&id, "feedback")?, patch).await)
    }

    /// Moves an item to another state (`CONFLICT` lists the allowed ones).
    async fn transition_feedback(
        &self,
        c: &Context<'_>,
        id: ID,
        input: Transition,
    ) -> async_graphql::Result<FeedbackView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::transition(db, actor, parse_uuid(&id, "feedback")?, input).await)
    }

    /// Adopts a suggestion: the bonus points once, and a need when the
    /// settings ask; adopting again credits nothing.
    async fn adopt_suggestion(
        &self,
        c: &Context<'_>,
        id: ID,
        input: Option<AdoptSuggestion>,
    ) -> async_graphql::Result<Adoption> {
        let (actor, db) = ctx(c)?;
        gql(feedback::adopt(db, actor, parse_uuid(&id, "feedback")?, input.unwrap_or_default()).await)
    }

    async fn comment_feedback(
        &self,
        c: &Context<'_>,
        id: ID,
        input: NewComment,
    ) -> async_graphql::Result<FeedbackEventView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::comment(db, actor, parse_uuid(&id, "feedback")?, input).await)
    }
}
