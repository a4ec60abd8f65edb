//! `/api/v1/repositories`: hosted, proxy and group repositories beside the
//! zero-config one per format (`repositories.rs`), for administrators. A
//! change is served by this server at once, by others within a second.

use super::audit;
use super::require;
use crate::auth::Action;
use crate::http::{App, ClientIp, ErrorBody, host_error};
use crate::repositories::{ChangeError, Repository, RepositorySpec, Retention};
use crate::retention::{self, Applied, Removal};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn refused(e: ChangeError) -> Response {
    match e {
        ChangeError::Invalid(m) => host_error(400, &m),
        ChangeError::NotFound(_) => host_error(404, &e.to_string()),
        ChangeError::Conflict(m) => host_error(409, &m),
        ChangeError::Store(e) => unavailable(e),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    host_error(503, &format!("repositories are unavailable: {e}"))
}

/// Serves the repositories as they now are, on this server.
async fn remount(app: &App) {
    match app.services.repositories.list().await {
        Ok(all) => {
            let specs: Vec<RepositorySpec> = all.into_iter().map(|r| r.spec).collect();
            app.mounts.reload(&specs);
        }
        // The watcher catches up within a second.
        Err(e) => tracing::warn!(error = %e, "reading the repositories failed"),
    }
}

/// Lists every configured repository, from `wharf.toml` and from this API
/// (admins only: upstreams and members are the site's layout).
#[utoipa::path(get, path = "/api/v1/repositories", responses(
    (status = 200, body = [Repository]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn list(State(app): State<Arc<App>>, client: ClientIp, headers: HeaderMap) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match app.services.repositories.list().await {
        Ok(all) => Json(all).into_response(),
        Err(e) => unavailable(e),
    }
}

/// One repository (admins only).
#[utoipa::path(get, path = "/api/v1/repositories/{name}", responses(
    (status = 200, body = Repository),
    (status = 404, body = ErrorBody, description = "no such repository"),
))]
pub async fn get(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match find(&app, &name).await {
        Ok(found) => Json(found).into_response(),
        Err(refusal) => refusal,
    }
}

/// The repository `name`, or the refusal to answer.
async fn find(app: &App, name: &str) -> Result<Repository, Response> {
    let all = app
        .services
        .repositories
        .list()
        .await
        .map_err(unavailable)?;
    let found = all.into_iter().find(|r| r.spec.name == name);
    found.ok_or_else(|| refused(ChangeError::NotFound(name.to_string())))
}

/// Creates a repository (admins only): checked beside every other one
/// (names, formats, members, cycles, upstream URLs without credentials).
#[utoipa::path(post, path = "/api/v1/repositories", request_body = RepositorySpec, responses(
    (status = 201, body = Repository),
    (status = 400, body = ErrorBody, description = "a mistaken definition"),
    (status = 403, body = ErrorBody, description = "admins only"),
    (status = 409, body = ErrorBody, description = "the name is taken"),
))]
pub async fn create(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Json(spec): Json<RepositorySpec>,
) -> Response {
    let target = format!("repository {}", spec.name);
    let change = async || {
        let is_format = |f: &str| app.runtime.plugin(f).is_some();
        match app.services.repositories.create(spec, &is_format).await {
            Ok(created) => {
                remount(&app).await;
                (StatusCode::CREATED, Json(created)).into_response()
            }
            Err(e) => refused(e),
        }
    };
    audit::admin_change(
        &app,
        &client,
        &headers,
        "repository-create",
        &target,
        change,
    )
    .await
}

/// Replaces a repository's definition (admins only); its name and format
/// stay. Repositories of `wharf.toml` are changed there.
#[utoipa::path(patch, path = "/api/v1/repositories/{name}", request_body = RepositorySpec, responses(
    (status = 200, body = Repository),
    (status = 400, body = ErrorBody, description = "a mistaken definition"),
    (status = 404, body = ErrorBody, description = "no such repository"),
    (status = 409, body = ErrorBody, description = "defined in wharf.toml"),
))]
pub async fn update(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(spec): Json<RepositorySpec>,
) -> Response {
    let target = format!("repository {name}");
    let change = async || {
        if spec.name != name {
            return host_error(400, "the name of a repository does not change");
        }
        let is_format = |f: &str| app.runtime.plugin(f).is_some();
        match app.services.repositories.update(spec, &is_format).await {
            Ok(updated) => {
                remount(&app).await;
                Json(updated).into_response()
            }
            Err(e) => refused(e),
        }
    };
    audit::admin_change(
        &app,
        &client,
        &headers,
        "repository-update",
        &target,
        change,
    )
    .await
}

/// Deletes a repository no group lists and that holds no packages
/// (admins only).
#[utoipa::path(delete, path = "/api/v1/repositories/{name}", responses(
    (status = 204, description = "deleted"),
    (status = 404, body = ErrorBody, description = "no such repository"),
    (status = 409, body = ErrorBody, description = "defined in wharf.toml, listed by a group, or holding packages"),
))]
pub async fn delete(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let target = format!("repository {name}");
    let change = async || {
        let holds = match app
            .services
            .catalog
            .list_packages(&name, None, None, 1)
            .await
        {
            Ok(some) => !some.is_empty(),
            Err(e) => return unavailable(e),
        };
        match app.services.repositories.delete(&name, holds).await {
            Ok(()) => {
                remount(&app).await;
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => refused(e),
        }
    };
    audit::admin_change(
        &app,
        &client,
        &headers,
        "repository-delete",
        &target,
        change,
    )
    .await
}

/// What a repository's retention rule removes now.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RetentionPlan {
    pub rule: Retention,
    /// Oldest package first, each package's newest version first; at most
    /// 10,000 (a later run goes on).
    pub removals: Vec<Removal>,
    /// What applying it did (`POST`); absent in a preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
}

/// The rule of `name` and the plan of what it removes now, without removing
/// anything (admins only; the scheduled job applies it).
#[utoipa::path(get, path = "/api/v1/repositories/{name}/retention", responses(
    (status = 200, body = RetentionPlan),
    (status = 404, body = ErrorBody, description = "no such repository, or it has no retention rule"),
))]
pub async fn retention_plan(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match planned(&app, &name).await {
        Ok(plan) => Json(plan).into_response(),
        Err(refused) => refused,
    }
}

/// Applies the rule of `name` now (admins only): each removal is in the
/// audit log; the blobs it frees are reclaimed by garbage collection.
#[utoipa::path(post, path = "/api/v1/repositories/{name}/retention", responses(
    (status = 200, body = RetentionPlan),
    (status = 404, body = ErrorBody, description = "no such repository, or it has no retention rule"),
))]
pub async fn retention_apply(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let target = format!("repository {name}");
    let change = async || {
        let mut plan = match planned(&app, &name).await {
            Ok(plan) => plan,
            Err(refused) => return refused,
        };
        let actor = crate::audit::Actor::retention();
        match retention::apply(&app.services, &name, &plan.removals, &actor).await {
            Ok(applied) => {
                plan.applied = Some(applied);
                Json(plan).into_response()
            }
            Err(e) => unavailable(e),
        }
    };
    audit::admin_change(&app, &client, &headers, "retention-apply", &target, change).await
}

async fn planned(app: &App, name: &str) -> Result<RetentionPlan, Response> {
    let Some(rule) = find(app, name).await?.spec.retention else {
        return Err(host_error(404, &format!("{name} has no retention rule")));
    };
    let now = crate::store::now_millis();
    let removals = retention::plan(&app.services, name, &rule, now)
        .await
        .map_err(unavailable)?;
    Ok(RetentionPlan {
        rule,
        removals,
        applied: None,
    })
}
