//! Operational endpoints outside the documented API: `/health` (liveness), `/ready`
//! (readiness: the database answers) and `/metrics` (Prometheus text format).

use poem::{
    IntoResponse, Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Json},
};
use subtle::ConstantTimeEq;

use crate::{AppState, service};

/// Liveness: the process serves HTTP. Never touches the database.
#[handler]
pub fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "result": "ok" }))
}

/// Readiness: 200 when the database answers, 503 otherwise (take the replica out of the load
/// balancer, do not restart it).
#[handler]
pub async fn ready(state: Data<&AppState>) -> Response {
    match service::health::ready(&state.ctx).await {
        Ok(()) => Json(serde_json::json!({ "result": "ok" })).into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            Json(serde_json::json!({ "result": "unavailable", "reason": reason }))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}

/// Prometheus metrics of this replica; behind `NANGO_METRICS_TOKEN` when it is set.
#[handler]
pub async fn metrics(req: &Request, state: Data<&AppState>) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return StatusCode::UNAUTHORIZED.with_header(header::WWW_AUTHENTICATE, "Bearer").into_response();
        }
    }
    let pool_max = if state.config.is_postgres() { state.config.db_pool_max } else { state.config.db_pool_max.min(8) };
    let gauges = service::health::gauges(&state.ctx, pool_max).await;
    state.ctx.metrics.render(&gauges).with_content_type("text/plain; version=0.0.4; charset=utf-8").into_response()
}
