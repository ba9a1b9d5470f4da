//! Failed payments: what a shop or billing system reports when a charge
//! fails, and when the money came in after all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A failed payment to record.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentFailure {
    /// The order it was for, an order of this customer.
    pub order_id: Option<Uuid>,
    /// How much failed, in minor units (1 to 10^12); with `currency`.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: Option<super::MinorUnits>,
    /// ISO 4217 code; with `amount_minor`.
    pub currency: Option<String>,
    /// Why, as the payment provider says it, e.g. `card_declined`.
    pub reason_code: Option<String>,
    /// When it failed; defaults to now.
    pub failed_at: Option<DateTime<Utc>>,
}

/// A failed payment and, once the money came in, when.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PaymentFailureView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub order_id: Option<Uuid>,
    #[schema(value_type = Option<i64>)]
    pub amount_minor: Option<super::MinorUnits>,
    pub currency: Option<String>,
    pub reason_code: Option<String>,
    pub failed_at: DateTime<Utc>,
    /// `null` while the payment is still outstanding.
    pub recovered_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}
