//! `GET /auth/token`: the token endpoint of the Docker registry auth flow.
//!
//! The caller authenticates as anywhere else (or not at all); for each
//! requested `scope=repository:<name>:<actions>` the token grants the subset
//! of actions the caller's permissions allow. The client then retries its
//! request with `Authorization: Bearer <token>`.

use super::{App, ClientIp, host_error, locked_out};
use crate::registry_token::{self, LIFETIME_SECS, ResourceAccess};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn issue(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let auth = &app.services.auth;
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = match auth.authenticate(credentials, client.0).await {
        Ok(caller) => caller,
        Err(crate::auth::AuthError::Locked(locked)) => return locked_out(locked),
        Err(_) => {
            let mut r = host_error(401, "invalid credentials");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wharf\""),
            );
            return r;
        }
    };
    let mut access = Vec::new();
    let scopes = query
        .iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("scope="));
    for scope in scopes.flat_map(|s| decode(s).split(' ').map(str::to_string).collect::<Vec<_>>()) {
        let Some((name, actions)) = registry_token::parse_scope(&scope) else {
            continue;
        };
        let granted: Vec<String> = actions
            .into_iter()
            .filter(|a| registry_token::action(a).is_some_and(|act| auth.permits(&caller, act)))
            .collect();
        access.push(ResourceAccess {
            kind: "repository".into(),
            name,
            actions: granted,
        });
    }
    match auth.tokens.issue(caller.user.as_deref(), access) {
        Ok(token) => Json(serde_json::json!({ "token": token, "access_token": token, "expires_in": LIFETIME_SECS })).into_response(),
        Err(e) => host_error(500, &e.to_string()),
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}
