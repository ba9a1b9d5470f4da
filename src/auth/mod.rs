//! Authentication (JWT bearer tokens) and the role rules built on it.

mod extractor;
mod jwt;
pub mod policy;

pub use extractor::{BearerAuth, actor_from_request};
pub use jwt::{Claims, JwtKeys, mint_token};

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The roles a token can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Agent,
    Analyst,
    Partner,
    Customer,
}

impl Role {
    /// Every role, for matrices in tests and docs.
    pub const ALL: [Role; 6] = [
        Self::Admin,
        Self::Manager,
        Self::Agent,
        Self::Analyst,
        Self::Partner,
        Self::Customer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Agent => "agent",
            Self::Analyst => "analyst",
            Self::Partner => "partner",
            Self::Customer => "customer",
        }
    }

    /// Parses a lower-case role name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is making a request, as proven by a verified token.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The subject: a staff member's id, or the customer's login id.
    pub sub: String,
    pub role: Role,
    /// Set for (and required by) the customer role.
    pub customer_id: Option<Uuid>,
    /// Set for the partner role.
    pub partner_id: Option<String>,
}

impl Actor {
    /// Staff who see everything about customers unmasked.
    pub fn is_staff_manager(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Manager)
    }

    /// Whether personal data must be masked for this caller.
    pub fn masks_personal_data(&self) -> bool {
        matches!(self.role, Role::Analyst | Role::Partner)
    }
}
