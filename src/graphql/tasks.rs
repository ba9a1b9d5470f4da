//! Tasks: follow-ups, escalations and callbacks.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use super::customers::parse_uuid;
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::contract::tasks::{NewTask, TaskFilter, TaskPatch, TaskReassign, TaskReassigned, TaskView};
use crate::service::tasks;

#[derive(Default)]
pub struct TasksQuery;

#[Object]
impl TasksQuery {
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
        Ok(connection(&request, result))
    }
}

#[derive(Default)]
pub struct TasksMutation;

#[Object]
impl TasksMutation {
    async fn create_task(&self, c: &Context<'_>, input: NewTask) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(tasks::create(db, actor, input).await)
    }

    async fn update_task(&self, c: &Context<'_>, id: ID, patch: TaskPatch) -> async_graphql::Result<TaskView> {
        let (actor, db) = ctx(c)?;
        gql(tasks::update(db, actor, parse_uuid(&id, "task")?, patch).await)
    }

    /// Hands open tasks to someone else: the ones named, or every open task of one assignee.
    async fn reassign_tasks(&self, c: &Context<'_>, input: TaskReassign) -> async_graphql::Result<TaskReassigned> {
        let (actor, db) = ctx(c)?;
        gql(tasks::reassign(db, actor, input).await)
    }
}
