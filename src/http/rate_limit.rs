//! Rate limits: a quota per token subject, and per client IP for requests
//! without a valid token, kept in this instance's memory (GCRA, `governor`):
//! with N instances behind a balancer a caller gets up to N times the quota.
//! Every limited answer carries the IETF `RateLimit-Policy` and `RateLimit`
//! headers; a refused one is `429` problem+json with `Retry-After`. Probes
//! and `/metrics` are not limited.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::actor_from_request;
use crate::config::RateLimitSettings;
use crate::error::AppError;
use crate::metrics::METRICS;

type Limiter = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

/// One quota: its name in the headers, its size per minute, its limiter.
struct Policy {
    name: &'static str,
    per_minute: u32,
    limiter: Limiter,
}

impl Policy {
    fn new(name: &'static str, per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self {
            name,
            per_minute,
            limiter: governor::RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>(),
        })
    }

    fn policy_header(&self) -> String {
        format!("\"{}\";q={};w=60", self.name, self.per_minute)
    }

    /// Seconds until `used` units are back.
    fn secs_for(&self, used: u32) -> u64 {
        (u64::from(used) * 60).div_ceil(u64::from(self.per_minute))
    }
}

/// The limiters of this instance.
pub struct RateLimits {
    token: Option<Policy>,
    ip: Option<Policy>,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Arc<Self> {
        Arc::new(Self {
            token: Policy::new("token", settings.token_per_minute),
            ip: Policy::new("ip", settings.ip_per_minute),
            checks: AtomicU64::new(0),
        })
    }

    /// Forgets callers idle long enough to have their whole quota back.
    fn tidy(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(10_000) {
            for p in [&self.token, &self.ip].into_iter().flatten() {
                p.limiter.retain_recent();
            }
        }
    }
}

/// Paths without a rate limit (probes, metrics).
pub const UNLIMITED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The middleware.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(limits) = req
        .app_data::<web::Data<Arc<RateLimits>>>()
        .map(|l| l.get_ref().clone())
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if UNLIMITED.contains(&req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    limits.tidy();
    let subject = req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
        .then(|| actor_from_request(req.request()).ok())
        .flatten()
        .map(|a| a.sub);
    let (policy, key) = match subject {
        Some(sub) => (&limits.token, format!("sub:{sub}")),
        None => {
            let ip = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            (&limits.ip, format!("ip:{ip}"))
        }
    };
    let Some(policy) = policy else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let (remaining, reset, refused) = match policy.limiter.check_key(&key) {
        Ok(snapshot) => {
            let left = snapshot.remaining_burst_capacity();
            (left, policy.secs_for(policy.per_minute - left), None)
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            (0, secs.max(1), Some(secs.max(1)))
        }
    };
    let headers = [
        (HeaderName::from_static("ratelimit-policy"), policy.policy_header()),
        (
            HeaderName::from_static("ratelimit"),
            format!("\"{}\";r={remaining};t={reset}", policy.name),
        ),
    ];
    let mut res = match refused {
        Some(secs) => {
            METRICS.rate_limited.with_label_values(&[policy.name]).inc();
            req.error_response(AppError::RateLimited(secs)).map_into_right_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(name, value);
        }
    }
    Ok(res)
}
