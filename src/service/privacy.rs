//! Privacy: everything held about one customer, exported as JSON, and
//! erasure — the customer's personal data anonymised in every table that
//! holds it, in one transaction, with an erasure record kept so a restored
//! backup can be erased again (`rapport erase --replay`).
//!
//! This is the one list of where a customer's personal data lives. An area
//! that adds a table holding it adds the table to [`export`] and
//! [`anonymise`]; the erase test searches every table for what was erased.

use chrono::{DateTime, Utc};
use entity::{
    contact, customer, customer_rfm, customer_tag, customer_tier_change, erasure, event, feedback_event, feedback_item,
    feedback_keyword, idempotency_key, interaction, order, segment, segment_member, task, webhook_attempt,
    webhook_delivery,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

use super::{Store, begin, events, now};
use crate::auth::{Actor, policy};
use crate::contract::customers::{ChurnReason, LifecycleStage, StageChangeView};
use crate::contract::events::EventType;
use crate::contract::privacy::{CustomerExport, ErasureView, MembershipView, TierChangeView};
use crate::error::{AppError, AppResult};

/// What erased text reads as.
pub const ERASED: &str = "[erased]";

async fn find_any(db: &impl ConnectionTrait, id: Uuid) -> AppResult<customer::Model> {
    customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("customer"))
}

