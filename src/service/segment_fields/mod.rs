//! The fields segment rules can use, and the compilation of a parsed rule
//! into one SQL condition over `customer` (with `customer_rfm` LEFT JOINed).
//! A new field is one entry in [`FIELDS`]; values are always bound parameters.

mod schema;

use chrono::{DateTime, Utc};
use entity::{customer, customer_rfm, customer_tag};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{Condition, DbBackend, Value};

use crate::domain::rfm::RfmLabel;
use crate::domain::segment_rule::{FieldType, Leaf, Op, Operand, Rule, Scalar};

/// Where a field's value comes from.
#[derive(Clone, Copy)]
enum Source {
    Customer(customer::Column),
    Rfm(customer_rfm::Column),
    BirthdayMonth,
    DaysSinceLastOrder,
    DaysSinceLastContact,
    Tags,
    LoyaltyTier,
    PointsBalance,
    OpenNeeds,
    UnmetNeeds,
}

/// One rule field: its name, type and source.
pub struct FieldDef {
    pub name: &'static str,
    pub field_type: FieldType,
    source: Source,
}

const TIERS: &[&str] = &["key", "important", "general"];
const STAGES: &[&str] = &["prospect", "onboarding", "active", "at_risk", "churned", "won_back"];
const HEALTH_LEVELS: &[&str] = &["insufficient_data", "healthy", "watch", "at_risk", "critical"];
const NPS_CATEGORIES: &[&str] = &["promoter", "passive", "detractor"];
const LABELS: &[&str] = &[
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
];

/// Every field a rule may name (custom attributes come as `custom_attributes.<key>`).
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "tier",
        field_type: FieldType::Enum(TIERS),
        source: Source::Customer(customer::Column::ValueTier),
    },
    FieldDef {
        name: "lifecycle_stage",
        field_type: FieldType::Enum(STAGES),
        source: Source::Customer(customer::Column::LifecycleStage),
    },
    FieldDef {
        name: "health_score",
        field_type: FieldType::Number,
        source: Source::Customer(customer::Column::HealthScore),
    },
    FieldDef {
        name: "risk_level",
        field_type: FieldType::Enum(HEALTH_LEVELS),
        source: Source::Customer(customer::Column::HealthLevel),
    },
    FieldDef {
        name: "open_needs",
        field_type: FieldType::Number,
        source: Source::OpenNeeds,
    },
    FieldDef {
        name: "unmet_needs",
        field_type: FieldType::Number,
        source: Source::UnmetNeeds,
    },
    FieldDef {
        name: "tags",
        field_type: FieldType::Tags,
        source: Source::Tags,
    },
    FieldDef {
        name: "country",
        field_type: FieldType::Text,
        source: Source::Customer(customer::Column::Country),
    },
    FieldDef {
        name: "source",
        field_type: FieldType::Text,
        source: Source::Customer(customer::Column::Source),
    },
    FieldDef {
        name: "owner",
        field_type: FieldType::Text,
        source: Source::Customer(customer::Column::OwnerId),
    },
    FieldDef {
        name: "created_at",
        field_type: FieldType::DateTime,
        source: Source::Customer(customer::Column::CreatedAt),
    },
    FieldDef {
        name: "birthday_month",
        field_type: FieldType::Number,
        source: Source::BirthdayMonth,
    },
    FieldDef {
        name: "rfm_r",
        field_type: FieldType::Number,
        source: Source::Rfm(customer_rfm::Column::RScore),
    },
    FieldDef {
        name: "rfm_f",
        field_type: FieldType::Number,
        source: Source::Rfm(customer_rfm::Column::FScore),
    },
    FieldDef {
        name: "rfm_m",
        field_type: FieldType::Number,
        source: Source::Rfm(customer_rfm::Column::MScore),
    },
    FieldDef {
        name: "rfm_label",
        field_type: FieldType::Enum(LABELS),
        source: Source::Rfm(customer_rfm::Column::Label),
    },
    FieldDef {
        name: "order_count",
        field_type: FieldType::Number,
        source: Source::Customer(customer::Column::OrderCount),
    },
    FieldDef {
        name: "total_spend",
        field_type: FieldType::Number,
        source: Source::Customer(customer::Column::TotalSpend),
    },
    FieldDef {
        name: "days_since_last_order",
        field_type: FieldType::Number,
        source: Source::DaysSinceLastOrder,
    },
    FieldDef {
        name: "days_since_last_contact",
        field_type: FieldType::Number,
        source: Source::DaysSinceLastContact,
    },
    FieldDef {
        name: "lifetime_value",
        field_type: FieldType::Number,
        source: Source::Rfm(customer_rfm::Column::LifetimeValue),
    },
    FieldDef {
        name: "nps_category",
        field_type: FieldType::Enum(NPS_CATEGORIES),
        source: Source::Customer(customer::Column::NpsCategory),
    },
    FieldDef {
        name: "latest_csat",
        field_type: FieldType::Number,
        source: Source::Customer(customer::Column::LatestCsat),
    },
    FieldDef {
        name: "loyalty_tier",
        field_type: FieldType::Text,
        source: Source::LoyaltyTier,
    },
    FieldDef {
        name: "points_balance",
        field_type: FieldType::Number,
        source: Source::PointsBalance,
    },
];

