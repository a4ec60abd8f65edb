//! `/api/v1/users` and `/api/v1/teams`: the directory, for administrators.

use super::audit::{self};
use super::require;
use crate::auth::Action;
use crate::auth::directory::{TeamInfo, UserInfo, is_valid_name};
use crate::http::{App, ClientIp, ErrorBody, host_error};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    name: String,
    /// At least 8 characters; stored as an argon2id hash.
    password: String,
    #[serde(default)]
    admin: bool,
}

#[derive(Serialize, ToSchema)]
pub struct UserCreated {
    name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct UserChange {
    /// A new password (at least 8 characters).
    password: Option<String>,
    admin: Option<bool>,
    /// A disabled user cannot sign in; their tokens are refused.
    disabled: Option<bool>,
    /// Revoke every API token of the user (with a new password, after a
    /// leak).
    #[serde(default)]
    revoke_tokens: bool,
    /// Lift a lockout for failed passwords (a new password lifts it too).
    #[serde(default)]
    unlock: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct NewTeam {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    name: String,
}

const NAME_RULE: &str = "names are 1-64 of [A-Za-z0-9._-]";
const SHORT_PASSWORD: &str = "passwords have at least 8 characters";

fn unavailable(e: impl std::fmt::Display) -> Response {
    host_error(503, &format!("the directory is unavailable: {e}"))
}

/// Lists users, with their teams (admins only).
#[utoipa::path(get, path = "/api/v1/users", responses(
    (status = 200, body = [UserInfo]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn list(State(app): State<Arc<App>>, client: ClientIp, headers: HeaderMap) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match app.services.auth.directory.users().await {
        Ok(users) => Json(users).into_response(),
        Err(e) => unavailable(e),
    }
}

/// Creates a user or resets a password (admins only).
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser, responses(
    (status = 201, body = UserCreated),
    (status = 400, body = ErrorBody, description = "invalid name or short password"),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn create(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Json(user): Json<NewUser>,
) -> Response {
    let target = format!("user:{}", user.name);
    let change = async || {
        if !is_valid_name(&user.name) || user.password.len() < 8 {
            return host_error(400, &format!("user {NAME_RULE} and {SHORT_PASSWORD}"));
        }
        match app
            .services
            .auth
            .set_user(&user.name, &user.password, user.admin)
            .await
        {
            Ok(()) => (StatusCode::CREATED, Json(UserCreated { name: user.name })).into_response(),
            Err(e) => host_error(500, &e.to_string()),
        }
    };
    audit::admin_change(&app, &client, &headers, "user-set", &target, change).await
}

/// Changes a user: password, admin, disabled; revokes their tokens; lifts
/// their lockout for failed passwords (admins only).
#[utoipa::path(patch, path = "/api/v1/users/{name}", request_body = UserChange, responses(
    (status = 204, description = "changed"),
    (status = 400, body = ErrorBody, description = "short password"),
    (status = 403, body = ErrorBody, description = "admins only"),
    (status = 404, body = ErrorBody, description = "no such user"),
))]
pub async fn update(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(change): Json<UserChange>,
) -> Response {
    let target = format!("user:{name}");
    let change = async || {
        if change.password.as_ref().is_some_and(|p| p.len() < 8) {
            return host_error(400, SHORT_PASSWORD);
        }
        let auth = &app.services.auth;
        match auth.update_user(&name, change.admin, change.disabled).await {
            Ok(true) => {}
            Ok(false) => return host_error(404, &format!("there is no user {name}")),
            Err(e) => return unavailable(e),
        }
        if let Some(password) = &change.password
            && let Err(e) = auth.set_password(&name, password).await
        {
            return unavailable(e);
        }
        if change.revoke_tokens
            && let Err(e) = auth.revoke_tokens_of(&name).await
        {
            return unavailable(e);
        }
        if change.unlock || change.password.is_some() {
            auth.unlock(&name);
        }
        StatusCode::NO_CONTENT.into_response()
    };
    audit::admin_change(&app, &client, &headers, "user-change", &target, change).await
}