/// Everything held about a customer, deleted or erased ones included.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`.
pub async fn export(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<CustomerExport> {
    policy::manage_customers(actor)?;
    let c = find_any(db, id).await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(id))
        .order_by_asc(contact::Column::CreatedAt)
        .all(db)
        .await?;
    let interactions = interaction::Entity::find()
        .filter(interaction::Column::CustomerId.eq(id))
        .order_by_asc(interaction::Column::OccurredAt)
        .all(db)
        .await?;
    let orders = order::Entity::find()
        .filter(order::Column::CustomerId.eq(id))
        .order_by_asc(order::Column::OrderedAt)
        .all(db)
        .await?;
    let feedback = feedback_item::Entity::find()
        .filter(feedback_item::Column::CustomerId.eq(id))
        .order_by_asc(feedback_item::Column::CreatedAt)
        .all(db)
        .await?;
    let history = feedback_event::Entity::find()
        .filter(feedback_event::Column::CustomerId.eq(id))
        .order_by_asc(feedback_event::Column::CreatedAt)
        .all(db)
        .await?;
    let tasks = task::Entity::find()
        .filter(task::Column::CustomerId.eq(id))
        .order_by_asc(task::Column::CreatedAt)
        .all(db)
        .await?;
    let memberships: Vec<(Uuid, DateTime<Utc>)> = segment_member::Entity::find()
        .select_only()
        .columns([segment_member::Column::SegmentId, segment_member::Column::EnteredAt])
        .filter(segment_member::Column::CustomerId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    let segments = segment::Entity::find()
        .filter(segment::Column::Id.is_in(memberships.iter().map(|(s, _)| *s)))
        .all(db)
        .await?;
    let tier_changes = customer_tier_change::Entity::find()
        .filter(customer_tier_change::Column::CustomerId.eq(id))
        .order_by_asc(customer_tier_change::Column::ChangedAt)
        .all(db)
        .await?;
    let logged = event::Entity::find()
        .filter(event::Column::CustomerId.eq(id))
        .order_by_asc(event::Column::Seq)
        .all(db)
        .await?;
    let invitations = entity::survey_invitation::Entity::find()
        .filter(entity::survey_invitation::Column::CustomerId.eq(id))
        .order_by_asc(entity::survey_invitation::Column::CreatedAt)
        .all(db)
        .await?;
    let responses = entity::survey_response::Entity::find()
        .filter(entity::survey_response::Column::CustomerId.eq(id))
        .order_by_asc(entity::survey_response::Column::StartedAt)
        .all(db)
        .await?;
    let rfm = customer_rfm::Entity::find_by_id(id).one(db).await?;
    let erased = erasure::Entity::find_by_id(id).one(db).await?;
    let (loyalty_account, loyalty_entries) = super::loyalty::export(db, actor, id).await?;
    let (health_override, health_history, health_alerts) = super::health::export(db, actor, id).await?;
    let (needs, need_history) = super::needs::export(db, actor, id).await?;
    Ok(CustomerExport {
        customer: super::customers::to_view(c, actor),
        contacts: contacts
            .into_iter()
            .map(|m| super::contacts::to_view(m, actor))
            .collect(),
        interactions: interactions
            .into_iter()
            .map(|m| super::interactions::to_view(m, actor))
            .collect(),
        orders: orders.into_iter().map(super::orders::to_view).collect(),
        feedback: feedback
            .into_iter()
            .map(|m| super::feedback::to_view(m, actor))
            .collect(),
        feedback_history: history
            .into_iter()
            .map(|m| super::feedback::event_view(m, actor))
            .collect(),
        tasks: tasks.into_iter().map(super::tasks::to_view).collect(),
        segments: memberships
            .into_iter()
            .map(|(segment_id, entered_at)| MembershipView {
                segment_id,
                segment_name: segments
                    .iter()
                    .find(|s| s.id == segment_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                entered_at,
            })
            .collect(),
        rfm: rfm.map(super::rfm::to_view),
        tier_changes: tier_changes
            .into_iter()
            .map(|t| TierChangeView {
                from_tier: t.from_tier,
                to_tier: t.to_tier,
                reason: t.reason,
                changed_at: t.changed_at,
            })
            .collect(),
        survey_invitations: invitations
            .into_iter()
            .map(|m| super::surveys::invitation_view(m, now()))
            .collect(),
        survey_responses: responses
            .into_iter()
            .map(|m| super::surveys::response_view(m, actor))
            .collect(),
        loyalty_account,
        loyalty_entries,
        loyalty_tier_changes: super::loyalty::tiers::history_of(db, id).await?,
        health_override,
        health_history,
        health_alerts,
        needs,
        need_history,
        payment_failures: super::payments::export(db, id).await?,
        stage_changes: entity::customer_stage_change::Entity::find()
            .filter(entity::customer_stage_change::Column::CustomerId.eq(id))
            .order_by_asc(entity::customer_stage_change::Column::ChangedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|m| StageChangeView {
                from_stage: LifecycleStage::from_db(&m.from_stage),
                to_stage: LifecycleStage::from_db(&m.to_stage),
                reason: m.reason.as_deref().map(ChurnReason::from_db),
                changed_at: m.changed_at,
            })
            .collect(),
        events: logged.iter().map(events::to_view).collect::<AppResult<_>>()?,
        erased_at: erased.map(|e| e.erased_at),
        exported_at: now(),
    })
}

/// Erases a customer's personal data everywhere, irreversibly; the record
/// stays (deleted), with its orders, aggregates and history.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn erase(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<ErasureView> {
    policy::administer(actor)?;
    find_any(db, id).await?;
    let at = now();
    let txn = begin(db).await?;
    anonymise(&txn, id, at).await?;
    let record = match erasure::Entity::find_by_id(id).one(&txn).await? {
        Some(existing) => existing,
        None => {
            erasure::ActiveModel {
                customer_id: Set(id),
                erased_at: Set(at),
                erased_by: Set(actor.sub.clone()),
            }
            .insert(&txn)
            .await?
        }
    };
    events::emit(&txn, EventType::CustomerErased, id, Some(id), json!({}), at).await?;
    txn.commit().await?;
    tracing::info!(customer_id = %id, "customer erased");
    Ok(ErasureView {
        customer_id: record.customer_id,
        erased_at: record.erased_at,
        erased_by: record.erased_by,
    })
}

/// Erases again every customer the erasure records name (after a backup
/// was restored); returns how many.
///
/// # Errors
/// Database failures.
pub async fn replay(db: &impl Store) -> AppResult<usize> {
    let erased = erasure::Entity::find().all(db).await?;
    for e in &erased {
        let txn = begin(db).await?;
        anonymise(&txn, e.customer_id, now()).await?;
        txn.commit().await?;
    }
    Ok(erased.len())
}

/// Overwrites a customer's personal data in every table that holds it.
async fn anonymise(txn: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    let none = Option::<String>::None;
    // Rows an import refused are kept as sent: those naming the customer go.
    if let Some(c) = customer::Entity::find_by_id(id).one(txn).await? {
        let backend = txn.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "DELETE FROM import_error WHERE CAST(cells AS text) LIKE $1",
            _ => "DELETE FROM import_error WHERE CAST(cells AS TEXT) LIKE ?",
        };
        for needle in [c.external_id, c.email].into_iter().flatten() {
            let pattern = format!("%{needle}%");
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, [pattern.into()]))
                .await?;
        }
    }
    customer::Entity::update_many()
        .col_expr(customer::Column::Name, Expr::value("Erased customer"))
        .col_expr(customer::Column::ExternalId, Expr::value(none.clone()))
        .col_expr(customer::Column::Email, Expr::value(none.clone()))
        .col_expr(customer::Column::Phone, Expr::value(none.clone()))
        .col_expr(customer::Column::Company, Expr::value(none.clone()))
        .col_expr(customer::Column::City, Expr::value(none.clone()))
        .col_expr(customer::Column::TimeZone, Expr::value(none.clone()))
        .col_expr(customer::Column::Notes, Expr::value(none.clone()))
        .col_expr(
            customer::Column::Birthday,
            Expr::value(Option::<chrono::NaiveDate>::None),
        )
        .col_expr(customer::Column::Tags, Expr::value(json!([])))
        .col_expr(customer::Column::CustomAttributes, Expr::value(json!({})))
        .col_expr(customer::Column::MarketingConsent, Expr::value(false))
        .col_expr(
            customer::Column::MarketingConsentAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(customer::Column::UpdatedAt, Expr::value(at))
        .col_expr(
            customer::Column::DeletedAt,
            Expr::col(customer::Column::DeletedAt).if_null(at),
        )
        .filter(customer::Column::Id.eq(id))
        .exec(txn)
        .await?;
    customer_tag::Entity::delete_many()
        .filter(customer_tag::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    contact::Entity::update_many()
        .col_expr(contact::Column::Name, Expr::value(ERASED))
        .col_expr(contact::Column::Title, Expr::value(none.clone()))
        .col_expr(contact::Column::Email, Expr::value(none.clone()))
        .col_expr(contact::Column::Phone, Expr::value(none.clone()))
        .filter(contact::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    // Survey answers: the scores stay (results keep adding up), the words go.
    anonymise_survey_answers(txn, id).await?;
    // The ledger stays whole (points are money owed); staff's notes go, and
    // so do the callers' idempotency keys (free text a client chose), each
    // replaced by one still unique on the account.
    let entry_id = match txn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "CAST(id AS TEXT)",
        _ => "lower(hex(id))",
    };
    entity::loyalty_entry::Entity::update_many()
        .col_expr(entity::loyalty_entry::Column::Note, Expr::value(none.clone()))
        .col_expr(
            entity::loyalty_entry::Column::IdempotencyKey,
            Expr::cust(format!("'erased:' || {entry_id}")),
        )
        .filter(entity::loyalty_entry::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    // The scores stay (numbers); staff's words about the customer go.
    entity::health_override::Entity::delete_many()
        .filter(entity::health_override::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    super::needs::erase(txn, id, ERASED).await?;
    // Failed payments only ever served as a risk signal for this customer.
    entity::payment_failure::Entity::delete_many()
        .filter(entity::payment_failure::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    interaction::Entity::update_many()
        .col_expr(interaction::Column::Summary, Expr::value(ERASED))
        .filter(interaction::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    let items = Query::select()
        .column(feedback_item::Column::Id)
        .from(feedback_item::Entity)
        .and_where(feedback_item::Column::CustomerId.eq(id))
        .to_owned();
    feedback_keyword::Entity::delete_many()
        .filter(feedback_keyword::Column::FeedbackId.in_subquery(items))
        .exec(txn)
        .await?;
    feedback_item::Entity::update_many()
        .col_expr(feedback_item::Column::Subject, Expr::value(ERASED))
        .col_expr(feedback_item::Column::Body, Expr::value(ERASED))
        .col_expr(feedback_item::Column::Keywords, Expr::value(json!([])))
        .col_expr(feedback_item::Column::RootCause, Expr::value(none.clone()))
        .col_expr(feedback_item::Column::ReviewNote, Expr::value(none.clone()))
        .filter(feedback_item::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    feedback_event::Entity::update_many()
        .col_expr(feedback_event::Column::Note, Expr::value(none.clone()))
        .filter(feedback_event::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    task::Entity::update_many()
        .col_expr(task::Column::Title, Expr::value(ERASED))
        .col_expr(task::Column::Outcome, Expr::value(none.clone()))
        .filter(task::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    // Event payloads hold no name, e-mail or text, but may hold the
    // integration's external id; so may the deliveries made of them. What
    // endpoints answered to them may hold anything.
    let (event_data, delivery_body) = match txn.get_database_backend() {
        sea_orm::DbBackend::Postgres => (
            "data - 'external_id'",
            "CAST(CAST(body AS jsonb) #- '{data,external_id}' AS text)",
        ),
        _ => (
            "json_remove(data, '$.external_id')",
            "json_remove(body, '$.data.external_id')",
        ),
    };
    event::Entity::update_many()
        .col_expr(event::Column::Data, Expr::cust(event_data))
        .filter(event::Column::CustomerId.eq(id))
        .exec(txn)
        .await?;
    let its_event_ids = Query::select()
        .column(event::Column::Id)
        .from(event::Entity)
        .and_where(event::Column::CustomerId.eq(id))
        .to_owned();
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Body, Expr::cust(delivery_body))
        .filter(webhook_delivery::Column::EventId.in_subquery(its_event_ids))
        .exec(txn)
        .await?;
    let its_events = Query::select()
        .column(event::Column::Id)
        .from(event::Entity)
        .and_where(event::Column::CustomerId.eq(id))
        .to_owned();
    let its_deliveries = Query::select()
        .column(webhook_delivery::Column::Id)
        .from(webhook_delivery::Entity)
        .and_where(webhook_delivery::Column::EventId.in_subquery(its_events))
        .to_owned();
    webhook_attempt::Entity::update_many()
        .col_expr(webhook_attempt::Column::ResponseBody, Expr::value(none.clone()))
        .filter(webhook_attempt::Column::DeliveryId.in_subquery(its_deliveries))
        .exec(txn)
        .await?;
    // Stored idempotent answers about the customer go whole (their keys are
    // the client's words and may name the person too).
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Body.contains(id.to_string()))
        .exec(txn)
        .await?;
    Ok(())
}

/// A customer's survey responses without their words: comments and text
/// answers become the erased marker, scores and choice ids stay.
async fn anonymise_survey_answers(txn: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    use entity::survey_response;
    let responses = survey_response::Entity::find()
        .filter(survey_response::Column::CustomerId.eq(id))
        .all(txn)
        .await?;
    let texts: std::collections::HashMap<Uuid, Vec<String>> = entity::survey::Entity::find()
        .filter(entity::survey::Column::Id.is_in(responses.iter().map(|r| r.survey_id)))
        .all(txn)
        .await?
        .iter()
        .map(|s| (s.id, super::surveys::text_questions(s)))
        .collect();
    for r in responses {
        let mut answers = r.answers.clone();
        if let Some(map) = answers.as_object_mut() {
            for qid in texts.get(&r.survey_id).into_iter().flatten() {
                if let Some(v) = map.get_mut(qid) {
                    *v = json!(ERASED);
                }
            }
        }
        survey_response::Entity::update_many()
            .col_expr(survey_response::Column::Answers, Expr::value(answers))
            .col_expr(
                survey_response::Column::Comment,
                Expr::value(r.comment.as_ref().map(|_| ERASED.to_owned())),
            )
            .filter(survey_response::Column::Id.eq(r.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}