/// The type of a named field, for the rule parser.
pub fn lookup(name: &str) -> Option<FieldType> {
    FIELDS.iter().find(|f| f.name == name).map(|f| f.field_type)
}

/// What compilation needs to know: the SQL dialect and the instant "now".
pub struct Compiler {
    pub backend: DbBackend,
    pub now: DateTime<Utc>,
}

impl Compiler {
    /// The condition a rule stands for.
    pub fn condition(&self, rule: &Rule) -> Condition {
        match rule {
            Rule::All(rules) => rules.iter().fold(Condition::all(), |c, r| c.add(self.condition(r))),
            Rule::Any(rules) => rules.iter().fold(Condition::any(), |c, r| c.add(self.condition(r))),
            // `(inner) IS NOT TRUE`: a customer for whom the inner rule is
            // unknown (a missing value) is "not" it, as with `ne`.
            Rule::Not(rule) => {
                Condition::all().add(self.custom_sql("($1) IS NOT TRUE", Expr::from(self.condition(rule))))
            }
            Rule::Leaf(leaf) => self.leaf(leaf),
        }
    }

    /// Custom SQL with one expression at `$1`, written with the backend's
    /// placeholder (sea-query reads `$1` on PostgreSQL and `?` elsewhere).
    fn custom_sql(&self, sql: &str, arg: Expr) -> Expr {
        match self.backend {
            DbBackend::Postgres => Expr::cust_with_exprs(sql.to_owned(), [arg]),
            _ => Expr::cust_with_exprs(sql.replace("$1", "?"), [arg]),
        }
    }

    fn days_since(&self, timestamp_sql: &str) -> Expr {
        crate::service::days_since(self.backend, self.now, timestamp_sql)
    }

    fn expr(&self, source: Source) -> Expr {
        match source {
            Source::Customer(col) => Expr::col((customer::Entity, col)),
            Source::Rfm(col) => Expr::col((customer_rfm::Entity, col)),
            Source::BirthdayMonth => Expr::cust(match self.backend {
                DbBackend::Postgres => "CAST(EXTRACT(MONTH FROM customer.birthday) AS INTEGER)",
                _ => "CAST(strftime('%m', customer.birthday) AS INTEGER)",
            }),
            Source::DaysSinceLastOrder => self.days_since("customer.last_order_at"),
            Source::DaysSinceLastContact => self.days_since("customer.last_contacted_at"),
            Source::Tags => Expr::col((customer::Entity, customer::Column::Id)),
            // The tier's name; no account or no tier is NULL.
            Source::LoyaltyTier => Expr::cust(
                "(SELECT t.name FROM loyalty_account a JOIN loyalty_tier t ON t.id = a.tier_id \
                 WHERE a.customer_id = customer.id)",
            ),
            // Needs still to be met; of them, the ones the unmet job marked.
            Source::OpenNeeds => Expr::cust(format!(
                "(SELECT COUNT(*) FROM need n WHERE n.customer_id = customer.id AND n.status IN ({}))",
                crate::domain::needs::open_sql_list()
            )),
            Source::UnmetNeeds => Expr::cust(format!(
                "(SELECT COUNT(*) FROM need n WHERE n.customer_id = customer.id AND n.status IN ({}) \
                 AND n.unmet_since IS NOT NULL)",
                crate::domain::needs::open_sql_list()
            )),
            // The ledger's sum; a customer without an account holds 0.
            Source::PointsBalance => Expr::cust(
                "COALESCE((SELECT a.points - a.debt FROM loyalty_account a WHERE a.customer_id = customer.id), 0)",
            ),
        }
    }

    fn leaf(&self, leaf: &Leaf) -> Condition {
        if leaf.field_type == FieldType::Custom {
            return self.custom(leaf);
        }
        let Some(def) = FIELDS.iter().find(|f| f.name == leaf.field) else {
            // The parser only lets known fields through; match nothing if one slips by.
            return Condition::all().add(Expr::val(1).eq(0));
        };
        if let Source::Tags = def.source {
            return tags(leaf);
        }
        compare(self.expr(def.source), leaf.op, &leaf.operand)
    }

