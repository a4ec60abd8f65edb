//! `/api/v1`: the admin and token API (JSON), described by OpenAPI at
//! `/api-docs` (utoipa derives the document from these handlers and types).

pub mod audit;
pub mod owners;
pub mod permissions;
pub mod repositories;
pub mod tokens;
pub mod users;

use super::{App, ClientIp, ErrorBody, host_error, locked_out};
use crate::auth::{Action, AuthError, Caller};
use crate::runtime::PluginStatus;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wharf admin API",
        description = "Users, teams, permissions, API tokens, repositories and the state of the format plugins. \
            Authenticate with Basic (user and password, or any user and an API token) \
            or `Bearer <token>`."
    ),
    paths(
        ready, plugins,
        tokens::create, tokens::list, tokens::revoke,
        users::list, users::create, users::update,
        users::teams, users::create_team, users::delete_team, users::add_member, users::remove_member,
        owners::list, owners::add, owners::remove,
        permissions::list, permissions::grant, permissions::revoke,
        repositories::list, repositories::get, repositories::create, repositories::update,
        repositories::delete, repositories::retention_plan, repositories::retention_apply,
        audit::list,
    ),
    modifiers(&Credentials),
    security(("basic" = []), ("bearer" = []))
)]
pub struct ApiDoc;

struct Credentials;

impl utoipa::Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, scheme) in [
            ("basic", HttpAuthScheme::Basic),
            ("bearer", HttpAuthScheme::Bearer),
        ] {
            components.add_security_scheme(name, SecurityScheme::Http(Http::new(scheme)));
        }
    }
}

/// The OpenAPI document of this API.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The caller of an API request: a password or an API token, never a
/// registry token (`authenticate` refuses those: 401), so a five-minute pull
/// token cannot mint a permanent API token.
async fn caller(app: &App, headers: &HeaderMap, client: &ClientIp) -> Result<Caller, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match app.services.auth.authenticate(auth, client.0).await {
        Ok(c) => Ok(c),
        Err(AuthError::Locked(locked)) => Err(locked_out(locked)),
        Err(_) => Err(unauthorized()),
    }
}

const LOCKED_OUT: &str = "too many failed logins of this account or from this address; `Retry-After` says when to try again";

fn unauthorized() -> Response {
    let mut r = host_error(401, "authentication required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Basic realm=\"wharf\"".parse().unwrap(),
    );
    r
}

async fn require(
    app: &App,
    headers: &HeaderMap,
    client: &ClientIp,
    action: Action,
) -> Result<Caller, Response> {
    let caller = caller(app, headers, client).await?;
    if caller.user.is_none() && action != Action::Read {
        return Err(unauthorized());
    }
    if !app.services.auth.permits(&caller, action) {
        return Err(host_error(403, "not allowed"));
    }
    // Restrictions speak of repositories and packages: a token that has
    // any changes no account or setting (`auth/tokens.rs`).
    if action != Action::Read && caller.restrictions().is_some() {
        return Err(host_error(403, "a restricted token only reads here"));
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

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// The formats being served.
    formats: Vec<String>,
}

/// Ready when the database answers and the plugin registry has been applied.
#[utoipa::path(get, path = "/ready", security(()), responses(
    (status = 200, body = Ready),
    (status = 503, body = ErrorBody, description = "the database does not answer"),
))]
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
    Json(Ready {
        formats: app.runtime.formats(),
    })
    .into_response()
}

/// Loaded plugins: name, version, content hash, load time, last error.
#[utoipa::path(get, path = "/api/v1/plugins", responses(
    (status = 200, body = [PluginStatus]),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "admins only"),
    (status = 429, body = ErrorBody, description = LOCKED_OUT),
))]
pub async fn plugins(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
) -> Response {
    match require(&app, &headers, &client, Action::Admin).await {
        Ok(_) => Json(app.runtime.status()).into_response(),
        Err(r) => r,
    }
}
