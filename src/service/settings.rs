//! Admin-editable settings kept in `app_setting`, one JSON document per key.

use crate::service::Store;
use chrono::NaiveTime;
use entity::app_setting;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::now;
use crate::auth::{Actor, policy};
use crate::contract::feedback::Severity;
use crate::contract::segments::AnalyticsSettings;
use crate::contract::settings::{BusinessCalendarSettings, ClassificationSettings, SlaPolicies, Weekday};
use crate::domain::calendar::{Block, BusinessCalendar};
use crate::domain::feedback::{ClassificationRules, SlaTable};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult, FieldError};

const ANALYTICS: &str = "analytics";

/// A settings document, or its default until one is saved.
///
/// # Errors
/// Database failures.
pub(crate) async fn load<T: DeserializeOwned + Default>(conn: &impl ConnectionTrait, key: &str) -> AppResult<T> {
    let row = app_setting::Entity::find_by_id(key.to_owned()).one(conn).await?;
    Ok(pick(row.as_slice(), key))
}

/// The document under `key` among loaded rows, or its default.
fn pick<T: DeserializeOwned + Default>(rows: &[app_setting::Model], key: &str) -> T {
    rows.iter()
        .find(|r| r.key == key)
        .and_then(|r| serde_json::from_value(r.value.clone()).ok())
        .unwrap_or_default()
}

/// Saves a settings document (validated by the caller).
///
/// # Errors
/// Database failures.
pub(crate) async fn store<T: Serialize>(conn: &impl ConnectionTrait, key: &str, value: &T) -> AppResult<()> {
    let value = serde_json::to_value(value).map_err(|e| AppError::Internal(e.into()))?;
    app_setting::Entity::insert(app_setting::ActiveModel {
        key: Set(key.into()),
        value: Set(value),
        updated_at: Set(now()),
    })
    .on_conflict(
        OnConflict::column(app_setting::Column::Key)
            .update_columns([app_setting::Column::Value, app_setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(conn)
    .await?;
    Ok(())
}

/// The analytics settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub async fn analytics(conn: &impl ConnectionTrait) -> AppResult<AnalyticsSettings> {
    load(conn, ANALYTICS).await
}

/// Reads the analytics settings.
///
/// # Errors
/// `Forbidden` for roles that may not read settings.
pub async fn get_analytics(db: &impl Store, actor: &Actor) -> AppResult<AnalyticsSettings> {
    policy::read_customers(actor)?;
    analytics(db).await
}

/// Replaces the analytics settings.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_analytics(
    db: &impl Store,
    actor: &Actor,
    mut input: AnalyticsSettings,
) -> AppResult<AnalyticsSettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    if !(7..=3650).contains(&input.rfm_window_days) {
        c.fail("rfm_window_days", "must be between 7 and 3650");
    }
    if !(1..=100).contains(&input.key_tier_percent) {
        c.fail("key_tier_percent", "must be between 1 and 100");
    }
    if u16::from(input.key_tier_percent) + u16::from(input.important_tier_percent) > 100 {
        c.fail(
            "important_tier_percent",
            "key and important together must be at most 100",
        );
    }
    if !(1..=600).contains(&input.expected_lifetime_months) {
        c.fail("expected_lifetime_months", "must be between 1 and 600");
    }
    input.currency = c.opt("currency", input.currency.take(), parse::currency);
    c.finish()?;
    store(db, ANALYTICS, &input).await?;
    Ok(input)
}

const SLA_POLICIES: &str = "sla_policies";
const BUSINESS_CALENDAR: &str = "business_calendar";
const CLASSIFICATION: &str = "feedback_classification";

/// Everything the feedback loop reads from settings at once.
pub struct FeedbackRules {
    pub policies: SlaTable,
    pub calendar: BusinessCalendar,
    pub classification: ClassificationRules,
}

/// The SLA policies, business calendar and classification rules in force.
///
/// # Errors
/// Database failures.
pub async fn feedback_rules(conn: &impl ConnectionTrait) -> AppResult<FeedbackRules> {
    use sea_orm::{ColumnTrait, QueryFilter};
    // One statement for the three documents: intake and every transition read them.
    let rows = app_setting::Entity::find()
        .filter(app_setting::Column::Key.is_in([SLA_POLICIES, BUSINESS_CALENDAR, CLASSIFICATION]))
        .all(conn)
        .await?;
    let calendar: BusinessCalendarSettings = pick(&rows, BUSINESS_CALENDAR);
    let policies: SlaPolicies = pick(&rows, SLA_POLICIES);
    let classification: ClassificationSettings = pick(&rows, CLASSIFICATION);
    // The documents become the domain's own types here, at the boundary.
    Ok(FeedbackRules {
        policies: SlaTable::from(&policies),
        // Saved calendars were validated; a default stands in should one not read.
        calendar: to_calendar(&calendar).unwrap_or_default(),
        classification: ClassificationRules::from(&classification),
    })
}

/// The business calendar in force.
///
/// # Errors
/// Database failures.
pub async fn business_calendar(conn: &impl ConnectionTrait) -> AppResult<BusinessCalendar> {
    let input: BusinessCalendarSettings = load(conn, BUSINESS_CALENDAR).await?;
    // Saved calendars were validated; a default stands in should one not read.
    Ok(to_calendar(&input).unwrap_or_default())
}

/// Staff may read the feedback settings.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_sla_policies(db: &impl Store, actor: &Actor) -> AppResult<SlaPolicies> {
    policy::read_customers(actor)?;
    load(db, SLA_POLICIES).await
}

