//! Tasks: follow-ups, escalations and callbacks, each with an assignee.

use super::Patch;
use super::value_enum;
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

value_enum!(
    /// What a task is for: `follow_up`, `win_back` (from early-warning
    /// alerts), `care`, `upsell`, `review`, `sla_escalation`, and the older
    /// `escalation`, `callback`, `other`.
    TaskKind {
        FollowUp => "follow_up",
        WinBack => "win_back",
        Care => "care",
        Upsell => "upsell",
        SlaEscalation => "sla_escalation",
        Escalation => "escalation",
        Callback => "callback",
        Review => "review",
        Other => "other",
    }
);
value_enum!(
    /// Whether a task still needs doing.
    TaskStatus { Open => "open", Done => "done", Cancelled => "cancelled" }
);

/// A new task.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewTaskInput")]
pub struct NewTask {
    pub kind: TaskKind,
    pub customer_id: Uuid,
    /// The feedback item it is about.
    pub feedback_id: Option<Uuid>,
    pub title: String,
    /// Defaults to the caller.
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
}

/// Changes to a task. Finishing it (`done`) takes an outcome note.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "TaskPatchInput")]
pub struct TaskPatch {
    pub status: Option<TaskStatus>,
    pub outcome: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Patch<DateTime<Utc>>,
}

/// A task.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "Task")]
pub struct TaskView {
    pub id: Uuid,
    pub kind: TaskKind,
    pub customer_id: Uuid,
    pub feedback_id: Option<Uuid>,
    pub title: String,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub status: TaskStatus,
    pub outcome: Option<String>,
    pub created_by: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the task list.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "TaskFilter")]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub kind: Option<TaskKind>,
    /// Agents always see only their own.
    pub assignee_id: Option<String>,
    pub customer_id: Option<Uuid>,
    pub feedback_id: Option<Uuid>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after this instant.
    pub due_after: Option<DateTime<Utc>>,
    /// `true`: open tasks past their due time; `false`: the others.
    pub overdue: Option<bool>,
    /// `true`: the caller's own tasks ("my tasks"), whatever `assignee_id` says.
    pub mine: Option<bool>,
}

/// Open tasks to hand to someone else: by id, or every open task of one assignee.
#[derive(Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "TaskReassignInput")]
pub struct TaskReassign {
    /// 1–500 tasks; give these or `from_assignee_id`.
    #[schema(min_items = 1, max_items = 500)]
    pub task_ids: Option<Vec<Uuid>>,
    /// Every open task of this staff member.
    pub from_assignee_id: Option<String>,
    /// Who takes them.
    pub assignee_id: String,
}

/// What a reassignment did.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct TaskReassigned {
    /// Open tasks now assigned to `assignee_id` (closed ones are left as they are).
    pub reassigned: u64,
}
