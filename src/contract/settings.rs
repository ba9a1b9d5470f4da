//! The settings behind feedback and analytics: SLA policies, the business
//! calendar, classification rules (RFM's settings are in `segments`).

use super::feedback::{FeedbackKind, Severity};
use super::value_enum;
use crate::domain::feedback::{self as domain, ClassificationRules, SlaTable, TargetSpec};
use async_graphql::{InputObject, SimpleObject};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

value_enum!(
    /// How an SLA target counts time.
    TargetUnit {
        Minutes => "minutes",
        Hours => "hours",
        Days => "days",
        BusinessHours => "business_hours",
        BusinessDays => "business_days",
    }
);
value_enum!(
    /// A day of the week.
    Weekday {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
);

/// An SLA target: an amount of some unit. Business units count only
/// working hours of the business calendar; a business day is the working
/// time of the calendar's first working weekday.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaTargetInput")]
pub struct SlaTarget {
    /// 1–100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    pub amount: u32,
    pub unit: TargetUnit,
}

/// The targets for one severity, optionally only for one kind (a policy with
/// a kind wins over the severity's general one).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaPolicyInput")]
pub struct SlaPolicy {
    pub severity: Severity,
    pub kind: Option<FeedbackKind>,
    /// Time to acknowledge.
    pub first_response: SlaTarget,
    /// Time to resolve (waiting on the customer does not count).
    pub resolution: SlaTarget,
}

/// Every SLA policy. Defaults: urgent — first response 1 hour, resolution
/// 24 hours; important — 2 hours, 24 hours; general — 3 business days,
/// 5 business days.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "SlaPoliciesInput")]
pub struct SlaPolicies {
    /// One general policy per severity is required; kind-specific ones are optional.
    pub policies: Vec<SlaPolicy>,
}

impl Default for SlaPolicies {
    fn default() -> Self {
        Self::from(&SlaTable::default())
    }
}

impl From<&SlaTable> for SlaPolicies {
    fn from(table: &SlaTable) -> Self {
        let target = |t: TargetSpec| SlaTarget {
            amount: t.amount,
            unit: t.unit,
        };
        Self {
            policies: table
                .0
                .iter()
                .map(|p| SlaPolicy {
                    severity: p.severity,
                    kind: p.kind,
                    first_response: target(p.first_response),
                    resolution: target(p.resolution),
                })
                .collect(),
        }
    }
}

impl From<&SlaPolicies> for SlaTable {
    fn from(policies: &SlaPolicies) -> Self {
        let spec = |t: &SlaTarget| TargetSpec {
            amount: t.amount,
            unit: t.unit,
        };
        Self(
            policies
                .policies
                .iter()
                .map(|p| domain::SlaPolicy {
                    severity: p.severity,
                    kind: p.kind,
                    first_response: spec(&p.first_response),
                    resolution: spec(&p.resolution),
                })
                .collect(),
        )
    }
}

/// A block of working hours, local time `HH:MM`, `start` before `end`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "HoursBlockInput")]
pub struct HoursBlock {
    pub start: String,
    pub end: String,
}

/// The working hours of one weekday.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "WorkingDayInput")]
pub struct WorkingDay {
    pub day: Weekday,
    /// One or more blocks, e.g. 09:00–12:00 and 13:30–18:00.
    pub hours: Vec<HoursBlock>,
}

/// When business time runs. Default: Monday–Friday 09:00–17:00 UTC.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "BusinessCalendarInput")]
pub struct BusinessCalendarSettings {
    /// IANA zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// Working days; days not listed are off.
    pub week: Vec<WorkingDay>,
    /// Dates off (local dates).
    pub holidays: Vec<NaiveDate>,
}

impl Default for BusinessCalendarSettings {
    fn default() -> Self {
        let hours = || {
            vec![HoursBlock {
                start: "09:00".into(),
                end: "17:00".into(),
            }]
        };
        Self {
            time_zone: "UTC".into(),
            week: [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
                .into_iter()
                .map(|day| WorkingDay { day, hours: hours() })
                .collect(),
            holidays: Vec::new(),
        }
    }
}

/// The lowest severity feedback of a kind gets.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "KindFloorInput")]
pub struct KindFloor {
    pub kind: FeedbackKind,
    pub severity: Severity,
}

/// How severity is decided when none is given, strongest first: a word
/// from `urgent_keywords` makes it urgent, one from `important_keywords`
/// at least important; a key-tier customer's feedback of `key_tier_kinds`
/// is at least `key_tier_severity`; each kind has a floor. Keywords match
/// case-insensitively, English ones as whole words, Chinese ones anywhere.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "ClassificationSettingsInput")]
pub struct ClassificationSettings {
    pub urgent_keywords: Vec<String>,
    pub important_keywords: Vec<String>,
    pub key_tier_severity: Severity,
    pub key_tier_kinds: Vec<FeedbackKind>,
    pub kind_floors: Vec<KindFloor>,
}

impl Default for ClassificationSettings {
    fn default() -> Self {
        Self::from(&ClassificationRules::default())
    }
}

impl From<&ClassificationRules> for ClassificationSettings {
    fn from(r: &ClassificationRules) -> Self {
        Self {
            urgent_keywords: r.urgent_keywords.clone(),
            important_keywords: r.important_keywords.clone(),
            key_tier_severity: r.key_tier_severity,
            key_tier_kinds: r.key_tier_kinds.clone(),
            kind_floors: r
                .kind_floors
                .iter()
                .map(|&(kind, severity)| KindFloor { kind, severity })
                .collect(),
        }
    }
}

impl From<&ClassificationSettings> for ClassificationRules {
    fn from(s: &ClassificationSettings) -> Self {
        Self {
            urgent_keywords: s.urgent_keywords.clone(),
            important_keywords: s.important_keywords.clone(),
            key_tier_severity: s.key_tier_severity,
            key_tier_kinds: s.key_tier_kinds.clone(),
            kind_floors: s.kind_floors.iter().map(|f| (f.kind, f.severity)).collect(),
        }
    }
}
