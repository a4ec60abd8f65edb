//! `/api/v1/tokens`: a user's API tokens — create (the secret is shown
//! once), list (never the secret nor its hash), revoke.
//!
//! A token can mint tokens only if it is unrestricted: checking that one set
//! of package patterns lies within another is not worth its bugs, and a CI
//! token has no business making tokens. A token that expires mints tokens
//! that expire no later. Any token may revoke itself (a job cleaning up).

use super::{audit, caller, unauthorized};
use crate::auth::tokens::{Restrictions, TokenInfo, TokenSpec};
use crate::auth::{Action, Caller};
use crate::http::{App, ClientIp, ErrorBody, host_error};
use crate::store::now_millis;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

const DAY_MS: i64 = 86_400_000;

/// What to make. Every field is optional, and so is the body: none makes an
/// unnamed, unrestricted token that never expires. Unknown fields are
/// refused, so that a misspelt restriction cannot make a wider token.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Shown when listing, e.g. `ci-acme`.
    #[serde(default)]
    name: String,
    /// Expires this many days from now (not with `expires_at`).
    expires_in_days: Option<u32>,
    /// Expires then: milliseconds since the epoch, in the future.
    expires_at: Option<i64>,
    /// Only reads.
    #[serde(default)]
    read_only: bool,
    /// Only these repositories, e.g. `["npm"]`.
    repositories: Option<Vec<String>>,
    /// Only packages matching one of these patterns, e.g. `["@acme/*"]`
    /// (`*`: any run of characters).
    packages: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct NewToken {
    /// The secret, shown this once. Usable as `Bearer`, as the Basic
    /// password, or raw in `Authorization`.
    token: String,
    /// The public id, to list and revoke it.
    id: String,
    name: String,
    /// Milliseconds since the epoch; absent: never.
    expires_at: Option<i64>,
}

/// A new API token for the authenticated user.
#[utoipa::path(post, path = "/api/v1/tokens",
    request_body(content = TokenRequest, description = "optional"),
    responses(
        (status = 201, body = NewToken),
        (status = 400, body = ErrorBody, description = "an invalid request, or an expiry past"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a restricted token cannot create tokens"),
        (status = 429, body = ErrorBody, description = super::LOCKED_OUT),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match signed_in(&app, &headers, &client).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if caller.restrictions().is_some() {
        return host_error(
            403,
            "a restricted token cannot create tokens: use your password or an unrestricted token",
        );
    }
    let request: TokenRequest = match body.iter().all(u8::is_ascii_whitespace) {
        true => TokenRequest::default(),
        false => match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return host_error(400, &format!("invalid token request: {e}")),
        },
    };
    let spec = match spec(request, &caller, now_millis()) {
        Ok(spec) => spec,
        Err(message) => return host_error(400, &message),
    };
    let user = caller.user.clone().unwrap_or_default();
    let issued = app.services.auth.issue_token(&user, &spec).await;
    if let Ok(issued) = &issued {
        let who = audit::actor(&caller, &client);
        let target = format!("token {} of user:{user}", issued.id);
        audit::record(&app, &who, "token-create", &target, 201).await;
    }
    match issued {
        Ok(issued) => (
            StatusCode::CREATED,
            Json(NewToken {
                token: issued.secret,
                id: issued.id,
                name: spec.name,
                expires_at: spec.expires_at,
            }),
        )
            .into_response(),
        Err(e) => host_error(500, &e.to_string()),
    }
}

/// The token a request asks for, within what the caller's token allows.
fn spec(request: TokenRequest, caller: &Caller, now: i64) -> Result<TokenSpec, String> {
    let requested = match (request.expires_in_days, request.expires_at) {
        (Some(_), Some(_)) => return Err("expires_in_days or expires_at, not both".into()),
        (Some(0), None) => return Err("expires_in_days is at least 1".into()),
        (Some(days), None) => Some(now + i64::from(days) * DAY_MS),
        (None, at) => at,
    };
    let ceiling = caller.api_token.as_ref().and_then(|t| t.expires_at);
    let expires_at = match (requested, ceiling) {
        (Some(at), Some(limit)) if at > limit => {
            return Err("a token cannot outlive the token that creates it".into());
        }
        (None, limit) => limit,
        (at, _) => at,
    };
    let spec = TokenSpec {
        name: request.name,
        expires_at,
        restrictions: Restrictions {
            read_only: request.read_only,
            repositories: request.repositories,
            packages: request.packages,
        },
    };
    spec.check(now)?;
    Ok(spec)
}

#[derive(Deserialize, IntoParams)]
pub struct Whose {
    /// Another user's tokens (admins only).
    user: Option<String>,
}

