//! Invitations: who is asked, with a single-use token of which only the hash
//! is kept, and the fatigue rules that keep customers from being asked too
//! often. Sends (reminders included) start the fatigue clock, not answers.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use entity::{customer, segment, survey, survey_invitation};
use rand::RngCore as _;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{fatigue_windows, find, settings};
use crate::auth::{Actor, Role, policy};
use crate::contract::Page;
use crate::contract::events::EventType;
use crate::contract::surveys::{
    InvitationFilter, InvitationReport, InvitationSource, InvitationStatus, InvitationView, IssuedToken,
    NewInvitations, ReminderReport, SkipReason, Skipped, SurveyChannel, SurveyStatus,
};
use crate::domain::Checker;
use crate::domain::pagination::{Cursor, PageRequest};
use crate::error::{AppError, AppResult};
use crate::service::paging::before_cursor;
use crate::service::{Store, begin, events, new_id, now};

/// The most customers one request may name (a segment has no limit).
const MAX_LISTED: usize = 1_000;
/// Invitations written per statement.
const CHUNK: usize = 500;

/// A new random token: 32 bytes, URL-safe base64.
fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256, hex.
pub(crate) fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// The status an invitation shows: unfinished ones past expiry are expired.
pub(crate) fn status_of(m: &survey_invitation::Model, at: DateTime<Utc>) -> InvitationStatus {
    match m.status.as_str() {
        "completed" => InvitationStatus::Completed,
        _ if m.expires_at <= at => InvitationStatus::Expired,
        other => InvitationStatus::from_db(other),
    }
}

/// Shapes a stored invitation.
pub fn to_view(m: survey_invitation::Model, at: DateTime<Utc>) -> InvitationView {
    InvitationView {
        status: status_of(&m, at),
        id: m.id,
        survey_id: m.survey_id,
        customer_id: m.customer_id,
        channel: SurveyChannel::from_db(&m.channel),
        source: InvitationSource::from_db(&m.source),
        feedback_id: m.feedback_id,
        exempt: m.exempt,
        expires_at: m.expires_at,
        sent_at: m.sent_at,
        last_sent_at: m.last_sent_at,
        reminders: m.reminders,
        created_at: m.created_at,
    }
}

/// One invitation to write.
pub(crate) struct Draft {
    pub customer_id: Uuid,
    pub channel: SurveyChannel,
    pub source: InvitationSource,
    pub source_key: Option<String>,
    pub feedback_id: Option<Uuid>,
    pub exempt: bool,
}

struct Issued {
    source: InvitationSource,
    token: IssuedToken,
}

