//! Feedback, tasks, staff directory, feedback settings and report.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, ID, Object};

use super::customers::parse_uuid;
use super::{ctx, gql};
use crate::contract::Page;
use crate::contract::feedback::{
    FeedbackEventView, FeedbackFilter, FeedbackPatch, FeedbackReport, FeedbackReportQuery, FeedbackView,
    MyFeedbackView, NewComment, NewFeedback, Transition,
};
use crate::contract::settings::{BusinessCalendarSettings, ClassificationSettings, SlaPolicies};
use crate::contract::staff::{StaffInput, StaffView};
use crate::contract::tasks::{NewTask, TaskFilter, TaskPatch, TaskView};
use crate::domain::pagination::PageRequest;
use crate::service::feedback::History;
use crate::service::{feedback, feedback_report, settings, staff, tasks};

fn page(first: Option<i32>, after: Option<&str>) -> async_graphql::Result<PageRequest> {
    let limit = first.map(|f| u64::try_from(f).unwrap_or(0));
    gql(PageRequest::parse(limit, after))
}

/// A service page as a Relay connection; `cursor` gives each item's cursor.
fn connection<T: async_graphql::OutputType>(
    request: &PageRequest,
    page: Page<T>,
    cursor: impl Fn(&T) -> String,
) -> Connection<String, T> {
    let mut conn = Connection::new(request.after.is_some(), page.next_cursor.is_some());
    conn.edges
        .extend(page.items.into_iter().map(|v| Edge::new(cursor(&v), v)));
    conn
}

fn time_cursor(at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> String {
    crate::domain::pagination::Cursor {
        key: at.to_rfc3339(),
        id,
    }
    .encode()
}

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
        Ok(connection(&request, result, |e| {
            crate::domain::pagination::Cursor {
                key: String::new(),
                id: e.id,
            }
            .encode()
        }))
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
        Ok(connection(&request, result, |f| time_cursor(f.created_at, f.id)))
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
        Ok(connection(&request, result, |f| time_cursor(f.created_at, f.id)))
    }

    async fn sla_policies(&self, c: &Context<'_>) -> async_graphql::Result<SlaPolicies> {
        let (actor, db) = ctx(c)?;
        gql(settings::get_sla_policies(db, actor).await)
    }

    async fn business_calendar(&self, c: &Context<'_>) -> async_graphql::Result<BusinessCalendarSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::get_business_calendar(db, actor).await)
    }

    async fn feedback_classification(&self, c: &Context<'_>) -> async_graphql::Result<ClassificationSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::get_classification(db, actor).await)
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

    async fn task(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(tasks::get(db, actor, parse_uuid(&id, "task")?).await)
    }

    /// Tasks, newest first (an agent's own).
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn tasks(
        &self,
        c: &Context<'_>,
        filter: Option<TaskFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, TaskView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(tasks::list(db, actor, &filter.unwrap_or_default(), &request).await)?;
        Ok(connection(&request, result, |t| time_cursor(t.created_at, t.id)))
    }

    /// The staff directory, by id.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn staff(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, StaffView>> {
        let (actor, db) = ctx(c)?;
        let request = page(first, after.as_deref())?;
        let result = gql(staff::list(db, actor, &request).await)?;
        Ok(connection(&request, result, |s| {
            crate::domain::pagination::Cursor {
                key: s.id.clone(),
                id: uuid::Uuid::nil(),
            }
            .encode()
        }))
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

    async fn comment_feedback(
        &self,
        c: &Context<'_>,
        id: ID,
        input: NewComment,
    ) -> async_graphql::Result<FeedbackEventView> {
        let (actor, db) = ctx(c)?;
        gql(feedback::comment(db, actor, parse_uuid(&id, "feedback")?, input).await)
    }

    async fn update_sla_policies(&self, c: &Context<'_>, input: SlaPolicies) -> async_graphql::Result<SlaPolicies> {
        let (actor, db) = ctx(c)?;
        gql(settings::put_sla_policies(db, actor, input).await)
    }

    async fn update_business_calendar(
        &self,
        c: &Context<'_>,
        input: BusinessCalendarSettings,
    ) -> async_graphql::Result<BusinessCalendarSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::put_business_calendar(db, actor, input).await)
    }

    async fn update_feedback_classification(
        &self,
        c: &Context<'_>,
        input: ClassificationSettings,
    ) -> async_graphql::Result<ClassificationSettings> {
        let (actor, db) = ctx(c)?;
        gql(settings::put_classification(db, actor, input).await)
    }

    async fn create_task(&self, c: &Context<'_>, input: NewTask) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(tasks::create(db, actor, input).await)
    }

    async fn update_task(&self, c: &Context<'_>, id: ID, patch: TaskPatch) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(tasks::update(db, actor, parse_uuid(&id, "task")?, patch).await)
    }

    /// Creates or replaces a staff directory entry.
    async fn put_staff(&self, c: &Context<'_>, id: String, input: StaffInput) -> async_graphql::Result<StaffView> {
        let (actor, db) = ctx(c)?;
        gql(staff::put(db, actor, &id, input).await)
    }
}
