//! The client and the pull-through against an upstream on loopback.

use super::*;
use crate::store::blobs::BlobStore;
use crate::store::digest::Want;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const BIG: usize = 8 << 20;

/// Deterministic, incompressible-looking bytes.
fn big() -> Vec<u8> {
    (0..BIG as u64)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[derive(Default)]
struct Counts {
    big: AtomicUsize,
    token: AtomicUsize,
}

/// An upstream on 127.0.0.1: a large artifact sent slowly, a missing
/// one, one behind the registry token flow, and a redirect elsewhere.
async fn upstream() -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let realm = format!("{base}/token");
    let app = axum::Router::new()
        .route(
            "/big",
            axum::routing::get(|State(counts): State<Arc<Counts>>| async move {
                counts.big.fetch_add(1, Ordering::SeqCst);
                // Slow enough that every client asks while it is under way.
                let chunks = big()
                    .chunks(256 << 10)
                    .map(Bytes::copy_from_slice)
                    .collect::<Vec<_>>();
                let body = futures::stream::iter(chunks).then(|chunk| async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok::<_, std::convert::Infallible>(chunk)
                });
                (
                    [(header::CONTENT_LENGTH, BIG.to_string())],
                    axum::body::Body::from_stream(body),
                )
            }),
        )
        .route(
            "/missing",
            axum::routing::get(|| async { StatusCode::NOT_FOUND }),
        )
        .route(
            "/private",
            axum::routing::get(move |headers: HeaderMap| {
                let realm = realm.clone();
                async move {
                    let auth = headers.get(header::AUTHORIZATION);
                    if auth.is_some_and(|a| a == "Bearer good") {
                        return "private bytes".into_response();
                    }
                    let challenge = format!(
                        r#"Bearer realm="{realm}",service="test",scope="repository:x:pull""#
                    );
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, challenge)],
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/token",
            axum::routing::get(
                |State(counts): State<Arc<Counts>>,
                 Query(q): Query<HashMap<String, String>>,
                 headers: HeaderMap| async move {
                    counts.token.fetch_add(1, Ordering::SeqCst);
                    // "ci:pw", as the repository's credentials say.
                    let basic = headers.get(header::AUTHORIZATION);
                    let right = q.get("service").map(String::as_str) == Some("test")
                        && q.get("scope").map(String::as_str) == Some("repository:x:pull")
                        && basic.is_some_and(|b| b == "Basic Y2k6cHc=");
                    match right {
                        true => axum::Json(serde_json::json!({"token": "good", "expires_in": 300}))
                            .into_response(),
                        false => StatusCode::UNAUTHORIZED.into_response(),
                    }
                },
            ),
        )
        .route(
            "/elsewhere",
            axum::routing::get(move || async move {
                let to = format!("http://localhost:{port}/big");
                Response::builder()
                    .status(302)
                    .header(header::LOCATION, to)
                    .body(axum::body::Body::empty())
                    .unwrap()
            }),
        )
        .with_state(counts.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, counts)
}

/// Only the loopback address the upstream was started on.
fn loopback_only(url: &reqwest::Url) -> bool {
    url.host_str() == Some("127.0.0.1")
}

async fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let blobs = BlobStore::local(&dir.path().join("blobs"), db).unwrap();
    (dir, blobs)
}

fn ask(client: &Arc<Client>, url: String) -> Ask {
    let client = client.clone();
    Box::pin(async move {
        client
            .get(
                &url,
                &reqwest::header::HeaderMap::new(),
                None,
                &loopback_only,
            )
            .await
    })
}

async fn collect(mut pulled: Pulled) -> Result<Vec<u8>, std::io::Error> {
    let mut all = Vec::new();
    while let Some(chunk) = pulled.body.next().await {
        all.extend_from_slice(&chunk?);
    }
    Ok(all)
}

