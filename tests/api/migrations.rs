//! Migrations go up, down and up again on both databases.

use crate::common::TestApp;
use migration::{Migrator, MigratorTrait};

async fn migrations_roll_back_and_reapply_cleanly(app: &TestApp) {
    Migrator::down(&app.db, None).await.expect("down");
    assert!(
        Migrator::get_applied_migrations(&app.db)
            .await
            .expect("status")
            .is_empty()
    );
    Migrator::up(&app.db, None).await.expect("up again");
    assert_eq!(app.count("customer").await, 0);
}

on_both_databases!(migrations_roll_back_and_reapply_cleanly);