    fn custom(&self, leaf: &Leaf) -> Condition {
        let key = leaf.key.clone().unwrap_or_default();
        let (attr, value) = match self.backend {
            DbBackend::Postgres => {
                let attr = Expr::cust_with_exprs("(customer.custom_attributes -> $1)", [Expr::val(key)]);
                let value = |s: &Scalar| match s {
                    Scalar::Json(v) => Expr::cust_with_exprs("CAST($1 AS jsonb)", [Expr::val(v.to_string())]),
                    _ => Expr::val(1),
                };
                (attr, Box::new(value) as Box<dyn Fn(&Scalar) -> Expr>)
            }
            _ => {
                let attr = self.custom_sql(
                    "json_extract(customer.custom_attributes, $1)",
                    Expr::val(format!("$.\"{key}\"")),
                );
                let value = |s: &Scalar| match s {
                    Scalar::Json(serde_json::Value::Bool(b)) => Expr::val(i64::from(*b)),
                    Scalar::Json(serde_json::Value::Number(n)) => match n.as_i64() {
                        Some(i) => Expr::val(i),
                        None => Expr::val(n.as_f64().unwrap_or_default()),
                    },
                    Scalar::Json(serde_json::Value::String(s)) => Expr::val(s.clone()),
                    _ => Expr::val(1),
                };
                (attr, Box::new(value) as Box<dyn Fn(&Scalar) -> Expr>)
            }
        };
        match (&leaf.op, &leaf.operand) {
            (Op::Eq, Operand::One(s)) => Condition::all().add(attr.eq(value(s))),
            (Op::Ne, Operand::One(s)) => Condition::any().add(attr.clone().ne(value(s))).add(attr.is_null()),
            (Op::IsNull, Operand::Null(want)) => {
                let null = match self.backend {
                    // A JSON null counts as absent, as it does in SQLite's json_extract.
                    DbBackend::Postgres => Condition::all().add(Expr::cust_with_exprs(
                        "COALESCE(customer.custom_attributes -> $1, 'null'::jsonb) = 'null'::jsonb",
                        [Expr::val(leaf.key.clone().unwrap_or_default())],
                    )),
                    _ => Condition::all().add(attr.is_null()),
                };
                if *want { null } else { null.not() }
            }
            _ => Condition::all().add(Expr::val(1).eq(0)),
        }
    }
}

fn value(s: &Scalar) -> Value {
    match s {
        Scalar::Text(t) => Value::from(t.clone()),
        Scalar::Number(n) => Value::from(*n),
        Scalar::DateTime(d) => Value::from(*d),
        Scalar::Json(v) => Value::from(v.to_string()),
    }
}

fn compare(expr: Expr, op: Op, operand: &Operand) -> Condition {
    let c = Condition::all();
    match (op, operand) {
        (Op::Eq, Operand::One(v)) => c.add(expr.eq(value(v))),
        // "Not equal" keeps customers without a value: they are not equal either.
        (Op::Ne, Operand::One(v)) => Condition::any().add(expr.clone().ne(value(v))).add(expr.is_null()),
        (Op::Gt, Operand::One(v)) => c.add(expr.gt(value(v))),
        (Op::Gte, Operand::One(v)) => c.add(expr.gte(value(v))),
        (Op::Lt, Operand::One(v)) => c.add(expr.lt(value(v))),
        (Op::Lte, Operand::One(v)) => c.add(expr.lte(value(v))),
        (Op::Between, Operand::Range(lo, hi)) => c.add(expr.between(value(lo), value(hi))),
        (Op::In, Operand::List(vs)) => c.add(expr.is_in(vs.iter().map(value))),
        (Op::NotIn, Operand::List(vs)) => Condition::any()
            .add(expr.clone().is_not_in(vs.iter().map(value)))
            .add(expr.is_null()),
        (Op::Contains, Operand::One(Scalar::Text(t))) => {
            let escaped = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            c.add(Expr::expr(Func::lower(expr)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
        }
        (Op::IsNull, Operand::Null(true)) => c.add(expr.is_null()),
        (Op::IsNull, Operand::Null(false)) => c.add(expr.is_not_null()),
        _ => c.add(Expr::val(1).eq(0)),
    }
}

fn tags(leaf: &Leaf) -> Condition {
    let Operand::List(values) = &leaf.operand else {
        return Condition::all().add(Expr::val(1).eq(0));
    };
    let mut wanted: Vec<String> = values
        .iter()
        .filter_map(|v| if let Scalar::Text(t) = v { Some(t.clone()) } else { None })
        .collect();
    wanted.sort();
    wanted.dedup();
    let id = Expr::col((customer::Entity, customer::Column::Id));
    match leaf.op {
        Op::HasAll => {
            let n = wanted.len() as i64;
            let count = Query::select()
                .expr(Expr::cust("COUNT(*)"))
                .from(customer_tag::Entity)
                .and_where(
                    Expr::col((customer_tag::Entity, customer_tag::Column::CustomerId))
                        .equals((customer::Entity, customer::Column::Id)),
                )
                .and_where(Expr::col((customer_tag::Entity, customer_tag::Column::Tag)).is_in(wanted))
                .to_owned();
            Condition::all().add(Expr::SubQuery(None, Box::new(count.into())).eq(n))
        }
        _ => {
            let having = Query::select()
                .column(customer_tag::Column::CustomerId)
                .from(customer_tag::Entity)
                .and_where(Expr::col((customer_tag::Entity, customer_tag::Column::Tag)).is_in(wanted))
                .to_owned();
            Condition::all().add(id.in_subquery(having))
        }
    }
}

/// The labels an `rfm_label` rule may name, checked against the domain's list.
pub fn labels_match_domain() -> bool {
    LABELS.len() == RfmLabel::ALL.len() && RfmLabel::ALL.iter().all(|l| LABELS.contains(&l.as_str()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_labels_are_the_domain_labels() {
        assert!(super::labels_match_domain());
    }
}