fn temp_files(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join("blobs/tmp"))
        .unwrap()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_fetch_once_and_all_get_the_bytes() {
    let (base, counts) = upstream().await;
    let (dir, blobs) = store().await;
    let pull = Arc::new(PullThrough::new(blobs.clone(), 1 << 30));
    let client = Arc::new(Client::new(&Options::default()).unwrap());
    let expected = big();
    let expect_sha = sha256(&expected);
    let mut clients = Vec::new();
    for _ in 0..20 {
        let (pull, client, url, sha) = (
            pull.clone(),
            client.clone(),
            format!("{base}/big"),
            expect_sha.clone(),
        );
        clients.push(tokio::spawn(async move {
            let pulled = pull
                .pull(
                    "repo big",
                    Want::default(),
                    vec![(Algorithm::Sha256, sha)],
                    || ask(&client, url),
                )
                .await
                .unwrap();
            assert_eq!(pulled.length, Some(BIG as u64));
            collect(pulled).await.unwrap()
        }));
    }
    for client in clients {
        assert!(
            client.await.unwrap() == expected,
            "a client got other bytes"
        );
    }
    assert_eq!(counts.big.load(Ordering::SeqCst), 1, "one upstream fetch");
    let blake3 = blake3::hash(&expected).to_hex().to_string();
    let info = blobs.info(&blake3).await.unwrap().expect("stored");
    assert_eq!(info.sha256.as_deref(), Some(expect_sha.as_str()));
    assert_eq!(temp_files(&dir), 0);
}

#[tokio::test]
async fn a_wrong_digest_fails_the_clients_and_keeps_nothing() {
    let (base, counts) = upstream().await;
    let (dir, blobs) = store().await;
    let pull = PullThrough::new(blobs.clone(), 1 << 30);
    let client = Arc::new(Client::new(&Options::default()).unwrap());
    let wrong = vec![(Algorithm::Sha256, sha256(b"something else"))];
    for attempt in 1..=2 {
        let pulled = pull
            .pull("k", Want::default(), wrong.clone(), || {
                ask(&client, format!("{base}/big"))
            })
            .await
            .unwrap();
        let mut received = 0;
        let mut body = pulled.body;
        let error = loop {
            match body.next().await.expect("an error before the end") {
                Ok(chunk) => received += chunk.len(),
                Err(e) => break e,
            }
        };
        assert!(
            error.to_string().contains("not the promised one"),
            "{error}"
        );
        // The client never held all of it.
        assert!(received < big().len());
        // Not cached: the next request asks the upstream again.
        assert_eq!(counts.big.load(Ordering::SeqCst), attempt);
    }
    let blake3 = blake3::hash(&big()).to_hex().to_string();
    assert!(blobs.info(&blake3).await.unwrap().is_none());
    assert_eq!(temp_files(&dir), 0);
}

#[tokio::test]
async fn an_upstream_refusal_is_its_status_and_is_not_kept() {
    let (base, _) = upstream().await;
    let (_dir, blobs) = store().await;
    let pull = PullThrough::new(blobs, 1 << 30);
    let client = Arc::new(Client::new(&Options::default()).unwrap());
    for _ in 0..2 {
        let refused = pull
            .pull("missing", Want::default(), Vec::new(), || {
                ask(&client, format!("{base}/missing"))
            })
            .await
            .err();
        assert_eq!(refused, Some(Refusal::Status(404)));
    }
    // Too large by its Content-Length: refused before a byte is stored.
    let small = PullThrough::new(store().await.1, 1024);
    let refused = small
        .pull("big", Want::default(), Vec::new(), || {
            ask(&client, format!("{base}/big"))
        })
        .await
        .err();
    assert!(
        matches!(refused, Some(Refusal::Error(FetchError::Protocol(ref m))) if m.contains("larger")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_registry_token_flow_runs_once_per_token() {
    let (base, counts) = upstream().await;
    let client = Client::new(&Options::default()).unwrap();
    let credentials = Credentials::Basic {
        username: "ci".into(),
        password: "pw".into(),
    };
    let none = reqwest::header::HeaderMap::new();
    for _ in 0..3 {
        let response = client
            .get(
                &format!("{base}/private"),
                &none,
                Some(&credentials),
                &loopback_only,
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "private bytes");
    }
    assert_eq!(counts.token.load(Ordering::SeqCst), 1, "the token is kept");
    // Without the repository's credentials the realm refuses: the 401
    // becomes an error that names no secret.
    let error = client
        .get(&format!("{base}/private"), &none, None, &loopback_only)
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Protocol(_)), "{error:?}");
}

#[tokio::test]
async fn redirects_and_realms_reach_granted_hosts_only() {
    let (base, counts) = upstream().await;
    let client = Client::new(&Options::default()).unwrap();
    let none = reqwest::header::HeaderMap::new();
    let error = client
        .get(&format!("{base}/elsewhere"), &none, None, &loopback_only)
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::NotGranted(ref h) if h.starts_with("localhost:")));
    assert_eq!(counts.big.load(Ordering::SeqCst), 0);
    let error = client
        .get(&format!("{base}/private"), &none, None, &|_| false)
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::NotGranted(_)));
    // A closed port is a connection error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = client
        .get(
            &format!("http://127.0.0.1:{port}/x"),
            &none,
            None,
            &loopback_only,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Connect(_)), "{error:?}");
}

