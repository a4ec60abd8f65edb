//! The request pipeline in-process (tower `oneshot` on the router, as axum's
//! examples test): the contract's rules checked against the real host and
//! real plugin builds, without a server process.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;
use wharf::config::Settings;
use wharf::http::App;

const ADMIN_PASSWORD: &str = "in-process-admin";

/// A built plugin component (`cargo xtask plugins` makes them).
fn plugin(format: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("plugins").join(format!("{format}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test`",
        path.display()
    );
    path
}

struct Host {
    app: Arc<App>,
    dir: tempfile::TempDir,
}

impl Host {
    async fn start(formats: &[&str]) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let registry: String = formats
            .iter()
            .map(|f| format!("[[plugin]]\nformat = \"{f}\"\npath = {:?}\n", plugin(f)))
            .collect();
        let registry_path = dir.path().join("plugin-registry.toml");
        std::fs::write(&registry_path, registry).unwrap();
        let settings = Settings {
            data_dir: dir.path().join("data"),
            plugin_registry: registry_path,
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Settings::default()
        };
        let app = wharf::app(&settings).await.unwrap();
        assert_eq!(app.runtime.formats().len(), formats.len());
        Host { app, dir }
    }

    async fn send(&self, method: &str, path: &str, admin: bool) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(path);
        if admin {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
            request = request.header("authorization", format!("Basic {basic}"));
        }
        let router = wharf::http::router(self.app.clone());
        let response = router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Makes every catalog read and write fail, as a database outage would.
    async fn break_catalog(&self) {
        let db = self.dir.path().join("data/wharf.sqlite");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        for table in ["versions", "assets", "tags", "package_kv"] {
            sqlx::query(&format!("ALTER TABLE {table} RENAME TO {table}_gone"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn the_route_bounds_every_write_of_the_request() {
    let host = Host::start(&["faulty"]).await;
    let (status, body) = host.send("GET", "/faulty/sneaky-publish", true).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("route does not allow"), "{body}");
    assert_eq!(host.send("GET", "/faulty/sneaky-store", true).await.0, 403);
    let other = host
        .send("POST", "/faulty/publish/mine/as/theirs", true)
        .await;
    assert_eq!(other.0, 403, "{}", other.1);
    assert_eq!(host.send("GET", "/faulty/has/theirs", false).await.1, "no");
    // A blob no request stored and no asset serves cannot be published.
    let unknown = format!("/faulty/publish/second/with/{}", "ab".repeat(32));
    assert_eq!(host.send("POST", &unknown, true).await.0, 403);
    let own = host
        .send("POST", "/faulty/publish/mine/as/mine", true)
        .await;
    assert_eq!(own.0, 200, "{}", own.1);
    assert_eq!(host.send("GET", "/faulty/has/mine", false).await.1, "yes");
}

#[tokio::test]
async fn a_plugins_status_and_headers_are_not_trusted() {
    let host = Host::start(&["faulty"]).await;
    let request = Request::get("/faulty/bad-reply")
        .body(Body::empty())
        .unwrap();
    let response = wharf::http::router(host.app.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-fine"], "kept");
    assert!(!response.headers().contains_key("bad name"));
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"x", "the host frames the body, not the plugin");
}

#[tokio::test]
async fn a_store_error_is_a_503_in_the_formats_shape_never_absent() {
    let host = Host::start(&["faulty", "npm", "cargo"]).await;
    assert_eq!(
        host.send("POST", "/faulty/publish/mine/as/mine", true)
            .await
            .0,
        200
    );
    host.break_catalog().await;

    let (status, body) = host.send("GET", "/faulty/has/mine", false).await;
    assert_eq!(status, 503, "{body}");
    // npm's shape: {"error": …}, for a package that may well exist.
    let (status, body) = host.send("GET", "/npm/left-pad", false).await;
    assert_eq!(status, 503, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["error"].is_string(), "{body}");
    // cargo's shape: {"errors": [{"detail": …}]}.
    let (status, body) = host.send("GET", "/cargo/3/s/syn", false).await;
    assert_eq!(status, 503, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["errors"][0]["detail"].is_string(), "{body}");
}
