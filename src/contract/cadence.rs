//! Contact cadence and care moments: how often each tier expects contact,
//! who is overdue, and the follow-up, review and care tasks the daily jobs
//! create.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::customers::ValueTier;

/// Days between contacts per value tier, and what the jobs create.
///
/// A staff-logged interaction in either direction resets a customer's
/// clock (it moves `last_contacted_at`); survey invitations and other
/// automated sends do not. A customer's own `cadence_days` overrides its
/// tier's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "CadenceSettingsInput")]
pub struct CadenceSettings {
    /// Key customers: days between contacts, 1–365 (default 14).
    #[schema(minimum = 1, maximum = 365)]
    pub key_days: u32,
    /// Important customers, 1–365 (default 30).
    #[schema(minimum = 1, maximum = 365)]
    pub important_days: u32,
    /// General customers, 1–365 (default 90).
    #[schema(minimum = 1, maximum = 365)]
    pub general_days: u32,
    /// Most follow-up and review tasks one run creates for one owner,
    /// 0–10,000 (default 25): the rest wait for the next working day, the
    /// most overdue first, so switching cadence on floods no one.
    #[serde(default = "default_cap")]
    #[schema(minimum = 0, maximum = 10_000)]
    pub max_tasks_per_owner: u32,
    /// Key customers get a `review` task each calendar quarter (default on).
    #[serde(default = "on")]
    pub quarterly_review: bool,
    /// Days a care task is created before its moment, 0–60 (default 7).
    #[serde(default = "default_lead")]
    #[schema(minimum = 0, maximum = 60)]
    pub care_lead_days: u32,
    /// Birthdays create care tasks (default on).
    #[serde(default = "on")]
    pub birthdays: bool,
    /// Relationship anniversaries (from `relationship_start`) create care
    /// tasks (default on).
    #[serde(default = "on")]
    pub anniversaries: bool,
}

const fn default_cap() -> u32 {
    25
}

const fn default_lead() -> u32 {
    7
}

const fn on() -> bool {
    true
}

impl Default for CadenceSettings {
    fn default() -> Self {
        Self {
            key_days: 14,
            important_days: 30,
            general_days: 90,
            max_tasks_per_owner: default_cap(),
            quarterly_review: true,
            care_lead_days: default_lead(),
            birthdays: true,
            anniversaries: true,
        }
    }
}

impl CadenceSettings {
    /// The tier's days between contacts.
    pub const fn days(&self, tier: ValueTier) -> u32 {
        match tier {
            ValueTier::Key => self.key_days,
            ValueTier::Important => self.important_days,
            ValueTier::General => self.general_days,
        }
    }
}

/// Filters of the overdue list.
#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "OverdueFilter")]
pub struct OverdueFilter {
    pub owner_id: Option<String>,
    pub value_tier: Option<ValueTier>,
    /// `true`: the caller's own customers, whatever `owner_id` says.
    pub mine: Option<bool>,
}

/// A customer past its contact cadence.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct OverdueCustomer {
    pub customer_id: Uuid,
    /// Masked for analysts.
    pub name: String,
    pub value_tier: ValueTier,
    pub owner_id: Option<String>,
    /// Days between contacts that apply (the customer's own or its tier's).
    pub cadence_days: i32,
    /// `null`: never contacted (the clock runs from `created_at`).
    pub last_contacted_at: Option<DateTime<Utc>>,
    /// Whole days since the last contact (or since the customer was created).
    pub days_since_contact: i64,
    /// Whole days past the cadence (at least 1).
    pub days_overdue: i64,
}

/// What a cadence run did.
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct CadenceRunResult {
    /// Overdue customers seen.
    pub overdue: i64,
    /// Follow-up tasks created (one per overdue episode).
    pub follow_ups: i64,
    /// Quarterly review tasks created for key customers.
    pub reviews: i64,
    /// Tasks left for a later run by `max_tasks_per_owner`.
    pub capped: i64,
    /// `false` on a day the business calendar does not work: nothing is created.
    pub working_day: bool,
}

/// What a care-moment run did.
#[derive(Clone, Debug, Default, Serialize, ToSchema, SimpleObject)]
pub struct CareRunResult {
    pub birthdays: i64,
    pub anniversaries: i64,
}
