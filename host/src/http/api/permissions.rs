//! `/api/v1/permissions`: grants of actions on repositories and package
//! patterns to users, teams, every user or anonymous callers
//! (`auth/permissions.rs`), for administrators.

use super::audit;
use super::require;
use crate::auth::Action;
use crate::auth::permissions::{GrantSpec, Permission};
use crate::http::{App, ClientIp, ErrorBody, host_error};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn unavailable(e: impl std::fmt::Display) -> Response {
    host_error(503, &format!("permissions are unavailable: {e}"))
}

/// Lists every grant (admins only).
#[utoipa::path(get, path = "/api/v1/permissions", responses(
    (status = 200, body = [Permission]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn list(State(app): State<Arc<App>>, client: ClientIp, headers: HeaderMap) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match app.services.auth.permissions.list().await {
        Ok(list) => Json(list).into_response(),
        Err(e) => unavailable(e),
    }
}

/// Grants actions on a repository's packages (admins only); counts from
/// the next request on.
#[utoipa::path(post, path = "/api/v1/permissions", request_body = GrantSpec, responses(
    (status = 201, body = Permission),
    (status = 400, body = ErrorBody, description = "a mistaken grant, or no such user or team"),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn grant(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Json(spec): Json<GrantSpec>,
) -> Response {
    let target = spec.to_string();
    let change = async || {
        if let Err(e) = spec.check() {
            return host_error(400, &e);
        }
        let auth = &app.services.auth;
        let named = spec.principal.contains(':');
        match auth.principal_exists(&spec.principal).await {
            Ok(false) if named => {
                return host_error(400, &format!("there is no {}", spec.principal));
            }
            Err(e) => return unavailable(e),
            _ => {}
        }
        match auth.permissions.grant(&spec).await {
            Ok(granted) => (StatusCode::CREATED, Json(granted)).into_response(),
            Err(e) => unavailable(e),
        }
    };
    audit::admin_change(&app, &client, &headers, "permission-grant", &target, change).await
}

/// Revokes a grant (admins only).
#[utoipa::path(delete, path = "/api/v1/permissions/{id}", responses(
    (status = 204, description = "revoked"),
    (status = 404, body = ErrorBody, description = "no such grant"),
))]
pub async fn revoke(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let target = format!("permission {id}");
    let change = async || match app.services.auth.permissions.revoke(id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => host_error(404, &format!("there is no permission {id}")),
        Err(e) => unavailable(e),
    };
    audit::admin_change(
        &app,
        &client,
        &headers,
        "permission-revoke",
        &target,
        change,
    )
    .await
}