/// An upstream whose one document changes version on demand, answers 304
/// to its own ETag, or fails.
struct Changing {
    version: AtomicUsize,
    /// 0: serve; 1: 500; 2: 404.
    mode: AtomicUsize,
    asked: AtomicUsize,
    revalidated: AtomicUsize,
}

async fn changing_upstream() -> (String, Arc<Changing>) {
    let state = Arc::new(Changing {
        version: AtomicUsize::new(1),
        mode: AtomicUsize::new(0),
        asked: AtomicUsize::new(0),
        revalidated: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let app = axum::Router::new()
        .route(
            "/doc",
            axum::routing::get(
                |State(s): State<Arc<Changing>>, headers: HeaderMap| async move {
                    s.asked.fetch_add(1, Ordering::SeqCst);
                    match s.mode.load(Ordering::SeqCst) {
                        1 => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                        2 => return StatusCode::NOT_FOUND.into_response(),
                        _ => {}
                    }
                    let version = s.version.load(Ordering::SeqCst);
                    let etag = format!("\"v{version}\"");
                    if headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v == etag.as_str())
                    {
                        s.revalidated.fetch_add(1, Ordering::SeqCst);
                        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
                    }
                    (
                        [
                            (header::ETAG, etag),
                            (header::CONTENT_TYPE, "application/json".into()),
                        ],
                        format!("{{\"version\": {version}}}"),
                    )
                        .into_response()
                },
            ),
        )
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("{base}/doc"), state)
}

fn conditional(url: &str) -> AskConditionally {
    let client = Arc::new(Client::new(&Options::default()).unwrap());
    let url = url.to_string();
    Box::new(move |headers| {
        let (client, url) = (client.clone(), url.clone());
        Box::pin(async move { client.get(&url, &headers, None, &loopback_only).await })
    })
}

async fn metadata_cache() -> (tempfile::TempDir, BlobStore, MetadataCache) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let blobs = BlobStore::local(&dir.path().join("blobs"), db.clone()).unwrap();
    let cache = MetadataCache::new(db, blobs.clone(), 1 << 20);
    (dir, blobs, cache)
}

async fn body(blobs: &BlobStore, cached: &Cached) -> String {
    let blake3 = cached.blake3.as_deref().expect("a body");
    let size = blobs.info(blake3).await.unwrap().unwrap().size;
    String::from_utf8(blobs.read_range(blake3, 0..size).await.unwrap().to_vec()).unwrap()
}

