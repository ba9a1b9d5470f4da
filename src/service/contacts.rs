//! Contacts: the people at a company customer.

use crate::contract::Patch;
use crate::service::Store;
use entity::contact;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::{begin, customers, mask, new_id, now, patch_field};
use crate::auth::{Actor, policy};
use crate::contract::contacts::{ContactPatch, ContactRole, ContactView, NewContact};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

/// Shapes a stored contact, masked where the role requires it.
pub fn to_view(m: contact::Model, actor: &Actor) -> ContactView {
    let masked = actor.masks_personal_data();
    ContactView {
        id: m.id,
        customer_id: m.customer_id,
        name: if masked { mask::name(&m.name) } else { m.name },
        title: m.title,
        email: m.email.map(|e| if masked { mask::email(&e) } else { e }),
        phone: m.phone.map(|p| if masked { mask::phone(&p) } else { p }),
        role: m.role.as_deref().map(ContactRole::from_db),
        is_primary: m.is_primary,
        active: m.active,
        left_at: m.left_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Clears the primary flag of a customer's other contacts.
async fn demote_others(conn: &impl ConnectionTrait, customer_id: Uuid, keep: Uuid) -> AppResult<()> {
    contact::Entity::update_many()
        .col_expr(contact::Column::IsPrimary, Expr::value(false))
        .filter(contact::Column::CustomerId.eq(customer_id))
        .filter(contact::Column::Id.ne(keep))
        .exec(conn)
        .await?;
    Ok(())
}

/// Adds a contact to a customer; a new primary replaces the old one in the same transaction.
///
/// # Errors
/// `Forbidden`, `NotFound` (customer), `Validation` naming each bad field.
#[tracing::instrument(skip_all, fields(customer_id = %customer_id, actor = %actor.sub))]
pub async fn create(db: &impl Store, actor: &Actor, customer_id: Uuid, input: NewContact) -> AppResult<ContactView> {
    let customer = customers::find_live(db, customer_id).await?;
    policy::write_customer(actor, customer.owner_id.as_deref())?;
    let mut c = Checker::default();
    let name = c.check("name", parse::name(input.name));
    let title = c.opt("title", input.title, parse::name);
    let email = c.opt("email", input.email, parse::email);
    let phone = c.opt("phone", input.phone, parse::phone);
    c.finish()?;
    let at = now();
    let is_primary = input.is_primary.unwrap_or(false);
    let am = contact::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer_id),
        name: Set(name.unwrap_or_default()),
        title: Set(title),
        email: Set(email),
        phone: Set(phone),
        role: Set(input.role.map(|r| r.as_str().to_owned())),
        is_primary: Set(is_primary),
        active: Set(true),
        left_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let txn = begin(db).await?;
    let model = am.insert(&txn).await?;
    if is_primary {
        demote_others(&txn, customer_id, model.id).await?;
    }
    txn.commit().await?;
    Ok(to_view(model, actor))
}

async fn find(db: &impl Store, id: Uuid) -> AppResult<contact::Model> {
    contact::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("contact"))
}

/// Reads one contact.
///
/// # Errors
/// `Forbidden`, `NotFound` (also when its customer was deleted).
pub async fn get(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<ContactView> {
    policy::read_customers(actor)?;
    let m = find(db, id).await?;
    customers::find_live(db, m.customer_id)
        .await
        .map_err(|_| AppError::NotFound("contact"))?;
    Ok(to_view(m, actor))
}

/// Lists a customer's contacts, primary first.
///
/// # Errors
/// `Forbidden`, `NotFound` (customer).
pub async fn list(db: &impl Store, actor: &Actor, customer_id: Uuid) -> AppResult<Vec<ContactView>> {
    policy::read_customers(actor)?;
    customers::find_live(db, customer_id).await?;
    let rows = list_for(db, &[customer_id]).await?;
    Ok(rows.into_iter().map(|m| to_view(m, actor)).collect())
}

/// The contacts of several customers in one statement, primary first, then oldest.
///
/// # Errors
/// Database failures.
pub async fn list_for(db: &impl Store, customer_ids: &[Uuid]) -> AppResult<Vec<contact::Model>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .order_by_desc(contact::Column::IsPrimary)
        .order_by_asc(contact::Column::CreatedAt)
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?)
}

/// Updates a contact; `active: false` stamps `left_at`.
///
/// # Errors
/// `Forbidden`, `NotFound`, `Validation` naming each bad field.
#[tracing::instrument(skip_all, fields(contact_id = %id, actor = %actor.sub))]
pub async fn update(db: &impl Store, actor: &Actor, id: Uuid, patch: ContactPatch) -> AppResult<ContactView> {
    let current = find(db, id).await?;
    let customer = customers::find_live(db, current.customer_id)
        .await
        .map_err(|_| AppError::NotFound("contact"))?;
    policy::write_customer(actor, customer.owner_id.as_deref())?;
    let at = now();
    let mut c = Checker::default();
    let mut am = current.clone().into_active_model();
    match patch.name {
        Patch::Set(n) => {
            if let Some(n) = c.check("name", parse::name(n)) {
                am.name = Set(n);
            }
        }
        Patch::Clear => c.fail("name", "must not be null"),
        Patch::Keep => {}
    }
    if let Some(v) = patch_field(&mut c, "title", patch.title, parse::name) {
        am.title = Set(v);
    }
    if let Some(v) = patch_field(&mut c, "email", patch.email, parse::email) {
        am.email = Set(v);
    }
    if let Some(v) = patch_field(&mut c, "phone", patch.phone, parse::phone) {
        am.phone = Set(v);
    }
    if let Some(v) = patch_field(&mut c, "role", patch.role, Ok) {
        am.role = Set(v.map(|r| r.as_str().to_owned()));
    }
    let mut promote = false;
    match patch.is_primary {
        Patch::Set(p) => {
            am.is_primary = Set(p);
            promote = p && !current.is_primary;
        }
        Patch::Clear => c.fail("is_primary", "must not be null"),
        Patch::Keep => {}
    }
    match patch.active {
        Patch::Set(active) if active != current.active => {
            am.active = Set(active);
            am.left_at = Set(if active { None } else { Some(at) });
        }
        Patch::Clear => c.fail("active", "must not be null"),
        _ => {}
    }
    c.finish()?;
    am.updated_at = Set(at);
    let txn = begin(db).await?;
    let model = am.update(&txn).await?;
    if promote {
        demote_others(&txn, model.customer_id, model.id).await?;
    }
    txn.commit().await?;
    Ok(to_view(model, actor))
}

/// Deletes a contact.
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn delete(db: &impl Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let current = find(db, id).await?;
    let customer = customers::find_live(db, current.customer_id)
        .await
        .map_err(|_| AppError::NotFound("contact"))?;
    policy::write_customer(actor, customer.owner_id.as_deref())?;
    contact::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
