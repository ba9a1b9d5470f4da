//! Static segments' members: added and removed by hand, and the members page.

use super::*;

/// Resolves the customers a member change names; unknown ones are field errors.
async fn resolve(txn: &DatabaseTransaction, change: &MemberChange) -> AppResult<Vec<Uuid>> {
    if change.customer_ids.len() + change.external_ids.len() > MAX_MEMBER_CHANGE {
        return Err(AppError::field(
            "customer_ids",
            format!("at most {MAX_MEMBER_CHANGE} customers per request"),
        ));
    }
    if change.customer_ids.is_empty() && change.external_ids.is_empty() {
        return Err(AppError::field(
            "customer_ids",
            "name at least one customer (customer_ids or external_ids)",
        ));
    }
    let mut c = Checker::default();
    let found: Vec<(Uuid, Option<String>)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ExternalId)
        .filter(customer::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(customer::Column::Id.is_in(change.customer_ids.iter().copied()))
                .add(customer::Column::ExternalId.is_in(change.external_ids.iter().cloned())),
        )
        .into_tuple()
        .all(txn)
        .await?;
    let mut ids = Vec::new();
    for (i, id) in change.customer_ids.iter().enumerate() {
        if found.iter().any(|(f, _)| f == id) {
            ids.push(*id);
        } else {
            c.fail(&format!("customer_ids[{i}]"), "no such customer");
        }
    }
    for (i, ext) in change.external_ids.iter().enumerate() {
        match found.iter().find(|(_, e)| e.as_deref() == Some(ext.as_str())) {
            Some((id, _)) => ids.push(*id),
            None => c.fail(&format!("external_ids[{i}]"), "no such customer"),
        }
    }
    c.finish()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Whether a member change adds or removes customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Add,
    Remove,
}

/// Adds or removes customers of a static segment, recording each change.
///
/// # Errors
/// `Forbidden` unless admin or manager; `NotFound`; `Conflict` for a dynamic
/// segment; `Validation` naming unknown customers.
#[tracing::instrument(skip_all, fields(segment_id = %id, actor = %actor.sub, ?membership))]
pub async fn change_members(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    change: MemberChange,
    membership: Membership,
) -> AppResult<SegmentView> {
    policy::manage_customers(actor)?;
    let txn = begin(db).await?;
    let seg = lock(&txn, id).await?;
    if seg.kind != SegmentKind::Static.as_str() {
        return Err(AppError::Conflict {
            detail: "members of a dynamic segment follow its rule".into(),
            field: None,
        });
    }
    let ids = resolve(&txn, &change).await?;
    let present: Vec<Uuid> = segment_member::Entity::find()
        .select_only()
        .column(segment_member::Column::CustomerId)
        .filter(segment_member::Column::SegmentId.eq(id))
        .filter(segment_member::Column::CustomerId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(&txn)
        .await?;
    let at = now();
    let (changed, kind): (Vec<Uuid>, &str) = match membership {
        Membership::Add => (ids.into_iter().filter(|c| !present.contains(c)).collect(), "entered"),
        Membership::Remove => (present, "exited"),
    };
    if !changed.is_empty() {
        if membership == Membership::Add {
            segment_member::Entity::insert_many(changed.iter().map(|c| segment_member::ActiveModel {
                segment_id: Set(id),
                customer_id: Set(*c),
                entered_at: Set(at),
            }))
            .exec(&txn)
            .await?;
        } else {
            segment_member::Entity::delete_many()
                .filter(segment_member::Column::SegmentId.eq(id))
                .filter(segment_member::Column::CustomerId.is_in(changed.iter().copied()))
                .exec(&txn)
                .await?;
        }
        segment_event::Entity::insert_many(changed.iter().map(|c| segment_event::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            segment_id: Set(id),
            customer_id: Set(*c),
            kind: Set(kind.into()),
            at: Set(at),
        }))
        .exec(&txn)
        .await?;
    }
    super::refresh::finish_refresh(&txn, id, at).await?;
    let seg = find(&txn, id).await?;
    txn.commit().await?;
    Ok(to_view(seg))
}

/// A segment's members, in the customers list's order and paging.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` on bad paging.
pub async fn members(
    db: &impl Store,
    actor: &Actor,
    id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<crate::contract::customers::CustomerView>> {
    policy::read_customers(actor)?;
    find(db, id).await?;
    let filter = crate::contract::customers::CustomerFilter {
        segment_id: Some(id),
        ..Default::default()
    };
    crate::service::customer_list::list(db, actor, &filter, None, page).await
}
