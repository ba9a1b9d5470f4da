//! Health: the factors a score is made of and the levels it falls into.

use super::value_enum;

value_enum!(
    /// What a health score is made of: `order_recency` (days since the last
    /// order against the customer's own rhythm), `frequency_trend` (orders in
    /// the last 90 days against the 90 before), `satisfaction` (the latest
    /// NPS or CSAT answer on a 100 scale), `complaints` (open complaints and
    /// SLA breaches in the last 90 days), `contact_cadence` (days since the
    /// last contact against the tier's cadence), `loyalty_activity` (points
    /// earned or spent lately), `primary_contact` (whether the primary contact
    /// is still there) and `manual` (a staff override until it expires).
    HealthFactor {
        OrderRecency => "order_recency",
        FrequencyTrend => "frequency_trend",
        Satisfaction => "satisfaction",
        Complaints => "complaints",
        ContactCadence => "contact_cadence",
        LoyaltyActivity => "loyalty_activity",
        PrimaryContact => "primary_contact",
        Manual => "manual",
    }
);

value_enum!(
    /// Where a score falls: `healthy` (score >= 70), `watch` (>= 50),
    /// `at_risk` (>= 30), `critical` (below 30) with the default cut-offs; and
    /// `insufficient_data` when too few factors have data to judge.
    HealthLevel {
        InsufficientData => "insufficient_data",
        Healthy => "healthy",
        Watch => "watch",
        AtRisk => "at_risk",
        Critical => "critical",
    }
);
