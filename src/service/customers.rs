//! Customer records: create, read, update, soft delete, list.

use crate::contract::Patch;
use crate::service::Store;
use async_graphql::Json;
use chrono::{DateTime, Utc};
use entity::{customer, customer_stage_change, customer_tag, customer_tier_change};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::{begin, events, mask, new_id, now, patch_field};
use crate::auth::{Actor, Role, policy};
use crate::contract::customers::{
    ChurnReason, CustomerKind, CustomerPatch, CustomerView, LifecycleStage, NewCustomer, ValueTier,
};
use crate::contract::events::EventType;
use crate::contract::interactions::Channel;
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult, CUSTOMER_EXTERNAL_ID};
use serde_json::json;

/// Shapes a stored customer for a caller, masking personal data where the role requires it.
pub fn to_view(m: customer::Model, actor: &Actor) -> CustomerView {
    let masked = actor.masks_personal_data();
    CustomerView {
        id: m.id,
        external_id: m.external_id,
        kind: CustomerKind::from_db(&m.kind),
        name: if masked { mask::name(&m.name) } else { m.name },
        email: m.email.map(|e| if masked { mask::email(&e) } else { e }),
        phone: m.phone.map(|p| if masked { mask::phone(&p) } else { p }),
        company: m.company,
        industry: m.industry,
        size_band: m.size_band,
        country: m.country,
        city: m.city,
        source: m.source,
        owner_id: m.owner_id,
        value_tier: ValueTier::from_db(&m.value_tier),
        tier_locked: m.tier_locked,
        lifecycle_stage: LifecycleStage::from_db(&m.lifecycle_stage),
        churn_reason: m.churn_reason.as_deref().map(ChurnReason::from_db),
        churned_at: m.churned_at,
        tags: serde_json::from_value(m.tags).unwrap_or_default(),
        preferred_channel: m.preferred_channel.as_deref().map(Channel::from_db),
        preferred_language: m.preferred_language,
        birthday: if masked { None } else { m.birthday },
        relationship_start: m.relationship_start,
        time_zone: m.time_zone,
        cadence_days: m.cadence_days,
        marketing_consent: m.marketing_consent,
        marketing_consent_at: m.marketing_consent_at,
        custom_attributes: Json(m.custom_attributes),
        notes: m.notes.map(|n| mask::text_for(actor, n)),
        last_contacted_at: m.last_contacted_at,
        nps_score: m.nps_score,
        nps_category: m.nps_category,
        latest_csat: m.latest_csat,
        referral_candidate_at: m.referral_candidate_at,
        health_score: m.health_score,
        health_level: m
            .health_level
            .as_deref()
            .map(crate::contract::health::HealthLevel::from_db),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Parses the fields that `NewCustomer` and `CustomerPatch` share, writing the
/// valid ones into the active model. `Undefined` leaves a field alone.
fn apply_patch(c: &mut Checker, am: &mut customer::ActiveModel, p: CustomerPatch, at: DateTime<Utc>) {
    let today = at.date_naive();
    if let Some(v) = patch_field(c, "external_id", p.external_id, parse::external_id) {
        am.external_id = Set(v);
    }
    match p.kind {
        Patch::Set(k) => am.kind = Set(k.as_str().into()),
        Patch::Clear => c.fail("kind", "must not be null"),
        Patch::Keep => {}
    }
    match p.name {
        Patch::Set(n) => {
            if let Some(n) = c.check("name", parse::name(n)) {
                am.name = Set(n);
            }
        }
        Patch::Clear => c.fail("name", "must not be null"),
        Patch::Keep => {}
    }
    if let Some(v) = patch_field(c, "email", p.email, parse::email) {
        am.email = Set(v);
    }
    if let Some(v) = patch_field(c, "phone", p.phone, parse::phone) {
        am.phone = Set(v);
    }
    for (path, value, slot) in [
        ("company", p.company, &mut am.company),
        ("industry", p.industry, &mut am.industry),
        ("size_band", p.size_band, &mut am.size_band),
        ("city", p.city, &mut am.city),
        ("source", p.source, &mut am.source),
    ] {
        if let Some(v) = patch_field(c, path, value, parse::name) {
            *slot = Set(v);
        }
    }
    if let Some(v) = patch_field(c, "country", p.country, parse::country) {
        am.country = Set(v);
    }
    if let Some(v) = patch_field(c, "owner_id", p.owner_id, parse::staff_id) {
        am.owner_id = Set(v);
    }
    match p.value_tier {
        Patch::Set(t) => am.value_tier = Set(t.as_str().into()),
        Patch::Clear => c.fail("value_tier", "must not be null"),
        Patch::Keep => {}
    }
    match p.tier_locked {
        Patch::Set(b) => am.tier_locked = Set(b),
        Patch::Clear => c.fail("tier_locked", "must not be null"),
        Patch::Keep => {}
    }
    let was_churned = am.lifecycle_stage.try_as_ref().map(String::as_str) == Some(LifecycleStage::Churned.as_str());
    match p.lifecycle_stage {
        Patch::Set(s) => am.lifecycle_stage = Set(s.as_str().into()),
        Patch::Clear => c.fail("lifecycle_stage", "must not be null"),
        Patch::Keep => {}
    }
    let churned = am.lifecycle_stage.try_as_ref().map(String::as_str) == Some(LifecycleStage::Churned.as_str());
    match p.churn_reason {
        Patch::Set(r) if churned => am.churn_reason = Set(Some(r.as_str().into())),
        Patch::Set(_) => c.fail("churn_reason", "only for a churned customer (lifecycle_stage churned)"),
        Patch::Clear if churned => c.fail("churn_reason", "must not be null while churned"),
        Patch::Clear => am.churn_reason = Set(None),
        Patch::Keep if churned && !was_churned => am.churn_reason = Set(Some(ChurnReason::Other.as_str().into())),
        Patch::Keep => {}
    }
    if churned && !was_churned {
        am.churned_at = Set(Some(at));
    }
    match p.tags {
        Patch::Set(tags) => match parse::tags(tags) {
            Ok(tags) => am.tags = Set(serde_json::json!(tags)),
            Err((Some(i), msg)) => c.fail(&format!("tags[{i}]"), msg),
            Err((None, msg)) => c.fail("tags", msg),
        },
        Patch::Clear => am.tags = Set(serde_json::json!([])),
        Patch::Keep => {}
    }
    match p.preferred_channel {
        Patch::Set(ch) => am.preferred_channel = Set(Some(ch.as_str().into())),
        Patch::Clear => am.preferred_channel = Set(None),
        Patch::Keep => {}
    }
    if let Some(v) = patch_field(c, "preferred_language", p.preferred_language, parse::language) {
        am.preferred_language = Set(v);
    }
    if let Some(v) = patch_field(c, "birthday", p.birthday, |d| parse::birthday(d, today)) {
        am.birthday = Set(v);
    }
    if let Some(v) = patch_field(c, "relationship_start", p.relationship_start, parse::past_date) {
        am.relationship_start = Set(v);
    }
    if let Some(v) = patch_field(c, "time_zone", p.time_zone, |z| {
        parse::time_zone(&z).map(|z| z.name().to_owned())
    }) {
        am.time_zone = Set(v);
    }
    if let Some(v) = patch_field(c, "cadence_days", p.cadence_days, parse::cadence_days) {
        am.cadence_days = Set(v);
    }
    match p.marketing_consent {
        Patch::Set(given) => {
            let was = matches!(&am.marketing_consent, sea_orm::ActiveValue::Unchanged(true) | Set(true));
            am.marketing_consent = Set(given);
            if given && !was {
                am.marketing_consent_at = Set(Some(at));
            } else if !given {
                am.marketing_consent_at = Set(None);
            }
        }
        Patch::Clear => c.fail("marketing_consent", "must not be null"),
        Patch::Keep => {}
    }
    match p.custom_attributes {
        Patch::Set(Json(v)) => {
            if let Some(v) = c.check("custom_attributes", parse::custom_attributes(v)) {
                am.custom_attributes = Set(v);
            }
        }
        Patch::Clear => am.custom_attributes = Set(serde_json::json!({})),
        Patch::Keep => {}
    }
    if let Some(v) = patch_field(c, "notes", p.notes, |n| parse::text(n, parse::MAX_TEXT)) {
        am.notes = Set(v);
    }
}

fn defined<T>(v: Option<T>) -> Patch<T> {
    v.map_or(Patch::Keep, Patch::Set)
}

impl From<NewCustomer> for CustomerPatch {
    fn from(n: NewCustomer) -> Self {
        Self {
            external_id: defined(n.external_id),
            kind: defined(n.kind),
            name: Patch::Set(n.name),
            email: defined(n.email),
            phone: defined(n.phone),
            company: defined(n.company),
            industry: defined(n.industry),
            size_band: defined(n.size_band),
            country: defined(n.country),
            city: defined(n.city),
            source: defined(n.source),
            owner_id: defined(n.owner_id),
            value_tier: defined(n.value_tier),
            tier_locked: defined(n.tier_locked),
            lifecycle_stage: defined(n.lifecycle_stage),
            churn_reason: defined(n.churn_reason),
            tags: defined(n.tags),
            preferred_channel: defined(n.preferred_channel),
            preferred_language: defined(n.preferred_language),
            birthday: defined(n.birthday),
            relationship_start: defined(n.relationship_start),
            time_zone: defined(n.time_zone),
            cadence_days: defined(n.cadence_days),
            marketing_consent: defined(n.marketing_consent),
            custom_attributes: defined(n.custom_attributes),
            notes: defined(n.notes),
        }
    }
}

/// Replaces the tag index rows of one customer.
async fn sync_tags(conn: &impl ConnectionTrait, id: Uuid, tags: &serde_json::Value) -> AppResult<()> {
    customer_tag::Entity::delete_many()
        .filter(customer_tag::Column::CustomerId.eq(id))
        .exec(conn)
        .await?;
    let rows: Vec<customer_tag::ActiveModel> = tags
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .map(|tag| customer_tag::ActiveModel {
            customer_id: Set(id),
            tag: Set(tag.to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        customer_tag::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

/// Creates a customer. Agents become the owner and may not name another one.
///
/// # Errors
/// `Forbidden` for roles that may not create; `Validation` naming each bad
/// field; `Conflict` on a taken `external_id`.
#[tracing::instrument(skip_all, fields(actor = %actor.sub))]
pub async fn create(db: &impl Store, actor: &Actor, mut input: NewCustomer) -> AppResult<CustomerView> {
    policy::create_customer(actor)?;
    let at = now();
    let referral_code = input.referral_code.take();
    let referral_email = input.email.clone();
    let mut patch = CustomerPatch::from(input);
    if actor.role == Role::Agent {
        match &patch.owner_id {
            Patch::Set(owner) if owner != &actor.sub => return Err(AppError::Forbidden),
            _ => patch.owner_id = Patch::Set(actor.sub.clone()),
        }
    }
    let mut am = customer::ActiveModel {
        id: Set(new_id()),
        external_id: Set(None),
        kind: Set(CustomerKind::Person.as_str().into()),
        name: Set(String::new()),
        email: Set(None),
        phone: Set(None),
        company: Set(None),
        industry: Set(None),
        size_band: Set(None),
        country: Set(None),
        city: Set(None),
        source: Set(None),
        owner_id: Set(None),
        value_tier: Set(ValueTier::General.as_str().into()),
        tier_locked: Set(false),
        lifecycle_stage: Set(LifecycleStage::Prospect.as_str().into()),
        tags: Set(serde_json::json!([])),
        preferred_channel: Set(None),
        preferred_language: Set(None),
        birthday: Set(None),
        relationship_start: Set(None),
        time_zone: Set(None),
        cadence_days: Set(None),
        marketing_consent: Set(false),
        marketing_consent_at: Set(None),
        custom_attributes: Set(serde_json::json!({})),
        notes: Set(None),
        last_contacted_at: Set(None),
        order_count: Set(0),
        total_spend: Set(0),
        last_order_at: Set(None),
        nps_score: Set(None),
        nps_category: Set(None),
        nps_at: Set(None),
        latest_csat: Set(None),
        csat_at: Set(None),
        referral_candidate_at: Set(None),
        health_score: Set(None),
        health_level: Set(None),
        churn_reason: Set(None),
        churned_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    };
    let mut c = Checker::default();
    apply_patch(&mut c, &mut am, patch, at);
    let referrer = match referral_code {
        Some(code) => super::loyalty::referrals::referrer(db, &mut c, code, referral_email.as_deref()).await?,
        None => None,
    };
    c.finish()?;
    let txn = begin(db).await?;
    let model = am.insert(&txn).await.map_err(CUSTOMER_EXTERNAL_ID.map())?;
    sync_tags(&txn, model.id, &model.tags).await?;
    if let Some(referrer) = referrer {
        super::loyalty::referrals::link(&txn, model.id, referrer, at).await?;
    }
    let data = json!({"external_id": model.external_id, "value_tier": model.value_tier,
        "lifecycle_stage": model.lifecycle_stage, "owner_id": model.owner_id});
    events::emit(&txn, EventType::CustomerCreated, model.id, Some(model.id), data, at).await?;
    txn.commit().await?;
    tracing::info!(customer_id = %model.id, "customer created");
    Ok(to_view(model, actor))
}

/// Loads a customer that has not been deleted.
///
/// # Errors
/// `NotFound` when there is none.
pub async fn find_live(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<customer::Model> {
    customer::Entity::find_by_id(id)
        .filter(customer::Column::DeletedAt.is_null())
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("customer"))
}

/// Reads one customer.
///
/// # Errors
/// `Forbidden` for roles without read access; `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<CustomerView> {
    policy::read_customers(actor)?;
    Ok(to_view(find_live(db, id).await?, actor))
}

/// Reads one customer with `parts` beside it, in one statement.
///
/// # Errors
/// `Forbidden` for roles without read access; `NotFound`.
pub async fn get_with(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    parts: &[super::parts::Part],
) -> AppResult<(CustomerView, super::parts::Parts)> {
    policy::read_customers(actor)?;
    let (model, read) = super::parts::customer_with(db, id, parts).await?;
    Ok((to_view(model, actor), read))
}

/// Reads one customer by the integration's `external_id`.
///
/// # Errors
/// `Forbidden` for roles without read access; `NotFound`.
pub async fn get_by_external_id(db: &impl Store, actor: &Actor, external_id: &str) -> AppResult<CustomerView> {
    policy::read_customers(actor)?;
    let model = customer::Entity::find()
        .filter(customer::Column::ExternalId.eq(external_id))
        .filter(customer::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("customer"))?;
    Ok(to_view(model, actor))
}

/// Applies a partial update. Changing the owner needs a manager or admin.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field, `Conflict` on a taken `external_id`.
#[tracing::instrument(skip_all, fields(customer_id = %id, actor = %actor.sub))]
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: CustomerPatch) -> AppResult<CustomerView> {
    let current = find_live(db, id).await?;
    policy::write_customer(actor, current.owner_id.as_deref())?;
    if !patch.owner_id.is_keep() && patch.owner_id.as_opt_ref() != Some(current.owner_id.as_ref()) {
        policy::manage_customers(actor)?;
    }
    save_patch(db, actor, current, patch).await
}

async fn save_patch(
    db: &impl Store,
    actor: &Actor,
    current: customer::Model,
    patch: CustomerPatch,
) -> AppResult<CustomerView> {
    let at = now();
    let tags_changed = !patch.tags.is_keep();
    let before = current.clone();
    let mut am = current.into_active_model();
    let mut c = Checker::default();
    apply_patch(&mut c, &mut am, patch, at);
    c.finish()?;
    am.updated_at = Set(at);
    let txn = begin(db).await?;
    let model = am.update(&txn).await.map_err(CUSTOMER_EXTERNAL_ID.map())?;
    if tags_changed {
        sync_tags(&txn, model.id, &model.tags).await?;
    }
    if model.value_tier != before.value_tier {
        customer_tier_change::ActiveModel {
            customer_id: Set(model.id),
            from_tier: Set(before.value_tier.clone()),
            to_tier: Set(model.value_tier.clone()),
            reason: Set("manual".into()),
            changed_at: Set(at),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let data = json!({"from": before.value_tier, "to": model.value_tier, "reason": "manual"});
        events::emit(&txn, EventType::CustomerTierChanged, model.id, Some(model.id), data, at).await?;
    }
    if model.lifecycle_stage != before.lifecycle_stage {
        // Into churned: this churn's reason; out of it: the reason it ends.
        let reason = model.churn_reason.clone().or(before.churn_reason.clone());
        record_stages(
            &txn,
            vec![(
                model.id,
                before.lifecycle_stage.clone(),
                model.lifecycle_stage.clone(),
                reason,
            )],
            at,
        )
        .await?;
    }
    let changed = events::changed_fields(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(&model).unwrap_or_default(),
        &["updated_at"],
    );
    if !changed.is_empty() {
        events::emit(
            &txn,
            EventType::CustomerUpdated,
            model.id,
            Some(model.id),
            json!({"changed": changed}),
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(to_view(model, actor))
}

/// Soft-deletes a customer: it disappears from reads, its history stays.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`.
#[tracing::instrument(skip_all, fields(customer_id = %id, actor = %actor.sub))]
pub async fn delete(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    policy::manage_customers(actor)?;
    let current = find_live(db, id).await?;
    let mut am = current.into_active_model();
    let at = now();
    am.deleted_at = Set(Some(at));
    am.updated_at = Set(at);
    let txn = begin(db).await?;
    am.update(&txn).await?;
    events::emit(&txn, EventType::CustomerDeleted, id, Some(id), json!({}), at).await?;
    txn.commit().await?;
    Ok(())
}

/// The signed-in customer's own record.
///
/// # Errors
/// `Forbidden` for non-customer tokens; `NotFound` if the record is gone.
pub async fn get_me(db: &impl Store, actor: &Actor) -> AppResult<CustomerView> {
    let id = policy::own_customer(actor)?;
    Ok(to_view(find_live(db, id).await?, actor))
}

/// Updates the fields a customer may change about itself.
///
/// # Errors
/// `Forbidden` for non-customer tokens; `Validation` naming each bad field.
pub async fn update_me(db: &impl Store, actor: &Actor, patch: CustomerPatch) -> AppResult<CustomerView> {
    let id = policy::own_customer(actor)?;
    let current = find_live(db, id).await?;
    save_patch(db, actor, current, patch).await
}

/// Records moves of lifecycle stages: customer, from, to, churn reason.
async fn record_stages(
    conn: &impl ConnectionTrait,
    moves: Vec<(Uuid, String, String, Option<String>)>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    customer_stage_change::Entity::insert_many(moves.into_iter().map(|(id, from, to, reason)| {
        customer_stage_change::ActiveModel {
            id: Set(new_id()),
            customer_id: Set(id),
            from_stage: Set(from),
            to_stage: Set(to),
            reason: Set(reason),
            changed_at: Set(at),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Moves customers from one lifecycle stage to another (only those still in
/// `from`), each with its `customer.updated` event and its stage history.
pub(crate) async fn move_stage(
    conn: &impl ConnectionTrait,
    ids: Vec<Uuid>,
    from: LifecycleStage,
    to: LifecycleStage,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<(Uuid, Option<String>)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ChurnReason)
        .filter(customer::Column::Id.is_in(ids))
        .filter(customer::Column::LifecycleStage.eq(from.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    if found.is_empty() {
        return Ok(());
    }
    let moving: Vec<Uuid> = found.iter().map(|f| f.0).collect();
    record_stages(
        conn,
        found
            .into_iter()
            .map(|(id, reason)| (id, from.as_str().to_owned(), to.as_str().to_owned(), reason))
            .collect(),
        at,
    )
    .await?;
    customer::Entity::update_many()
        .col_expr(customer::Column::LifecycleStage, Expr::value(to.as_str()))
        .col_expr(customer::Column::UpdatedAt, Expr::value(at))
        .filter(customer::Column::Id.is_in(moving.clone()))
        .filter(customer::Column::LifecycleStage.eq(from.as_str()))
        .exec(conn)
        .await?;
    events::emit_many(
        conn,
        moving.into_iter().map(|id| {
            (
                EventType::CustomerUpdated,
                id,
                Some(id),
                json!({"changed": ["lifecycle_stage"]}),
                at,
            )
        }),
    )
    .await
}
