//! Webhooks: subscriptions (admin), deliveries fanned out from the event
//! log, signed and sent by a worker on every instance, with a delivery log,
//! tests, redelivery and replays.

pub mod delivery;
pub mod guard;
mod replay;
pub mod signing;

use crate::service::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{webhook, webhook_attempt, webhook_delivery};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

pub use replay::{get_replay, replay, work_replays};

use super::paging::{before_cursor, page};
use super::{new_id, now};
use crate::auth::{Actor, policy};
use crate::config::WebhookSettings;
use crate::contract::events::EventType;
use crate::contract::webhooks::{
    AttemptView, DeliveryFilter, DeliveryStatus, DeliveryView, NewWebhook, WebhookPatch, WebhookView,
};
use crate::contract::{Page, Patch};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

/// The longest URL a subscription takes.
const MAX_URL: usize = 2048;

/// The sending side, one per process: the HTTP client (our resolver, no
/// redirects, no proxy), the settings, and what is in flight.
pub struct Sender {
    client: reqwest::Client,
    allow: Arc<guard::AllowList>,
    settings: WebhookSettings,
    schedule: Vec<u64>,
    slots: Arc<tokio::sync::Semaphore>,
    in_flight: Mutex<HashMap<Uuid, usize>>,
}

impl Sender {
    /// Builds the client from the settings.
    ///
    /// # Errors
    /// An invalid allow-list or schedule; a TLS set-up failure.
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        let allow = Arc::new(guard::AllowList::parse(&settings.allow_private_networks).map_err(anyhow::Error::msg)?);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard::GuardedResolver(allow.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .connect_timeout(Duration::from_secs(settings.timeout_secs.min(5)))
            .user_agent(concat!("Rapport-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            allow,
            schedule: settings.retry_schedule()?,
            slots: Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight)),
            in_flight: Mutex::new(HashMap::new()),
            settings: settings.clone(),
        })
    }

    /// Waits until the sends under way have finished, or `within` has passed
    /// (a send cut short keeps its claim until the claim lapses, then another
    /// run sends it again). Whether all finished.
    pub async fn finish_sends(&self, within: Duration) -> bool {
        let all = u32::try_from(self.settings.max_in_flight).unwrap_or(u32::MAX);
        tokio::time::timeout(within, self.slots.acquire_many(all)).await.is_ok()
    }

    /// Attempts a delivery gets in all.
    pub fn max_attempts(&self) -> i32 {
        i32::try_from(self.schedule.len() + 1).unwrap_or(i32::MAX)
    }
}

fn to_view(m: webhook::Model, secret: bool) -> WebhookView {
    WebhookView {
        id: m.id,
        url: m.url,
        description: m.description,
        event_types: types_of(&m.event_types),
        active: m.active,
        disabled_reason: m.disabled_reason,
        failing_since: m.failing_since,
        previous_secret_until: m.previous_secret_until.filter(|until| *until > now()),
        secret: secret.then_some(m.secret),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn types_of(stored: &serde_json::Value) -> Vec<EventType> {
    stored
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().and_then(EventType::parse))
        .collect()
}

/// Whether a subscription takes events of `kind`.
pub(crate) fn wants(m: &webhook::Model, kind: &str) -> bool {
    let types = types_of(&m.event_types);
    types.is_empty() || types.iter().any(|t| t.as_str() == kind)
}

fn delivery_view(m: webhook_delivery::Model) -> DeliveryView {
    let status = DeliveryStatus::from_db(&m.status);
    DeliveryView {
        id: m.id,
        webhook_id: m.webhook_id,
        event_id: m.event_id,
        event_type: m.event_type,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(m.next_attempt_at),
        status,
        attempts: m.attempts,
        last_attempt_at: m.last_attempt_at,
        last_status_code: m.last_status_code,
        created_at: m.created_at,
        completed_at: m.completed_at,
    }
}

fn attempt_view(m: webhook_attempt::Model) -> AttemptView {
    AttemptView {
        id: m.id,
        delivery_id: m.delivery_id,
        attempt: m.attempt,
        at: m.at,
        status_code: m.status_code,
        latency_ms: m.latency_ms,
        response_body: m.response_body,
        error: m.error,
    }
}

/// A subscription's URL as the document states it: http(s), a public host
/// name (labels of letters and digits joined by single hyphens, a
/// letters-only top-level domain), no port, user info or query.
pub const URL_PATTERN: &str = r"^https?://([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,24}(/[A-Za-z0-9._~-]+)*/?$";

static URL_SHAPE: std::sync::LazyLock<regex_lite::Regex> = std::sync::LazyLock::new(|| {
    regex_lite::Regex::new(URL_PATTERN).unwrap_or_else(|_| unreachable!("constant pattern"))
});

fn check_url(c: &mut Checker, sender: &Sender, raw: String) -> Option<String> {
    if raw.len() > MAX_URL {
        c.fail("url", format!("must be at most {MAX_URL} characters"));
        return None;
    }
    let parsed = match reqwest::Url::parse(&raw) {
        Ok(u) => u,
        Err(_) => {
            c.fail("url", "is not an absolute URL");
            return None;
        }
    };
    if let Err(why) = guard::check_url(&parsed, &sender.allow) {
        c.fail("url", why);
        return None;
    }
    // An address the allow-list names may be written as such (with a port);
    // everything else has the documented shape.
    let allowed_literal = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => sender.allow.names(ip.into()),
        Some(url::Host::Ipv6(ip)) => sender.allow.names(ip.into()),
        _ => false,
    };
    if !allowed_literal && !URL_SHAPE.is_match(&raw) {
        c.fail(
            "url",
            "must be http(s)://a.public.host/path: lowercase host name, no port, user or query",
        );
        return None;
    }
    if parsed.host_str().is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
        && !sender.allow.permits([127, 0, 0, 1].into())
    {
        c.fail("url", "localhost is not a public address");
        return None;
    }
    Some(raw)
}

