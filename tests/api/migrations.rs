//! Migrations go up, down and up again on both databases; instances
//! starting together on an empty PostgreSQL database all come up; a
//! database migrated by a newer release is refused.

use crate::common::{Backend, TestApp};
use migration::{Migrator, MigratorTrait};
use rapport::database;
use sea_orm::{ConnectionTrait, Database};

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

async fn instances_starting_together_all_migrate_and_a_newer_schema_is_refused(app: &TestApp) {
    if app.backend == Backend::Postgres {
        // Three instances on an empty database at once (SQLite runs one
        // instance per file: nothing to race).
        Migrator::down(&app.db, None).await.expect("down");
        let connect = || async { Database::connect(&app.url).await.expect("connect") };
        let (a, b, c) = tokio::join!(connect(), connect(), connect());
        let (ra, rb, rc) = tokio::join!(database::migrate(&a), database::migrate(&b), database::migrate(&c));
        for r in [ra, rb, rc] {
            assert!(r.is_ok(), "{r:?}");
        }
        let applied = Migrator::get_applied_migrations(&app.db).await.expect("status");
        assert_eq!(applied.len(), Migrator::migrations().len());
    }
    app.db
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_from_a_newer_release', 0)",
        )
        .await
        .expect("a newer release's migration");
    let refused = database::migrate(&app.db).await.expect_err("a newer schema is refused");
    assert!(refused.to_string().contains("newer release"), "{refused:#}");
}

on_both_databases!(
    migrations_roll_back_and_reapply_cleanly,
    instances_starting_together_all_migrate_and_a_newer_schema_is_refused,
);
