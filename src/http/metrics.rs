//! `/metrics` and the request counter behind it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use sea_orm::{DatabaseConnection, DbBackend, EntityTrait};

use super::edge::RouteTable;
use crate::metrics::{METRICS, render};

/// Counts every request by method, route template and status, and times it.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .app_data::<web::Data<RouteTable>>()
        .map_or("unmatched", |t| t.template(req.path()))
        .to_owned();
    let res = next.call(req).await?;
    METRICS
        .http_requests
        .with_label_values(&[method.as_str(), route.as_str(), res.status().as_str()])
        .inc();
    METRICS
        .http_duration
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(res)
}

/// Reads the levels a scrape reports: the pool, the event backlog, pending
/// deliveries, and how long ago each job last finished.
async fn read_levels(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    METRICS.gauges.with_label_values(&["pool_idle"]).set(i64::from(idle));
    METRICS
        .gauges
        .with_label_values(&["pool_in_use"])
        .set(i64::from(size.saturating_sub(idle)));
    if let Ok(levels) = crate::service::webhooks::delivery::backlog(db).await {
        METRICS
            .gauges
            .with_label_values(&["events_not_fanned_out"])
            .set(levels.0);
        METRICS
            .gauges
            .with_label_values(&["webhook_deliveries_pending"])
            .set(levels.1);
    }
    if let Ok(runs) = entity::job_run::Entity::find().all(db).await {
        let now = Utc::now();
        for r in runs {
            if let Some(at) = r.last_finished_at {
                let age = (now - at).num_milliseconds() as f64 / 1000.0;
                METRICS.ages.with_label_values(&[r.name.as_str()]).set(age);
            }
        }
    }
}

/// Prometheus metrics (text exposition format): requests and latency per
/// route template and status, pool use, job runs, durations and time since
/// each last ran, the event backlog, webhook attempt outcomes, idempotent
/// replays, rate-limited requests, set-wide reads by the database that
/// served them and the replica's lag. No token needed: it holds counts, not data.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn get_metrics(
    db: web::Data<DatabaseConnection>,
    replica: Option<web::Data<super::db::ReadReplica>>,
) -> HttpResponse {
    read_levels(&db).await;
    if let Some(replica) = replica.as_ref().and_then(|r| r.0.as_ref()) {
        // -1 while the replica is out of reach.
        let lag = replica.lag_ms().map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
        METRICS.gauges.with_label_values(&["replica_lag_ms"]).set(lag);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render())
}

/// The paths of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_metrics))]
pub struct Doc;

/// Mounts `/metrics` (outside `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(get_metrics));
}