/// Writes invitations and their `survey.invitation_sent` events in the
/// caller's transaction, skipping any whose `source_key` the survey already
/// has (a trigger run twice); returns the tokens of those written.
pub(crate) async fn write(
    conn: &impl ConnectionTrait,
    s: &survey::Model,
    drafts: Vec<Draft>,
    by: &str,
    at: DateTime<Utc>,
) -> AppResult<Vec<IssuedToken>> {
    let mut issued = Vec::with_capacity(drafts.len());
    let expires_at = at + Duration::hours(i64::from(s.expires_after_hours));
    let mut pending: Vec<Draft> = drafts;
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(CHUNK));
        let chunk = std::mem::replace(&mut pending, rest);
        let mut rows = Vec::with_capacity(chunk.len());
        let mut tokens = Vec::with_capacity(chunk.len());
        for d in chunk {
            let token = new_token();
            let id = new_id();
            rows.push(survey_invitation::ActiveModel {
                id: Set(id),
                survey_id: Set(s.id),
                customer_id: Set(d.customer_id),
                kind: Set(s.kind.clone()),
                token_hash: Set(token_hash(&token)),
                channel: Set(d.channel.as_str().into()),
                source: Set(d.source.as_str().into()),
                source_key: Set(d.source_key),
                feedback_id: Set(d.feedback_id),
                exempt: Set(d.exempt),
                status: Set(InvitationStatus::Pending.as_str().into()),
                expires_at: Set(expires_at),
                sent_at: Set(at),
                last_sent_at: Set(at),
                reminders: Set(0),
                created_by: Set(by.to_owned()),
                created_at: Set(at),
            });
            tokens.push(Issued {
                source: d.source,
                token: IssuedToken {
                    invitation_id: id,
                    customer_id: d.customer_id,
                    token,
                },
            });
        }
        let ids: Vec<Uuid> = tokens.iter().map(|t| t.token.invitation_id).collect();
        let written = survey_invitation::Entity::insert_many(rows)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    survey_invitation::Column::SurveyId,
                    survey_invitation::Column::SourceKey,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await;
        match written {
            Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
        let kept: HashSet<Uuid> = survey_invitation::Entity::find()
            .select_only()
            .column(survey_invitation::Column::Id)
            .filter(survey_invitation::Column::Id.is_in(ids))
            .into_tuple::<Uuid>()
            .all(conn)
            .await?
            .into_iter()
            .collect();
        tokens.retain(|t| kept.contains(&t.token.invitation_id));
        events::emit_many(
            conn,
            tokens.iter().map(|t| {
                (
                    EventType::SurveyInvitationSent,
                    t.token.invitation_id,
                    Some(t.token.customer_id),
                    json!({"survey_id": s.id, "source": t.source.as_str(), "reminder": false}),
                    at,
                )
            }),
        )
        .await?;
        issued.extend(tokens.into_iter().map(|t| t.token));
    }
    Ok(issued)
}

