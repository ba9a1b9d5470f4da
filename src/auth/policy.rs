//! Who may do what. Services call these before touching data, so REST and
//! GraphQL share one set of rules.

use uuid::Uuid;

use super::{Actor, Role};
use crate::error::{AppError, AppResult};

/// Staff who may read customer records (analysts see them masked).
///
/// # Errors
/// `Forbidden` for partners and customers.
pub fn read_customers(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Agent | Role::Analyst => Ok(()),
        Role::Partner | Role::Customer => Err(AppError::Forbidden),
    }
}

/// Admins and managers: deletion, assignment, refunds.
///
/// # Errors
/// `Forbidden` for every other role.
pub fn manage_customers(actor: &Actor) -> AppResult<()> {
    if actor.is_staff_manager() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Writes on one customer's record (profile, contacts, orders): admins and
/// managers always, agents only on the customers they own.
///
/// # Errors
/// `Forbidden` otherwise.
pub fn write_customer(actor: &Actor, owner_id: Option<&str>) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager => Ok(()),
        Role::Agent if owner_id == Some(actor.sub.as_str()) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading what belongs to one customer's account work (its needs
/// register): admins, managers and analysts (masked) any; agents the
/// customers they own.
///
/// # Errors
/// `Forbidden` otherwise.
pub fn read_account_work(actor: &Actor, owner_id: Option<&str>) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Analyst => Ok(()),
        Role::Agent if owner_id == Some(actor.sub.as_str()) => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Logging an interaction: any staff member who works with customers.
///
/// # Errors
/// `Forbidden` for analysts, partners and customers.
pub fn log_interaction(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Agent => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Creating customers: admins, managers, and agents (who become the owner).
///
/// # Errors
/// `Forbidden` for analysts, partners and customers.
pub fn create_customer(actor: &Actor) -> AppResult<()> {
    log_interaction(actor)
}

/// The customer a customer-role token speaks for.
///
/// # Errors
/// `Forbidden` for every other role.
pub fn own_customer(actor: &Actor) -> AppResult<Uuid> {
    match (actor.role, actor.customer_id) {
        (Role::Customer, Some(id)) => Ok(id),
        _ => Err(AppError::Forbidden),
    }
}

/// Aggregate reports: admins, managers, analysts, and partners (no
/// personal data in them).
///
/// # Errors
/// `Forbidden` for agents and customers.
pub fn read_reports(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Analyst | Role::Partner => Ok(()),
        Role::Agent | Role::Customer => Err(AppError::Forbidden),
    }
}

/// Reports that name customers (the needs report): admins, managers and
/// analysts (names masked).
///
/// # Errors
/// `Forbidden` for agents, partners and customers.
pub fn read_account_reports(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Analyst => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Working an assigned item (a feedback item, a task): admins and managers
/// any; agents the ones assigned to them.
pub fn may_work_assigned(actor: &Actor, assignee_id: Option<&str>) -> bool {
    match actor.role {
        Role::Admin | Role::Manager => true,
        Role::Agent => assignee_id == Some(actor.sub.as_str()),
        _ => false,
    }
}

/// [`may_work_assigned`] as a check.
///
/// # Errors
/// `Forbidden` when the actor may not work the item.
pub fn work_assigned(actor: &Actor, assignee_id: Option<&str>) -> AppResult<()> {
    if may_work_assigned(actor, assignee_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Seeing an assigned task: who may work it, and analysts (reading all).
pub fn may_see_assigned(actor: &Actor, assignee_id: Option<&str>) -> bool {
    actor.role == Role::Analyst || may_work_assigned(actor, assignee_id)
}

/// Naming who is assigned: admins and managers anyone, agents only themselves.
pub fn may_assign(actor: &Actor, assignee: &str) -> bool {
    actor.role != Role::Agent || assignee == actor.sub
}

/// The event feed: admins and partners (events carry no personal data).
///
/// # Errors
/// `Forbidden` for every other role.
pub fn read_events(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Partner => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Configuration and operations: admins only.
///
/// # Errors
/// `Forbidden` for every other role.
pub fn administer(actor: &Actor) -> AppResult<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Reading a loyalty account: staff and partners any (partners by external
/// id, without personal data); a customer only their own.
///
/// # Errors
/// `Forbidden` for a customer asking about someone else.
pub fn read_loyalty(actor: &Actor, customer_id: Uuid) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Agent | Role::Analyst | Role::Partner => Ok(()),
        Role::Customer if actor.customer_id == Some(customer_id) => Ok(()),
        Role::Customer => Err(AppError::Forbidden),
    }
}

/// Earning and redeeming points, cancelling a redemption: admins, managers,
/// agents (at any customer's checkout) and partners.
///
/// # Errors
/// `Forbidden` for analysts and customers.
pub fn move_points(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::Admin | Role::Manager | Role::Agent | Role::Partner => Ok(()),
        Role::Analyst | Role::Customer => Err(AppError::Forbidden),
    }
}
