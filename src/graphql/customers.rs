//! Customer queries and mutations, and the relations of the `Customer` type.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, Object};
use uuid::Uuid;

use super::loaders::{feed, part, prefetch, selected};
use super::paging::{DEFAULT_NESTED, MAX_NESTED, nested_limit};
use super::paging::{connection, page};
use super::{ctx, gql};
use crate::auth::policy;
use crate::contract::contacts::{ContactPatch, ContactView, NewContact};
use crate::contract::customers::{
    CustomerFilter, CustomerPatch, CustomerSort, CustomerView, MyProfilePatch, MyProfileView, NewCustomer,
};
use crate::contract::feedback::FeedbackView;
use crate::contract::health::AlertView;
use crate::contract::interactions::{InteractionView, NewInteraction};
use crate::contract::loyalty::LoyaltyGlance;
use crate::contract::orders::{OrderSummary, OrderView};
use crate::contract::segments::RfmView;
use crate::contract::tasks::TaskView;
use crate::service::overview::{OPEN_FEEDBACK, OPEN_WORK};
use crate::service::parts::{Part, PartValue};
use crate::service::{contacts, customer_list, customers, feedback, health, interactions, orders, rfm, tasks};

#[ComplexObject]
impl CustomerView {
    /// The customer's contacts, primary first.
    async fn contacts(&self, c: &Context<'_>) -> async_graphql::Result<Vec<ContactView>> {
        let (actor, _) = ctx(c)?;
        let rows = match part(c, self.id, Part::Contacts).await? {
            Some(PartValue::Contacts(rows)) => rows,
            _ => Vec::new(),
        };
        Ok(rows.into_iter().map(|m| contacts::to_view(m, actor)).collect())
    }

    /// The newest interactions.
    #[graphql(complexity = "super::list_weight(Some(limit), 0, MAX_NESTED, child_complexity)")]
    async fn interactions(
        &self,
        c: &Context<'_>,
        #[graphql(default_with = "DEFAULT_NESTED")] limit: i32,
    ) -> async_graphql::Result<Vec<InteractionView>> {
        let rows = match part(c, self.id, Part::RecentInteractions(nested_limit(limit)?)).await? {
            Some(PartValue::Interactions(rows)) => rows,
            _ => Vec::new(),
        };
        let (actor, _) = ctx(c)?;
        Ok(rows.into_iter().map(|m| interactions::to_view(m, actor)).collect())
    }

    /// The newest orders.
    #[graphql(complexity = "super::list_weight(Some(limit), 0, MAX_NESTED, child_complexity)")]
    async fn orders(
        &self,
        c: &Context<'_>,
        #[graphql(default_with = "DEFAULT_NESTED")] limit: i32,
    ) -> async_graphql::Result<Vec<OrderView>> {
        let rows = match part(c, self.id, Part::RecentOrders(nested_limit(limit)?)).await? {
            Some(PartValue::Orders(rows)) => rows,
            _ => Vec::new(),
        };
        Ok(rows.into_iter().map(orders::to_view).collect())
    }

    /// RFM scores, label, lifetime value and computed tier as of the last
    /// recompute; null for customers without completed orders.
    async fn rfm(&self, c: &Context<'_>) -> async_graphql::Result<Option<RfmView>> {
        Ok(match part(c, self.id, Part::Rfm).await? {
            Some(PartValue::Rfm(Some(row))) => Some(rfm::to_view(*row)),
            _ => None,
        })
    }

    /// Feedback not yet closed, newest first (at most 20).
    async fn open_feedback(&self, c: &Context<'_>) -> async_graphql::Result<Vec<FeedbackView>> {
        let rows = match part(c, self.id, Part::OpenFeedback(OPEN_FEEDBACK)).await? {
            Some(PartValue::Feedback(rows)) => rows,
            _ => Vec::new(),
        };
        let (actor, _) = ctx(c)?;
        Ok(rows.into_iter().map(|m| feedback::to_view(m, actor)).collect())
    }

    /// Loyalty balance, debt and tier; null before points first move.
    async fn loyalty(&self, c: &Context<'_>) -> async_graphql::Result<Option<LoyaltyGlance>> {
        Ok(match part(c, self.id, Part::Loyalty).await? {
            Some(PartValue::Loyalty(glance)) => glance,
            _ => None,
        })
    }

    /// Early-warning alerts still open, newest first (at most 20).
    async fn open_alerts(&self, c: &Context<'_>) -> async_graphql::Result<Vec<AlertView>> {
        Ok(match part(c, self.id, Part::OpenAlerts(OPEN_WORK)).await? {
            Some(PartValue::Alerts(rows)) => rows.into_iter().map(health::alert_view).collect(),
            _ => Vec::new(),
        })
    }

