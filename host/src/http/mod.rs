//! The HTTP surface: probes, the admin API, and every repository.

mod api;
mod blob;
mod compression;
pub(crate) mod encoding;
mod repo;
pub mod server;
mod token;

use crate::runtime::Runtime;
use crate::services::Services;
use axum::Router;
use axum::routing::{delete, get, patch, post, put};
pub use repo::Mounts;
use std::sync::Arc;

pub struct App {
    pub services: Arc<Services>,
    pub runtime: Arc<Runtime>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub mounts: Mounts,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(api::ready))
        .route("/metrics", get(api::metrics))
        .route("/api-docs", get(api::openapi))
        .route("/api/v1/plugins", get(api::plugins))
        .route(
            "/api/v1/tokens",
            post(api::tokens::create).get(api::tokens::list),
        )
        .route("/api/v1/tokens/{id}", delete(api::tokens::revoke))
        .route(
            "/api/v1/users",
            get(api::users::list).post(api::users::create),
        )
        .route("/api/v1/users/{name}", patch(api::users::update))
        .route(
            "/api/v1/teams",
            get(api::users::teams).post(api::users::create_team),
        )
        .route("/api/v1/teams/{team}", delete(api::users::delete_team))
        .route(
            "/api/v1/teams/{team}/members/{user}",
            put(api::users::add_member).delete(api::users::remove_member),
        )
        .route("/api/v1/audit", get(api::audit::list))
        .route(
            "/api/v1/owners",
            get(api::owners::list)
                .put(api::owners::add)
                .delete(api::owners::remove),
        )
        .route(
            "/api/v1/permissions",
            get(api::permissions::list).post(api::permissions::grant),
        )
        .route("/api/v1/permissions/{id}", delete(api::permissions::revoke))
        .route(
            "/api/v1/repositories",
            get(api::repositories::list).post(api::repositories::create),
        )
        .route(
            "/api/v1/repositories/{name}",
            get(api::repositories::get)
                .patch(api::repositories::update)
                .delete(api::repositories::delete),
        )
        .route(
            "/api/v1/repositories/{name}/retention",
            get(api::repositories::retention_plan).post(api::repositories::retention_apply),
        )
        .route(crate::registry_token::ENDPOINT, get(token::issue))
        // Repository documents are compressed once and cached (`encoding`).
        .route_layer(compression::layer())
        .fallback(repo::dispatch)
        .with_state(app)
}

/// The body of errors the host answers itself.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: String,
}

/// The client's IP address: the TCP peer's. A proxy's forwarded header is
/// not trusted (any client could send one); behind a proxy every client
/// shares the proxy's address. Absent when the router is called without
/// the accept loop (in-process tests).
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl ClientIp {
    fn of(extensions: &axum::http::Extensions) -> ClientIp {
        let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        ClientIp(peer.map(|c| c.0.ip()))
    }
}

impl<S: Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// 429 for a login refused by the backoff, with when to try again.
fn locked_out(locked: crate::auth::backoff::Locked) -> axum::response::Response {
    let message = crate::auth::AuthError::Locked(locked).to_string();
    let mut r = host_error(429, &message);
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        locked.retry_after_secs().into(),
    );
    r
}

/// A JSON error for requests no plugin answers.
pub fn host_error(status: u16, message: &str) -> axum::response::Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = ErrorBody {
        error: message.to_string(),
    };
    (status, axum::Json(body)).into_response()
}

use axum::response::IntoResponse;