const LONG: Ttl = Ttl {
    fresh: Duration::from_secs(60),
    negative: Duration::from_secs(60),
};
const NONE: Ttl = Ttl {
    fresh: Duration::ZERO,
    negative: Duration::ZERO,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_metadata_is_not_asked_for_and_concurrent_misses_ask_once() {
    let (url, upstream) = changing_upstream().await;
    let (_dir, blobs, cache) = metadata_cache().await;
    let cache = Arc::new(cache);
    let asks: Vec<_> = (0..10)
        .map(|_| {
            let (cache, url) = (cache.clone(), url.clone());
            tokio::spawn(async move { cache.get("proxy", &url, LONG, conditional(&url)).await })
        })
        .collect();
    for ask in asks {
        let cached = ask.await.unwrap().unwrap();
        assert_eq!((cached.status, cached.stale), (200, false));
        assert_eq!(body(&blobs, &cached).await, r#"{"version": 1}"#);
        assert_eq!(cached.content_type.as_deref(), Some("application/json"));
    }
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 1);
    // Another repository has its own entry.
    cache
        .get("other", &url, LONG, conditional(&url))
        .await
        .unwrap();
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn after_the_ttl_the_upstreams_validators_decide() {
    let (url, upstream) = changing_upstream().await;
    let (_dir, blobs, cache) = metadata_cache().await;
    let first = cache
        .get("proxy", &url, NONE, conditional(&url))
        .await
        .unwrap();
    // Unchanged: a 304, the same body.
    let again = cache
        .get("proxy", &url, NONE, conditional(&url))
        .await
        .unwrap();
    assert_eq!(upstream.revalidated.load(Ordering::SeqCst), 1);
    assert_eq!(again.blake3, first.blake3);
    assert!(
        again.fetched_at >= first.fetched_at,
        "fresh again from the 304"
    );
    // A new version upstream shows at the next revalidation.
    upstream.version.store(2, Ordering::SeqCst);
    let changed = cache
        .get("proxy", &url, NONE, conditional(&url))
        .await
        .unwrap();
    assert_eq!(body(&blobs, &changed).await, r#"{"version": 2}"#);
}

#[tokio::test]
async fn a_failing_upstream_leaves_the_last_answer_served_stale() {
    let (url, upstream) = changing_upstream().await;
    let (_dir, blobs, cache) = metadata_cache().await;
    let ttl = Ttl {
        fresh: Duration::ZERO,
        negative: Duration::from_secs(60),
    };
    cache
        .get("proxy", &url, ttl, conditional(&url))
        .await
        .unwrap();
    upstream.mode.store(1, Ordering::SeqCst);
    for _ in 0..3 {
        let stale = cache
            .get("proxy", &url, ttl, conditional(&url))
            .await
            .unwrap();
        assert_eq!((stale.status, stale.stale), (200, true));
        assert_eq!(body(&blobs, &stale).await, r#"{"version": 1}"#);
    }
    // Asked once after the failure, then left alone for the negative TTL.
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 2);
    // With nothing cached, a failure is a 502, not kept past its TTL.
    let fresh_key = format!("{url}?other");
    let failed = cache
        .get("proxy", &fresh_key, NONE, conditional(&url))
        .await
        .unwrap();
    assert_eq!((failed.status, failed.blake3.is_none()), (502, true));
    upstream.mode.store(0, Ordering::SeqCst);
    let recovered = cache
        .get("proxy", &fresh_key, NONE, conditional(&url))
        .await
        .unwrap();
    assert_eq!(recovered.status, 200);
}

#[tokio::test]
async fn a_404_is_remembered_for_the_negative_ttl_only() {
    let (url, upstream) = changing_upstream().await;
    let (_dir, _blobs, cache) = metadata_cache().await;
    upstream.mode.store(2, Ordering::SeqCst);
    let short = Ttl {
        fresh: Duration::from_secs(60),
        negative: Duration::from_millis(300),
    };
    let missing = cache
        .get("proxy", &url, short, conditional(&url))
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    upstream.mode.store(0, Ordering::SeqCst);
    let cached = cache
        .get("proxy", &url, short, conditional(&url))
        .await
        .unwrap();
    assert_eq!(cached.status, 404, "within the negative TTL");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let found = cache
        .get("proxy", &url, short, conditional(&url))
        .await
        .unwrap();
    assert_eq!(found.status, 200, "published upstream meanwhile");
}