/// The customers among `candidates` the fatigue rules of survey `s` hold
/// back, with the reason (an open invitation to the same survey first, then
/// the same kind, then the cooldown). Exempt invitations neither block nor
/// count.
pub(crate) async fn held_back(
    conn: &impl ConnectionTrait,
    s: &survey::Model,
    windows: Option<(i64, i64)>,
    candidates: &[Uuid],
    at: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, SkipReason>> {
    let mut out = HashMap::new();
    for chunk in candidates.chunks(CHUNK) {
        let open: Vec<Uuid> = survey_invitation::Entity::find()
            .select_only()
            .column(survey_invitation::Column::CustomerId)
            .filter(survey_invitation::Column::SurveyId.eq(s.id))
            .filter(survey_invitation::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(survey_invitation::Column::Status.ne(InvitationStatus::Completed.as_str()))
            .filter(survey_invitation::Column::ExpiresAt.gt(at))
            .into_tuple()
            .all(conn)
            .await?;
        for id in open {
            out.insert(id, SkipReason::AlreadyInvited);
        }
        let Some((kind_days, cooldown_days)) = windows else {
            continue;
        };
        let kind_since = at - Duration::days(kind_days);
        let any_since = at - Duration::days(cooldown_days);
        let recent: Vec<(Uuid, String, DateTime<Utc>)> = survey_invitation::Entity::find()
            .select_only()
            .column(survey_invitation::Column::CustomerId)
            .column(survey_invitation::Column::Kind)
            .column(survey_invitation::Column::LastSentAt)
            .filter(survey_invitation::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(survey_invitation::Column::Exempt.eq(false))
            .filter(survey_invitation::Column::LastSentAt.gt(std::cmp::min(kind_since, any_since)))
            .into_tuple()
            .all(conn)
            .await?;
        for (customer, kind, sent) in recent {
            if kind == s.kind && sent > kind_since {
                out.entry(customer).or_insert(SkipReason::SameKind);
            }
        }
        // A second pass, so the same kind wins over the cooldown as the reason.
        let recent_any: Vec<(Uuid, DateTime<Utc>)> = survey_invitation::Entity::find()
            .select_only()
            .column(survey_invitation::Column::CustomerId)
            .column(survey_invitation::Column::LastSentAt)
            .filter(survey_invitation::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(survey_invitation::Column::Exempt.eq(false))
            .filter(survey_invitation::Column::LastSentAt.gt(any_since))
            .into_tuple()
            .all(conn)
            .await?;
        for (customer, _) in recent_any {
            out.entry(customer).or_insert(SkipReason::Cooldown);
        }
    }
    Ok(out)
}

/// Locks the survey's row (PostgreSQL) so two sends of one survey run one
/// after the other; SQLite's write lock does the same.
async fn lock_survey(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> AppResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        survey::Entity::find_by_id(id).lock_exclusive().one(txn).await?;
    }
    Ok(())
}

/// Invites customers (a segment's members, ids, external ids) to an active
/// survey: one invitation each, the fatigue rules applied; the reply counts
/// the invited and the skipped by reason, with the tokens when asked.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Validation`;
/// `Conflict` unless the survey is active.
pub async fn send(
    db: &impl Store,
    actor: &Actor,
    survey_id: Uuid,
    input: NewInvitations,
) -> AppResult<InvitationReport> {
    policy::manage_customers(actor)?;
    let s = find(db, survey_id).await?;
    let mut c = Checker::default();
    let ids = input.customer_ids.unwrap_or_default();
    let exts = input.external_ids.unwrap_or_default();
    if input.segment_id.is_none() && ids.is_empty() && exts.is_empty() {
        c.fail("segment_id", "name a segment, customer_ids or external_ids");
    }
    if ids.len() > MAX_LISTED {
        c.fail(
            "customer_ids",
            format!("at most {MAX_LISTED} per request (use a segment)"),
        );
    }
    if exts.len() > MAX_LISTED {
        c.fail(
            "external_ids",
            format!("at most {MAX_LISTED} per request (use a segment)"),
        );
    }
    if let Some(seg) = input.segment_id
        && segment::Entity::find_by_id(seg).one(db).await?.is_none()
    {
        c.fail("segment_id", "no such segment");
    }
    c.finish()?;
    if SurveyStatus::from_db(&s.status) != SurveyStatus::Active {
        return Err(AppError::conflict_on(
            "status",
            "only an active survey sends invitations",
        ));
    }
    let mut skipped: HashMap<SkipReason, i64> = HashMap::new();
    let mut order: Vec<Uuid> = Vec::new();
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut take = |id: Uuid, skipped: &mut HashMap<SkipReason, i64>| {
        if seen.insert(id) {
            order.push(id);
        } else {
            *skipped.entry(SkipReason::Duplicate).or_default() += 1;
        }
    };
    if !ids.is_empty() {
        let found: HashSet<Uuid> = live_ids(db, customer::Column::Id.is_in(ids.iter().copied()))
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for id in &ids {
            if found.contains(id) {
                take(*id, &mut skipped);
            } else {
                *skipped.entry(SkipReason::NotFound).or_default() += 1;
            }
        }
    }
    if !exts.is_empty() {
        let found: HashMap<String, Uuid> = live_ids(db, customer::Column::ExternalId.is_in(exts.iter().cloned()))
            .await?
            .into_iter()
            .filter_map(|(id, ext)| Some((ext?, id)))
            .collect();
        for ext in &exts {
            match found.get(ext) {
                Some(id) => take(*id, &mut skipped),
                None => *skipped.entry(SkipReason::NotFound).or_default() += 1,
            }
        }
    }
    if let Some(seg) = input.segment_id {
        let members: Vec<Uuid> = entity::segment_member::Entity::find()
            .select_only()
            .column(entity::segment_member::Column::CustomerId)
            .filter(entity::segment_member::Column::SegmentId.eq(seg))
            .filter(
                entity::segment_member::Column::CustomerId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(customer::Column::Id)
                        .from(customer::Entity)
                        .and_where(Expr::col(customer::Column::DeletedAt).is_null())
                        .to_owned(),
                ),
            )
            .order_by_asc(entity::segment_member::Column::CustomerId)
            .into_tuple()
            .all(db)
            .await?;
        for id in members {
            take(id, &mut skipped);
        }
    }
    let rules = settings(db).await?;
    let windows = fatigue_windows(&s, &rules);
    let at = now();
    let txn = begin(db).await?;
    lock_survey(&txn, s.id).await?;
    let held = held_back(&txn, &s, windows, &order, at).await?;
    let channel = input.channel.unwrap_or(SurveyChannel::Email);
    let drafts: Vec<Draft> = order
        .iter()
        .filter(|id| match held.get(id) {
            Some(reason) => {
                *skipped.entry(*reason).or_default() += 1;
                false
            }
            None => true,
        })
        .map(|id| Draft {
            customer_id: *id,
            channel,
            source: InvitationSource::Manual,
            source_key: None,
            feedback_id: None,
            exempt: false,
        })
        .collect();
    let tokens = write(&txn, &s, drafts, &actor.sub, at).await?;
    txn.commit().await?;
    let mut skipped: Vec<Skipped> = skipped
        .into_iter()
        .map(|(reason, count)| Skipped { reason, count })
        .collect();
    skipped.sort_by_key(|s| s.reason.as_str());
    Ok(InvitationReport {
        invited: tokens.len() as i64,
        skipped,
        tokens: if input.return_tokens.unwrap_or(true) {
            tokens
        } else {
            Vec::new()
        },
    })
}

async fn live_ids(
    db: &impl Store,
    filter: impl sea_orm::sea_query::IntoCondition,
) -> AppResult<Vec<(Uuid, Option<String>)>> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ExternalId)
        .filter(filter)
        .filter(customer::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// Who may read invitations and responses: admins, managers and analysts
/// all; agents those of the customers they own.
pub(crate) fn reader_scope(actor: &Actor) -> AppResult<Option<String>> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Analyst => Ok(None),
        Role::Agent => Ok(Some(actor.sub.clone())),
        Role::Partner | Role::Customer => Err(AppError::Forbidden),
    }
}

