//! The staff directory: names and reporting lines, keyed by token subject.
//! Escalations go to the manager recorded here.

use crate::service::Store;
use entity::staff_member;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder, QuerySelect};

use super::now;
use crate::auth::{Actor, policy};
use crate::contract::Page;
use crate::contract::staff::{StaffInput, StaffView};
use crate::domain::pagination::{Cursor, PageRequest};
use crate::domain::{Checker, parse};
use crate::error::{AppError, AppResult};

fn to_view(m: staff_member::Model) -> StaffView {
    StaffView {
        id: m.id,
        name: m.name,
        email: m.email,
        manager_id: m.manager_id,
        updated_at: m.updated_at,
    }
}

/// The manager of a staff member, if the directory knows one.
///
/// # Errors
/// Database failures.
pub async fn manager_of(conn: &impl ConnectionTrait, id: &str) -> AppResult<Option<String>> {
    Ok(staff_member::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .and_then(|m| m.manager_id))
}

/// Creates or replaces a directory entry (admin/manager).
///
/// # Errors
/// `Forbidden`; `Validation` naming each bad field.
pub async fn put(db: &impl Store, actor: &Actor, id: &str, input: StaffInput) -> AppResult<StaffView> {
    policy::manage_customers(actor)?;
    let mut c = Checker::default();
    let id = c.check("id", parse::staff_id(id.to_owned()));
    let name = c.check("name", parse::name(input.name));
    let email = c.opt("email", input.email, parse::email);
    let manager = c.opt("manager_id", input.manager_id, parse::staff_id);
    if manager.is_some() && manager == id {
        c.fail("manager_id", "cannot be the member itself");
    }
    c.finish()?;
    let (Some(id), Some(name)) = (id, name) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked input missing")));
    };
    let at = now();
    staff_member::Entity::insert(staff_member::ActiveModel {
        id: Set(id.clone()),
        name: Set(name),
        email: Set(email),
        manager_id: Set(manager),
        created_at: Set(at),
        updated_at: Set(at),
    })
    .on_conflict(
        OnConflict::column(staff_member::Column::Id)
            .update_columns([
                staff_member::Column::Name,
                staff_member::Column::Email,
                staff_member::Column::ManagerId,
                staff_member::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    get(db, actor, &id).await
}

/// Reads a directory entry (staff).
///
/// # Errors
/// `Forbidden`, `NotFound`.
pub async fn get(db: &impl Store, actor: &Actor, id: &str) -> AppResult<StaffView> {
    policy::read_customers(actor)?;
    staff_member::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .map(to_view)
        .ok_or(AppError::NotFound("staff member"))
}

/// Lists the directory by id (staff).
///
/// # Errors
/// `Forbidden`; `Validation` on bad paging.
pub async fn list(db: &impl Store, actor: &Actor, page: &PageRequest) -> AppResult<Page<StaffView>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    policy::read_customers(actor)?;
    let mut q = staff_member::Entity::find();
    if let Some(after) = &page.after {
        q = q.filter(staff_member::Column::Id.gt(after.key.clone()));
    }
    let rows = q
        .order_by_asc(staff_member::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    Ok(super::paging::page(rows, page.limit, |m| Cursor {
        key: m.id.clone(),
        id: uuid::Uuid::nil(),
    })
    .map(to_view))
}
