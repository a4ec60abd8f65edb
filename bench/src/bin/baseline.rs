//! The baseline: a minimal axum handler returning fixed bytes.
//! `baseline <file> <port> [name:value]...` serves the file's bytes at every
//! path, as JSON unless a `content-type` is given, with the given headers.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let body: &'static [u8] = Box::leak(std::fs::read(&args[1])?.into_boxed_slice());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for pair in &args[3..] {
        let (name, value) = pair.split_once(':').expect("name:value");
        headers.insert(
            HeaderName::try_from(name.trim())?,
            HeaderValue::try_from(value.trim())?,
        );
    }
    let app = axum::Router::new().fallback(move || async move { (headers, body) });
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{}", args[2])).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