/// Replaces the SLA policies.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_sla_policies(db: &impl Store, actor: &Actor, input: SlaPolicies) -> AppResult<SlaPolicies> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let mut seen = std::collections::HashSet::new();
    for (i, p) in input.policies.iter().enumerate() {
        for (name, t) in [("first_response", &p.first_response), ("resolution", &p.resolution)] {
            if !(1..=100_000).contains(&t.amount) {
                c.fail(&format!("policies[{i}].{name}.amount"), "must be between 1 and 100000");
            }
        }
        if !seen.insert((p.severity, p.kind)) {
            c.fail(
                &format!("policies[{i}]"),
                "repeats the severity and kind of an earlier policy",
            );
        }
    }
    for severity in Severity::ALL {
        if !seen.contains(&(*severity, None)) {
            c.fail(
                "policies",
                format!("needs a policy for severity {} without a kind", severity.as_str()),
            );
        }
    }
    c.finish()?;
    store(db, SLA_POLICIES, &input).await?;
    Ok(input)
}

/// Reads the business calendar.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_business_calendar(db: &impl Store, actor: &Actor) -> AppResult<BusinessCalendarSettings> {
    policy::read_customers(actor)?;
    load(db, BUSINESS_CALENDAR).await
}

/// Replaces the business calendar. Items keep the due times they have;
/// the new hours count from their next clock change.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_business_calendar(
    db: &impl Store,
    actor: &Actor,
    mut input: BusinessCalendarSettings,
) -> AppResult<BusinessCalendarSettings> {
    policy::manage_customers(actor)?;
    to_calendar(&input).map_err(AppError::Validation)?;
    input.holidays.sort_unstable();
    input.holidays.dedup();
    store(db, BUSINESS_CALENDAR, &input).await?;
    Ok(input)
}

/// Most holidays a calendar may list.
const MAX_HOLIDAYS: usize = 2_000;

/// Reads calendar settings into the calendar the clocks use.
///
/// # Errors
/// Every bad field, by path.
pub fn to_calendar(input: &BusinessCalendarSettings) -> Result<BusinessCalendar, Vec<FieldError>> {
    let mut errors = Vec::new();
    let time_zone = parse::time_zone(&input.time_zone).unwrap_or_else(|e| {
        errors.push(FieldError::new("time_zone", e));
        chrono_tz::Tz::UTC
    });
    let mut week: [Vec<Block>; 7] = Default::default();
    let mut seen = [false; 7];
    for (i, day) in input.week.iter().enumerate() {
        let index = Weekday::ALL.iter().position(|d| *d == day.day).unwrap_or(0);
        if std::mem::replace(&mut seen[index], true) {
            errors.push(FieldError::new(format!("week[{i}].day"), "is listed twice"));
        }
        if day.hours.is_empty() {
            errors.push(FieldError::new(
                format!("week[{i}].hours"),
                "must list at least one block",
            ));
        }
        for (j, block) in day.hours.iter().enumerate() {
            let time = |field: &str, v: &str, errors: &mut Vec<FieldError>| {
                NaiveTime::parse_from_str(v, "%H:%M").ok().or_else(|| {
                    errors.push(FieldError::new(
                        format!("week[{i}].hours[{j}].{field}"),
                        "must be a time HH:MM",
                    ));
                    None
                })
            };
            let start = time("start", &block.start, &mut errors);
            // 24:00 ends a block at midnight.
            let end = if block.end == "24:00" {
                NaiveTime::from_hms_opt(23, 59, 59)
            } else {
                time("end", &block.end, &mut errors)
            };
            if let (Some(start), Some(end)) = (start, end) {
                week[index].push(Block { start, end });
            }
        }
    }
    let calendar = BusinessCalendar {
        time_zone,
        week,
        holidays: input.holidays.iter().copied().collect(),
    };
    if input.holidays.len() > MAX_HOLIDAYS {
        errors.push(FieldError::new(
            "holidays",
            format!("must list at most {MAX_HOLIDAYS} dates"),
        ));
    }
    if errors.is_empty()
        && let Err((day, message)) = calendar.validate()
    {
        let i = input
            .week
            .iter()
            .position(|d| Weekday::ALL.iter().position(|w| *w == d.day) == Some(day));
        errors.push(FieldError::new(
            i.map_or_else(|| "week".to_owned(), |i| format!("week[{i}].hours")),
            message,
        ));
    }
    if errors.is_empty() { Ok(calendar) } else { Err(errors) }
}

/// Reads the classification rules.
///
/// # Errors
/// `Forbidden` for partners and customers.
pub async fn get_classification(db: &impl Store, actor: &Actor) -> AppResult<ClassificationSettings> {
    policy::read_customers(actor)?;
    load(db, CLASSIFICATION).await
}

/// Most keywords per list.
const MAX_KEYWORDS: usize = 500;

/// Replaces the classification rules; keywords are trimmed and lower-cased.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_classification(
    db: &impl Store,
    actor: &Actor,
    mut input: ClassificationSettings,
) -> AppResult<ClassificationSettings> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    for (name, list) in [
        ("urgent_keywords", &mut input.urgent_keywords),
        ("important_keywords", &mut input.important_keywords),
    ] {
        if list.len() > MAX_KEYWORDS {
            c.fail(name, format!("must list at most {MAX_KEYWORDS} keywords"));
        }
        for (i, k) in list.iter_mut().enumerate() {
            if let Some(keyword) = c.check(&format!("{name}[{i}]"), parse::tag(std::mem::take(k))) {
                *k = keyword;
            }
        }
    }
    let mut kinds = std::collections::HashSet::new();
    for (i, f) in input.kind_floors.iter().enumerate() {
        if !kinds.insert(f.kind) {
            c.fail(&format!("kind_floors[{i}].kind"), "is listed twice");
        }
    }
    c.finish()?;
    store(db, CLASSIFICATION, &input).await?;
    Ok(input)
}
