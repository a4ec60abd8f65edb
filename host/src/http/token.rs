//! `GET /auth/token`: the token endpoint of the Docker registry auth flow.
//!
//! The caller authenticates with a password or an API token (or not at all),
//! never with a registry token: a short-lived token cannot be exchanged for
//! another, wider or later one. For each requested
//! `scope=repository:<name>:<actions>` the token grants the subset of
//! actions the caller's permissions allow on `<name>` of the OCI registry
//! (or on `<name>` of the OCI repository `<repo>` for `<repo>/<name>`, which
//! is served at `/v2/<repo>/`). The client then retries its request with
//! `Authorization: Bearer <token>`.

use super::{App, ClientIp, host_error, locked_out};
use crate::registry_token::{self, LIFETIME_SECS, REPOSITORY, ResourceAccess};
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
        // `<repo>/<name>`: a name of another OCI repository under `/v2/`.
        let mount = app.mounts.oci_repository(&name);
        let (repository, package) = match &mount {
            Some((mount, package)) => (mount.repo.name.as_str(), *package),
            None => (REPOSITORY, name.as_str()),
        };
        // One permission check per action, with all a finer model needs.
        let granted = registry_token::grant(&actions, |action| {
            auth.permits_on(&caller, action, repository, Some(package))
        });
        access.push(ResourceAccess {
            kind: "repository".into(),
            name,
            actions: granted,
        });
    }
    match auth.tokens.issue_for(&caller, REPOSITORY, access) {
        Ok(token) => Json(serde_json::json!({ "token": token, "access_token": token, "expires_in": LIFETIME_SECS })).into_response(),
        Err(e) => host_error(500, &e.to_string()),
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}
