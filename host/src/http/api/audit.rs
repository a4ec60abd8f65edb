//! `GET /api/v1/audit`: the audit log, newest first, for administrators.

use super::require;
use crate::audit::{Actor, Entry, Filter};
use crate::auth::{Action, Caller};
use crate::http::{App, ClientIp, ErrorBody, host_error};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Page {
    entries: Vec<Entry>,
    /// Pass as `before` for the next, older page; absent on the last one.
    next: Option<i64>,
}

/// Pages through the audit log with filters (admins only).
#[utoipa::path(get, path = "/api/v1/audit", params(Filter), responses(
    (status = 200, body = Page),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn list(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000) as usize;
    match app.services.audit.list(&filter).await {
        Ok(entries) => {
            let next = (entries.len() == limit)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            Json(Page { entries, next }).into_response()
        }
        Err(e) => host_error(503, &format!("the audit log is unavailable: {e}")),
    }
}

/// Who made an API request, for its audit entry.
pub fn actor(caller: &Caller, client: &ClientIp) -> Actor {
    Actor::of(caller, client.0)
}

/// Runs an admin-only change and records it, with its status (a refused
/// caller's attempt too).
pub async fn admin_change(
    app: &App,
    client: &ClientIp,
    headers: &HeaderMap,
    action: &str,
    target: &str,
    change: impl AsyncFnOnce() -> Response,
) -> Response {
    let (who, response) = match require(app, headers, client, Action::Admin).await {
        Ok(caller) => (actor(&caller, client), change().await),
        Err(refused) => (actor(&Caller::default(), client), refused),
    };
    record(app, &who, action, target, response.status().as_u16()).await;
    response
}

/// Records an access change made through the API, with its status.
pub async fn record(app: &App, who: &Actor, action: &str, target: &str, status: u16) {
    let outcome = match status {
        200..=299 => "ok".to_string(),
        _ => format!("refused: {status}"),
    };
    app.services
        .audit
        .record(who, action, None, target, &outcome)
        .await;
}
