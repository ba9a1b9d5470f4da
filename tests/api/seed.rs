//! `rapport seed`: consistent, complete data in one transaction, with the
//! schema exactly as it was afterwards.

use crate::common::{Backend, TestApp};
use rapport::auth::Role;
use rapport::cli::seed::{SeedPlan, seed};
use sea_orm::ConnectionTrait;
use serde_json::json;

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("number")
}

/// Indexes and constraints of the loaded tables.
async fn schema_objects(app: &TestApp) -> i64 {
    match app.backend {
        Backend::Postgres => scalar(
            app,
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE tablename IN ('customer', 'customer_tag', 'customer_order'))
                      + (SELECT COUNT(*) FROM pg_constraint WHERE conrelid IN
                           ('customer'::regclass, 'customer_tag'::regclass, 'customer_order'::regclass))",
        )
        .await,
        Backend::Sqlite => scalar(app, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'").await,
    }
}

async fn seeding_loads_consistent_data_in_one_transaction(app: &TestApp) {
    let before = schema_objects(app).await;
    let plan = SeedPlan {
        customers: 300,
        orders: 3_000,
        seed: 7,
    };
    let report = seed(&app.db, plan).await.expect("seed");
    assert_eq!(report.tables[0], ("customer", 300, report.tables[0].2));
    assert_eq!(app.count("customer").await, 300);
    assert_eq!(app.count("customer_order").await, 3_000);
    assert!(app.count("customer_tag").await > 0);
    assert_eq!(schema_objects(app).await, before, "indexes and constraints are back");

    // The order statistics on each customer agree with its orders.
    let disagreeing = scalar(
        app,
        "SELECT COUNT(*) FROM customer c WHERE c.order_count <> (SELECT COUNT(*) FROM customer_order o
             WHERE o.customer_id = c.id AND o.status = 'completed')
          OR c.total_spend <> (SELECT COALESCE(SUM(o.amount_minor), 0) FROM customer_order o
             WHERE o.customer_id = c.id AND o.status = 'completed')",
    )
    .await;
    assert_eq!(disagreeing, 0);
    assert!(
        scalar(app, "SELECT COUNT(*) FROM customer WHERE order_count = 0").await > 0,
        "some never buy"
    );
    assert!(
        scalar(app, "SELECT COUNT(*) FROM customer_order WHERE status = 'refunded'").await > 0,
        "some orders are refunded"
    );

    // The data works with the rest of the product.
    let reply = app
        .post("/api/v1/analytics/rfm/recompute", &app.token(Role::Manager), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body["customers_scored"].as_i64().unwrap_or_default() > 200);

    // Seeding the same data again collides on external ids: nothing is kept,
    // and the schema is intact.
    seed(&app.db, plan).await.expect_err("duplicate external ids");
    assert_eq!(app.count("customer").await, 300);
    assert_eq!(app.count("customer_order").await, 3_000);
    assert_eq!(schema_objects(app).await, before);
}

on_both_databases!(seeding_loads_consistent_data_in_one_transaction);