fn types_json(types: Option<Vec<EventType>>) -> serde_json::Value {
    let mut names: Vec<&str> = types.unwrap_or_default().into_iter().map(EventType::as_str).collect();
    names.sort_unstable();
    names.dedup();
    json!(names)
}

async fn find(db: &impl Store, id: Uuid) -> AppResult<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// Creates a subscription; the answer carries its secret.
///
/// # Errors
/// `Forbidden` unless admin; `Validation` naming each bad field.
pub async fn create(db: &impl Store, sender: &Sender, actor: &Actor, input: NewWebhook) -> AppResult<WebhookView> {
    policy::administer(actor)?;
    let mut c = Checker::default();
    let url = check_url(&mut c, sender, input.url);
    let description = c.opt("description", input.description, |d| {
        parse::text(d, parse::MAX_DESCRIPTION)
    });
    c.finish()?;
    let at = now();
    let m = webhook::ActiveModel {
        id: Set(new_id()),
        url: Set(url.unwrap_or_default()),
        description: Set(description),
        event_types: Set(types_json(input.event_types)),
        active: Set(input.active.unwrap_or(true)),
        secret: Set(signing::new_secret()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        failing_since: Set(None),
        disabled_reason: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(to_view(m, true))
}

/// Lists subscriptions, newest first.
///
/// # Errors
/// `Forbidden` unless admin; `Validation` on paging.
pub async fn list(db: &impl Store, actor: &Actor, request: &PageRequest) -> AppResult<Page<WebhookView>> {
    policy::administer(actor)?;
    let mut q = webhook::Entity::find();
    if let Some(after) = &request.after {
        q = q.filter(before_cursor(webhook::Column::CreatedAt, webhook::Column::Id, after)?);
    }
    let rows = q
        .order_by_desc(webhook::Column::CreatedAt)
        .order_by_desc(webhook::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?;
    Ok(page(rows, request.limit, |m| Cursor {
        key: m.created_at.to_rfc3339(),
        id: m.id,
    })
    .map(|m| to_view(m, false)))
}

/// Reads a subscription (without its secret).
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<WebhookView> {
    policy::administer(actor)?;
    Ok(to_view(find(db, id).await?, false))
}

/// Changes a subscription; turning it on again clears what turned it off.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Validation` naming each bad field.
pub async fn update(
    db: &impl Store,
    sender: &Sender,
    actor: &Actor,
    id: Uuid,
    patch: WebhookPatch,
) -> AppResult<WebhookView> {
    policy::administer(actor)?;
    let current = find(db, id).await?;
    let mut c = Checker::default();
    let mut am = current.clone().into_active_model();
    if let Some(url) = patch.url
        && let Some(url) = check_url(&mut c, sender, url)
    {
        am.url = Set(url);
    }
    if let Some(types) = patch.event_types {
        am.event_types = Set(types_json(Some(types)));
    }
    match patch.description {
        Patch::Keep => {}
        Patch::Clear => am.description = Set(None),
        Patch::Set(d) => {
            if let Some(d) = c.check("description", parse::text(d, parse::MAX_DESCRIPTION)) {
                am.description = Set(Some(d));
            }
        }
    }
    if let Some(active) = patch.active {
        am.active = Set(active);
        if active && !current.active {
            am.failing_since = Set(None);
            am.disabled_reason = Set(None);
        }
    }
    c.finish()?;
    am.updated_at = Set(now());
    Ok(to_view(am.update(db).await?, false))
}

/// Deletes a subscription with its deliveries and log.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn delete(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    policy::administer(actor)?;
    let txn = super::begin(db).await?;
    webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    entity::webhook_replay::Entity::delete_many()
        .filter(entity::webhook_replay::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    let gone = webhook::Entity::delete_by_id(id).exec(&txn).await?.rows_affected;
    if gone == 0 {
        return Err(AppError::NotFound("webhook"));
    }
    txn.commit().await?;
    Ok(())
}

/// Gives a subscription a new secret; the old one keeps signing beside it for
/// the configured overlap. The answer carries the new secret.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`.
pub async fn rotate_secret(db: &impl Store, sender: &Sender, actor: &Actor, id: Uuid) -> AppResult<WebhookView> {
    policy::administer(actor)?;
    let current = find(db, id).await?;
    let at = now();
    let overlap = chrono::Duration::seconds(i64::try_from(sender.settings.secret_overlap_secs).unwrap_or(i64::MAX / 2));
    let mut am = current.clone().into_active_model();
    am.previous_secret = Set(Some(current.secret));
    am.previous_secret_until = Set(Some(at + overlap));
    am.secret = Set(signing::new_secret());
    am.updated_at = Set(at);
    Ok(to_view(am.update(db).await?, true))
}

/// The secrets that sign a message now: the current one, and the one before
/// a rotation while its overlap lasts.
pub(crate) fn signing_secrets(m: &webhook::Model, at: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![m.secret.as_str()];
    if let (Some(old), Some(until)) = (&m.previous_secret, m.previous_secret_until)
        && until > at
    {
        secrets.push(old.as_str());
    }
    secrets
}

/// A subscription's deliveries, newest first.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Validation` on paging.
pub async fn deliveries(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    filter: &DeliveryFilter,
    request: &PageRequest,
) -> AppResult<Page<DeliveryView>> {
    policy::administer(actor)?;
    find(db, id).await?;
    use webhook_delivery::Column as C;
    let mut cond = Condition::all().add(C::WebhookId.eq(id));
    if let Some(status) = filter.status {
        cond = cond.add(C::Status.eq(status.as_str()));
    }
    if let Some(after) = &request.after {
        cond = cond.add(before_cursor(C::CreatedAt, C::Id, after)?);
    }
    let rows = webhook_delivery::Entity::find()
        .filter(cond)
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?;
    Ok(page(rows, request.limit, |m| Cursor {
        key: m.created_at.to_rfc3339(),
        id: m.id,
    })
    .map(delivery_view))
}

/// A subscription's delivery log, newest attempt first.
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Validation` on paging.
pub async fn attempts(db: &impl Store, actor: &Actor, id: Uuid, request: &PageRequest) -> AppResult<Page<AttemptView>> {
    policy::administer(actor)?;
    find(db, id).await?;
    use webhook_attempt::Column as C;
    let mut q = webhook_attempt::Entity::find().filter(C::WebhookId.eq(id));
    if let Some(after) = &request.after {
        let before: i64 = after
            .key
            .parse()
            .map_err(|_| AppError::field("cursor", "is not a valid cursor"))?;
        q = q.filter(C::Id.lt(before));
    }
    let rows = q.order_by_desc(C::Id).limit(request.limit + 1).all(db).await?;
    Ok(page(rows, request.limit, |m| Cursor {
        key: m.id.to_string(),
        id: m.delivery_id,
    })
    .map(attempt_view))
}

async fn find_delivery(db: &impl Store, webhook_id: Uuid, id: Uuid) -> AppResult<webhook_delivery::Model> {
    webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("delivery"))
}

/// Sends one delivery again, now, outside its schedule (one attempt; a
/// failure leaves it failed again once its attempts are spent).
///
/// # Errors
/// `Forbidden` unless admin; `NotFound`; `Conflict` while it is pending.
pub async fn redeliver(db: &impl Store, actor: &Actor, webhook_id: Uuid, id: Uuid) -> AppResult<DeliveryView> {
    policy::administer(actor)?;
    find(db, webhook_id).await?;
    let d = find_delivery(db, webhook_id, id).await?;
    if d.status == DeliveryStatus::Pending.as_str() {
        return Err(AppError::Conflict {
            detail: "the delivery is still pending".into(),
            field: None,
        });
    }
    let mut am = d.into_active_model();
    am.status = Set(DeliveryStatus::Pending.as_str().into());
    am.next_attempt_at = Set(now());
    am.claim = Set(None);
    am.completed_at = Set(None);
    Ok(delivery_view(am.update(db).await?))
}