    /// Tasks still open, soonest due first (at most 20; agents see their own).
    async fn open_tasks(&self, c: &Context<'_>) -> async_graphql::Result<Vec<TaskView>> {
        let (actor, _) = ctx(c)?;
        Ok(match part(c, self.id, Part::OpenTasks(OPEN_WORK)).await? {
            Some(PartValue::Tasks(rows)) => rows
                .into_iter()
                .filter(|t| policy::may_see_assigned(actor, t.assignee_id.as_deref()))
                .map(tasks::to_view)
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Completed-order count, spend per currency, first and last order.
    async fn order_summary(&self, c: &Context<'_>) -> async_graphql::Result<Option<OrderSummary>> {
        Ok(match part(c, self.id, Part::OrderSummary).await? {
            Some(PartValue::OrderSummary(summary)) => Some(summary),
            _ => None,
        })
    }
}

/// A page of the customers list as a Relay connection, with the relations
/// the query selects on its nodes loaded ahead.
pub(super) async fn customer_connection(
    c: &Context<'_>,
    db: &sea_orm::DatabaseConnection,
    actor: &crate::auth::Actor,
    filter: &CustomerFilter,
    sort: Option<CustomerSort>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<String, CustomerView>> {
    let request = page(first, after.as_deref())?;
    let result = gql(customer_list::list(db, actor, filter, sort, &request).await)?;
    let ids: Vec<Uuid> = result.items.iter().map(|v| v.id).collect();
    prefetch(c, c.look_ahead().field("edges").field("node"), &ids).await?;
    Ok(connection(&request, result))
}

pub(super) fn parse_uuid(id: &ID, what: &'static str) -> async_graphql::Result<Uuid> {
    gql(Uuid::parse_str(id).map_err(|_| crate::error::AppError::NotFound(what)))
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// One customer by id.
    async fn customer(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<CustomerView> {
        let (actor, db) = ctx(c)?;
        let wanted = selected(c.look_ahead())?;
        let (view, read) = gql(customers::get_with(db, actor, parse_uuid(&id, "customer")?, &wanted).await)?;
        feed(c, std::iter::once((view.id, read)).collect(), &wanted).await?;
        Ok(view)
    }

    /// One customer by the integration's external id.
    async fn customer_by_external_id(
        &self,
        c: &Context<'_>,
        external_id: String,
    ) -> async_graphql::Result<CustomerView> {
        let (actor, db) = ctx(c)?;
        let view = gql(customers::get_by_external_id(db, actor, &external_id).await)?;
        prefetch(c, c.look_ahead(), &[view.id]).await?;
        Ok(view)
    }

    /// Customers, Relay-style: `first` (1–200, default 50) after a cursor.
    #[graphql(complexity = "super::page_weight(first, child_complexity)")]
    async fn customers(
        &self,
        c: &Context<'_>,
        filter: Option<CustomerFilter>,
        sort: Option<CustomerSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, CustomerView>> {
        let (actor, db) = ctx(c)?;
        let sort = sort.unwrap_or(CustomerSort::CreatedAtDesc);
        customer_connection(c, db, actor, &filter.unwrap_or_default(), Some(sort), first, after).await
    }

    /// One contact.
    async fn contact(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<ContactView> {
        let (actor, db) = ctx(c)?;
        gql(contacts::get(db, actor, parse_uuid(&id, "contact")?).await)
    }

    /// The signed-in customer (customer tokens only).
    async fn me(&self, c: &Context<'_>) -> async_graphql::Result<MyProfileView> {
        let (actor, db) = ctx(c)?;
        gql(customers::get_me(db, actor).await).map(MyProfileView::from)
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    async fn create_customer(&self, c: &Context<'_>, input: NewCustomer) -> async_graphql::Result<CustomerView> {
        let (actor, db) = ctx(c)?;
        gql(customers::create(db, actor, input).await)
    }

    /// Partial update: omitted fields are kept, `null` clears.
    async fn update_customer(
        &self,
        c: &Context<'_>,
        id: ID,
        patch: CustomerPatch,
    ) -> async_graphql::Result<CustomerView> {
        let (actor, db) = ctx(c)?;
        gql(customers::update(db, actor, parse_uuid(&id, "customer")?, patch).await)
    }

    /// Soft delete; returns the id.
    async fn delete_customer(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let (actor, db) = ctx(c)?;
        gql(customers::delete(db, actor, parse_uuid(&id, "customer")?).await)?;
        Ok(id)
    }

    async fn create_contact(
        &self,
        c: &Context<'_>,
        customer_id: ID,
        input: NewContact,
    ) -> async_graphql::Result<ContactView> {
        let (actor, db) = ctx(c)?;
        gql(contacts::create(db, actor, parse_uuid(&customer_id, "customer")?, input).await)
    }

    async fn update_contact(&self, c: &Context<'_>, id: ID, patch: ContactPatch) -> async_graphql::Result<ContactView> {
        let (actor, db) = ctx(c)?;
        gql(contacts::update(db, actor, parse_uuid(&id, "contact")?, patch).await)
    }

    async fn delete_contact(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let (actor, db) = ctx(c)?;
        gql(contacts::delete(db, actor, parse_uuid(&id, "contact")?).await)?;
        Ok(id)
    }

    async fn log_interaction(
        &self,
        c: &Context<'_>,
        customer_id: ID,
        input: NewInteraction,
    ) -> async_graphql::Result<InteractionView> {
        let (actor, db) = ctx(c)?;
        gql(interactions::create(db, actor, parse_uuid(&customer_id, "customer")?, input).await)
    }

    /// Updates the signed-in customer's own profile.
    async fn update_me(&self, c: &Context<'_>, patch: MyProfilePatch) -> async_graphql::Result<MyProfileView> {
        let (actor, db) = ctx(c)?;
        gql(customers::update_me(db, actor, patch.into()).await).map(MyProfileView::from)
    }
}
