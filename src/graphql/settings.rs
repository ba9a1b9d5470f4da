//! Settings: SLA policies, the business calendar, classification rules.

use async_graphql::{Context, Object};

use super::{ctx, gql};
use crate::contract::settings::{BusinessCalendarSettings, ClassificationSettings, SlaPolicies};
use crate::service::settings;

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
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
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
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
}
