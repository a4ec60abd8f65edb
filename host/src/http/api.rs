//! `/api/v1`: the admin and token API (JSON).

use super::{App, host_error};
use crate::auth::{Action, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match app.services.auth.authenticate(auth).await {
        Ok(c) => Ok(c),
        Err(_) => Err(unauthorized()),
    }
}

fn unauthorized() -> Response {
    let mut r = host_error(401, "authentication required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Basic realm=\"wharf\"".parse().unwrap(),
    );
    r
}

async fn require(app: &App, headers: &HeaderMap, action: Action) -> Result<Caller, Response> {
    let caller = caller(app, headers).await?;
    if caller.user.is_none() && action != Action::Read {
        return Err(unauthorized());
    }
    if !app.services.auth.permits(&caller, action) {
        return Err(host_error(403, "not allowed"));
    }
    Ok(caller)
}

/// Prometheus text format; public like the probes (it names repositories
/// and formats, which anonymous reads reveal anyway).
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// Ready when the database answers and the plugin registry has been applied.
pub async fn ready(State(app): State<Arc<App>>) -> Response {
    if app
        .services
        .catalog
        .list_packages("", None, None, 1)
        .await
        .is_err()
    {
        return host_error(503, "database unavailable");
    }
    Json(serde_json::json!({ "formats": app.runtime.formats() })).into_response()
}

/// Loaded plugins: name, version, content hash, load time, last error.
pub async fn plugins(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match require(&app, &headers, Action::Admin).await {
        Ok(_) => Json(app.runtime.status()).into_response(),
        Err(r) => r,
    }
}

/// `{"token": "…"}` for the authenticated user.
pub async fn create_token(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let caller = match require(&app, &headers, Action::Write).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let user = caller.user.unwrap_or_default();
    match app.services.auth.create_token(&user).await {
        Ok(token) => (
            axum::http::StatusCode::CREATED,
            Json(serde_json::json!({ "token": token })),
        )
            .into_response(),
        Err(e) => host_error(500, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    password: String,
    #[serde(default)]
    admin: bool,
}

/// Creates a user or resets a password (admins only).
pub async fn create_user(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(user): Json<NewUser>,
) -> Response {
    if let Err(r) = require(&app, &headers, Action::Admin).await {
        return r;
    }
    let valid = !user.name.is_empty()
        && user.name.len() <= 64
        && user
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid || user.password.len() < 8 {
        return host_error(
            400,
            "user names are 1-64 of [A-Za-z0-9._-] and passwords at least 8 characters",
        );
    }
    match app
        .services
        .auth
        .set_user(&user.name, &user.password, user.admin)
        .await
    {
        Ok(()) => (
            axum::http::StatusCode::CREATED,
            Json(serde_json::json!({ "name": user.name })),
        )
            .into_response(),
        Err(e) => host_error(500, &e.to_string()),
    }
}
