//! The baseline: a minimal axum handler returning fixed bytes.
//! `baseline <file> <port>` serves the file's bytes as JSON at every path.

use axum::http::header;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let body: &'static [u8] = Box::leak(std::fs::read(&args[1])?.into_boxed_slice());
    let app = axum::Router::new()
        .fallback(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) });
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{}", args[2])).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
