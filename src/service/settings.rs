//! Admin-editable settings kept in `app_setting`, one JSON document per key.

use entity::app_setting;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};

use super::now;
use crate::api::segments::AnalyticsSettings;
use crate::auth::{Actor, policy};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

const ANALYTICS: &str = "analytics";

/// The analytics settings in force (defaults until an admin saves some).
///
/// # Errors
/// Database failures.
pub async fn analytics(conn: &impl ConnectionTrait) -> AppResult<AnalyticsSettings> {
    let row = app_setting::Entity::find_by_id(ANALYTICS.to_owned()).one(conn).await?;
    Ok(row
        .and_then(|r| serde_json::from_value(r.value).ok())
        .unwrap_or_default())
}

/// Reads the analytics settings.
///
/// # Errors
/// `Forbidden` for roles that may not read settings.
pub async fn get_analytics(db: &DatabaseConnection, actor: &Actor) -> AppResult<AnalyticsSettings> {
    policy::read_customers(actor)?;
    analytics(db).await
}

/// Replaces the analytics settings.
///
/// # Errors
/// `Forbidden` unless admin or manager; `Validation` naming each bad field.
pub async fn put_analytics(
    db: &DatabaseConnection,
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
    let value = serde_json::to_value(&input).map_err(|e| AppError::Internal(e.into()))?;
    app_setting::Entity::insert(app_setting::ActiveModel {
        key: Set(ANALYTICS.into()),
        value: Set(value),
        updated_at: Set(now()),
    })
    .on_conflict(
        OnConflict::column(app_setting::Column::Key)
            .update_columns([app_setting::Column::Value, app_setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(input)
}