/// The customers an agent owns, as a condition on a `customer_id` column.
pub(crate) fn owned_by(column: impl ColumnTrait, owner: &str) -> Condition {
    Condition::all().add(
        column.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(customer::Column::Id)
                .from(customer::Entity)
                .and_where(Expr::col(customer::Column::OwnerId).eq(owner))
                .to_owned(),
        ),
    )
}

/// Lists a survey's invitations, newest first.
///
/// # Errors
/// `Forbidden` for partners and customers; `NotFound`; `Validation` on bad paging.
pub async fn list_invitations(
    db: &impl Store,
    actor: &Actor,
    survey_id: Uuid,
    filter: &InvitationFilter,
    page: &PageRequest,
) -> AppResult<Page<InvitationView>> {
    let scope = reader_scope(actor)?;
    find(db, survey_id).await?;
    let at = now();
    let mut q = survey_invitation::Entity::find().filter(survey_invitation::Column::SurveyId.eq(survey_id));
    if let Some(owner) = &scope {
        q = q.filter(owned_by(survey_invitation::Column::CustomerId, owner));
    }
    if let Some(id) = filter.customer_id {
        q = q.filter(survey_invitation::Column::CustomerId.eq(id));
    }
    q = match filter.status {
        None => q,
        Some(InvitationStatus::Completed) => q.filter(survey_invitation::Column::Status.eq("completed")),
        Some(InvitationStatus::Expired) => q
            .filter(survey_invitation::Column::Status.ne("completed"))
            .filter(survey_invitation::Column::ExpiresAt.lte(at)),
        Some(open) => q
            .filter(survey_invitation::Column::Status.eq(open.as_str()))
            .filter(survey_invitation::Column::ExpiresAt.gt(at)),
    };
    if let Some(after) = &page.after {
        q = q.filter(before_cursor(
            survey_invitation::Column::CreatedAt,
            survey_invitation::Column::Id,
            after,
        )?);
    }
    let rows = q
        .order_by_desc(survey_invitation::Column::CreatedAt)
        .order_by_desc(survey_invitation::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(
        crate::service::paging::page(rows, page.limit, |m: &survey_invitation::Model| Cursor {
            key: m.created_at.to_rfc3339(),
            id: m.id,
        })
        .map(|m| to_view(m, at)),
    )
}

/// Reminds every unfinished, unexpired invitation of an active survey that
/// has been reminded fewer times than the survey allows. A reminder is a
/// send: it moves `last_sent_at`, which the fatigue rules count. The tokens
/// are the ones sent first (only their hashes are kept).
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` unless active.
pub async fn remind(db: &impl Store, actor: &Actor, survey_id: Uuid) -> AppResult<ReminderReport> {
    policy::manage_customers(actor)?;
    let s = find(db, survey_id).await?;
    if SurveyStatus::from_db(&s.status) != SurveyStatus::Active {
        return Err(AppError::conflict_on("status", "only an active survey sends reminders"));
    }
    let at = now();
    let open = || {
        Condition::all()
            .add(survey_invitation::Column::SurveyId.eq(survey_id))
            .add(survey_invitation::Column::Status.ne(InvitationStatus::Completed.as_str()))
            .add(survey_invitation::Column::ExpiresAt.gt(at))
    };
    let txn = begin(db).await?;
    let at_limit = survey_invitation::Entity::find()
        .filter(open())
        .filter(survey_invitation::Column::Reminders.gte(s.max_reminders))
        .count(&txn)
        .await?;
    let due: Vec<(Uuid, Uuid)> = survey_invitation::Entity::find()
        .select_only()
        .column(survey_invitation::Column::Id)
        .column(survey_invitation::Column::CustomerId)
        .filter(open())
        .filter(survey_invitation::Column::Reminders.lt(s.max_reminders))
        .into_tuple()
        .all(&txn)
        .await?;
    for chunk in due.chunks(CHUNK) {
        survey_invitation::Entity::update_many()
            .col_expr(
                survey_invitation::Column::Reminders,
                Expr::col(survey_invitation::Column::Reminders).add(1),
            )
            .col_expr(survey_invitation::Column::LastSentAt, Expr::value(at))
            .filter(survey_invitation::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(&txn)
            .await?;
        events::emit_many(
            &txn,
            chunk.iter().map(|(id, customer)| {
                (
                    EventType::SurveyInvitationSent,
                    *id,
                    Some(*customer),
                    json!({"survey_id": s.id, "reminder": true}),
                    at,
                )
            }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(ReminderReport {
        reminded: due.len() as i64,
        at_limit: at_limit as i64,
        invitation_ids: due.into_iter().map(|(id, _)| id).collect(),
    })
}

/// Issues a new token for an unfinished invitation (one a trigger made, or
/// one whose link was lost): the old token stops working; only the new
/// one's hash is kept.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` when the
/// invitation is answered or expired.
pub async fn issue_token(db: &impl Store, actor: &Actor, survey_id: Uuid, id: Uuid) -> AppResult<IssuedToken> {
    policy::manage_customers(actor)?;
    let inv = survey_invitation::Entity::find_by_id(id)
        .filter(survey_invitation::Column::SurveyId.eq(survey_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("survey invitation"))?;
    let at = now();
    if status_of(&inv, at) != InvitationStatus::Pending && status_of(&inv, at) != InvitationStatus::Partial {
        return Err(AppError::conflict_on(
            "status",
            "only an unfinished, unexpired invitation gets a new token",
        ));
    }
    let token = new_token();
    let moved = survey_invitation::Entity::update_many()
        .col_expr(survey_invitation::Column::TokenHash, Expr::value(token_hash(&token)))
        .filter(survey_invitation::Column::Id.eq(id))
        .filter(survey_invitation::Column::Status.ne(InvitationStatus::Completed.as_str()))
        .exec(db)
        .await?;
    if moved.rows_affected == 0 {
        return Err(AppError::conflict_on("status", "the invitation has just been answered"));
    }
    Ok(IssuedToken {
        invitation_id: inv.id,
        customer_id: inv.customer_id,
        token,
    })
}
