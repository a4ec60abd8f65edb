//! The accept loop: hyper's HTTP/1.1 with the bounds `axum::serve` does not
//! set. (Only HTTP/1.1: package managers speak it over plain HTTP, and
//! sniffing for cleartext HTTP/2 would wait on a silent socket untimed.) A client has `header_timeout` to send each
//! request's headers, which is also how long an idle keep-alive connection
//! stays open; connections are capped (within the open-file limit); past the
//! cap a few more are accepted to answer the probes (`/health`, `/ready`,
//! `/metrics`) and refuse everything else with 503, so a flood of idle
//! sockets leaves the server observable. Each request carries its peer's
//! address (axum's `ConnectInfo`), which the login backoff counts by.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// Connections beyond the cap that may still ask for a probe, and how long
/// each has to do so: idle sockets must not keep the probes out for long.
const PROBE_CONNECTIONS: usize = 64;
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// File descriptors kept for the database, blobs and plugins.
const RESERVED_FILES: u64 = 128;
/// How long a shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let max = limits.max_connections.min(open_file_budget());
    let full = Arc::new(Semaphore::new(max));
    let probes = Arc::new(Semaphore::new(PROBE_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: let some close.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small answers go out at once instead of waiting for the client's
        // delayed ACK (Nagle): ~40 ms per keep-alive request otherwise.
        let _ = tcp.set_nodelay(true);
        let (permit, probes_only) = match full.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => match probes.clone().try_acquire_owned() {
                Ok(permit) => (permit, true),
                Err(_) => continue, // dropped: closed at once
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let router = router.clone();
            async move {
                if probes_only && !is_probe(request.uri().path()) {
                    return Ok::<_, std::convert::Infallible>(at_capacity());
                }
                request.extensions_mut().insert(ConnectInfo(peer));
                router.oneshot(request.map(Body::new)).await
            }
        });
        let header_timeout = match probes_only {
            true => limits.header_timeout.min(PROBE_HEADER_TIMEOUT),
            false => limits.header_timeout,
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(!probes_only)
            .serve_connection(TokioIo::new(tcp), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

fn is_probe(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

fn at_capacity() -> Response<Body> {
    let mut response = Response::new(Body::from(
        r#"{"error":"the server is at its connection limit; try again shortly"}"#,
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Connections the open-file limit allows once the soft limit is raised to
/// the hard one (as Go's runtime does), minus what the server itself needs.
fn open_file_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return usize::MAX;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                ..limit
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX)
}
