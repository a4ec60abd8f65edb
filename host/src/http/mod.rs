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
use axum::routing::{delete, get, post};
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
        .route("/api/v1/users", post(api::create_user))
        .route(
            "/api/v1/owners",
            get(api::owners::list)
                .put(api::owners::add)
                .delete(api::owners::remove),
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