/// Lists teams and their members (admins only).
#[utoipa::path(get, path = "/api/v1/teams", responses(
    (status = 200, body = [TeamInfo]),
    (status = 403, body = ErrorBody, description = "admins only"),
))]
pub async fn teams(State(app): State<Arc<App>>, client: ClientIp, headers: HeaderMap) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Admin).await {
        return r;
    }
    match app.services.auth.directory.teams().await {
        Ok(teams) => Json(teams).into_response(),
        Err(e) => unavailable(e),
    }
}

/// Creates a team (admins only).
#[utoipa::path(post, path = "/api/v1/teams", request_body = NewTeam, responses(
    (status = 201, description = "created"),
    (status = 400, body = ErrorBody, description = "invalid name"),
    (status = 409, body = ErrorBody, description = "exists"),
))]
pub async fn create_team(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Json(team): Json<NewTeam>,
) -> Response {
    let target = format!("team:{}", team.name);
    let change = async || {
        if !is_valid_name(&team.name) {
            return host_error(400, &format!("team {NAME_RULE}"));
        }
        match app.services.auth.directory.create_team(&team.name).await {
            Ok(true) => StatusCode::CREATED.into_response(),
            Ok(false) => host_error(409, &format!("team {} exists", team.name)),
            Err(e) => unavailable(e),
        }
    };
    audit::admin_change(&app, &client, &headers, "team-create", &target, change).await
}

/// Deletes a team, its memberships and its ownerships (admins only).
#[utoipa::path(delete, path = "/api/v1/teams/{team}", responses(
    (status = 204, description = "deleted"),
    (status = 404, body = ErrorBody, description = "no such team"),
))]
pub async fn delete_team(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(team): Path<String>,
) -> Response {
    let target = format!("team:{team}");
    let change = async || {
        // Its ownerships go with it: the documents that show them too.
        let owned = match app.services.auth.owners.packages_of(&target).await {
            Ok(owned) => owned,
            Err(e) => return unavailable(e),
        };
        match app.services.auth.directory.delete_team(&team).await {
            Ok(true) => {
                for (repository, package) in owned {
                    super::owners::changed(&app, &repository, &package).await;
                }
                StatusCode::NO_CONTENT.into_response()
            }
            Ok(false) => host_error(404, &format!("there is no team {team}")),
            Err(e) => unavailable(e),
        }
    };
    audit::admin_change(&app, &client, &headers, "team-delete", &target, change).await
}

/// Adds a user to a team (admins only).
#[utoipa::path(put, path = "/api/v1/teams/{team}/members/{user}", responses(
    (status = 204, description = "a member"),
    (status = 404, body = ErrorBody, description = "no such team or user"),
))]
pub async fn add_member(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path((team, user)): Path<(String, String)>,
) -> Response {
    let target = format!("team:{team} user:{user}");
    let change = async || match app.services.auth.directory.add_member(&team, &user).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(sqlx::Error::RowNotFound) => {
            host_error(404, &format!("there is no team {team} or no user {user}"))
        }
        Err(e) => unavailable(e),
    };
    audit::admin_change(&app, &client, &headers, "team-add-member", &target, change).await
}

/// Removes a user from a team (admins only).
#[utoipa::path(delete, path = "/api/v1/teams/{team}/members/{user}", responses(
    (status = 204, description = "not a member"),
))]
pub async fn remove_member(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path((team, user)): Path<(String, String)>,
) -> Response {
    let target = format!("team:{team} user:{user}");
    let change = async || match app
        .services
        .auth
        .directory
        .remove_member(&team, &user)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(e),
    };
    audit::admin_change(
        &app,
        &client,
        &headers,
        "team-remove-member",
        &target,
        change,
    )
    .await
}