/// The caller's tokens, oldest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", params(Whose), responses(
    (status = 200, body = [TokenInfo]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "another user's tokens, not as an admin"),
    (status = 404, body = ErrorBody, description = "no such user"),
    (status = 429, body = ErrorBody, description = super::LOCKED_OUT),
))]
pub async fn list(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Query(whose): Query<Whose>,
) -> Response {
    let caller = match signed_in(&app, &headers, &client).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let auth = &app.services.auth;
    let own = caller.user.clone().unwrap_or_default();
    let user = whose.user.unwrap_or(own.clone());
    if user != own {
        if !auth.permits(&caller, Action::Admin) {
            return host_error(403, "only admins list others' tokens");
        }
        match auth.user_exists(&user).await {
            Ok(true) => {}
            Ok(false) => return host_error(404, &format!("there is no user {user}")),
            Err(e) => return host_error(503, &e.to_string()),
        }
    }
    match auth.list_tokens(Some(&user)).await {
        Ok(tokens) => Json(tokens).into_response(),
        Err(e) => host_error(503, &format!("tokens unavailable: {e}")),
    }
}

/// Revokes a token: the caller's own, or anyone's as an admin. The next
/// request with it is refused.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}",
    params(("id" = String, Path, description = "the token's public id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a restricted token revokes only itself"),
        (status = 404, body = ErrorBody, description = "no such token of yours"),
        (status = 429, body = ErrorBody, description = super::LOCKED_OUT),
    ))]
pub async fn revoke(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match signed_in(&app, &headers, &client).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let response = revoke_as(&app, &caller, &id).await;
    let who = audit::actor(&caller, &client);
    let status = response.status().as_u16();
    audit::record(&app, &who, "token-revoke", &format!("token {id}"), status).await;
    response
}

async fn revoke_as(app: &App, caller: &Caller, id: &str) -> Response {
    let auth = &app.services.auth;
    let itself = caller.api_token.as_ref().is_some_and(|t| t.id == id);
    if !itself && caller.restrictions().is_some() {
        return host_error(403, "a restricted token can revoke only itself");
    }
    let token = match auth.token(id).await {
        Ok(token) => token,
        Err(e) => return host_error(503, &format!("tokens unavailable: {e}")),
    };
    // Others' tokens are as unknown as missing ones, to all but admins.
    let theirs = token.is_some_and(|t| Some(&t.user) == caller.user.as_ref());
    if !theirs && !auth.permits(caller, Action::Admin) {
        return host_error(404, &format!("you have no token {id}"));
    }
    match auth.revoke_token(id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => host_error(404, &format!("there is no token {id}")),
        Err(e) => host_error(503, &format!("tokens unavailable: {e}")),
    }
}

/// A user, by password or API token: tokens belong to users.
async fn signed_in(app: &App, headers: &HeaderMap, client: &ClientIp) -> Result<Caller, Response> {
    let caller = caller(app, headers, client).await?;
    match caller.user.is_some() {
        true => Ok(caller),
        false => Err(unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::ApiToken;

    fn request(json: serde_json::Value) -> TokenRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn expiry_comes_from_days_or_a_time_and_never_outlives_the_creator() {
        let now = 1_000 * DAY_MS;
        let user = Caller {
            user: Some("alice".into()),
            ..Caller::default()
        };
        let days = spec(
            request(serde_json::json!({"expires_in_days": 2})),
            &user,
            now,
        );
        assert_eq!(days.unwrap().expires_at, Some(now + 2 * DAY_MS));
        let never = spec(TokenRequest::default(), &user, now).unwrap();
        assert_eq!(never.expires_at, None);
        for refused in [
            serde_json::json!({"expires_in_days": 1, "expires_at": now + 5}),
            serde_json::json!({"expires_in_days": 0}),
            serde_json::json!({"expires_at": now - 1}),
            serde_json::json!({"packages": []}),
        ] {
            assert!(
                spec(request(refused.clone()), &user, now).is_err(),
                "{refused}"
            );
        }
        assert!(serde_json::from_str::<TokenRequest>(r#"{"readonly": true}"#).is_err());

        let expiring = Caller {
            api_token: Some(Arc::new(ApiToken {
                id: "0123456789abcdef".into(),
                expires_at: Some(now + DAY_MS),
                restrictions: Restrictions::default(),
            })),
            ..user
        };
        let inherited = spec(TokenRequest::default(), &expiring, now).unwrap();
        assert_eq!(inherited.expires_at, Some(now + DAY_MS));
        let longer = request(serde_json::json!({"expires_in_days": 2}));
        assert!(spec(longer, &expiring, now).is_err());
    }
}
