//! `wharf fsck`: every stored blob checked against its BLAKE3 address (what
//! fails is quarantined, `store/scrub.rs`), and every catalog asset against
//! the store; a progress bar when a person watches. The background scrubber
//! does the same a little at a time while serving.

use crate::services::Services;
use crate::store::scrub::Health;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Report {
    pub checked: u64,
    pub bytes: u64,
    pub corrupt: Vec<String>,
    pub missing: Vec<String>,
    pub dangling_assets: i64,
}

impl Report {
    pub fn clean(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty() && self.dangling_assets == 0
    }
}

pub async fn run(services: &Services) -> anyhow::Result<Report> {
    let blobs = &services.blobs;
    let total = blobs.bytes_in_service().await?;
    let bar = match std::io::stderr().is_terminal() {
        true => indicatif::ProgressBar::new(total as u64),
        false => indicatif::ProgressBar::hidden(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .expect("a valid template"),
    );
    let mut report = Report::default();
    let mut after = String::new();
    loop {
        let page = blobs.page(&after, 500).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (blake3, size) in page {
            match blobs.scrub(&blake3, 0).await? {
                Health::Sound => {}
                Health::Corrupt => report.corrupt.push(blake3),
                Health::Missing => report.missing.push(blake3),
            }
            report.checked += 1;
            report.bytes += size as u64;
            bar.inc(size as u64);
        }
    }
    bar.finish_and_clear();
    report.dangling_assets = blobs.dangling_assets().await?;
    Ok(report)
}

/// Checks the least recently checked blobs forever, at most
/// `bytes_per_sec`, and keeps the corrupt-blob gauge current.
pub fn spawn_scrubber(services: Arc<Services>, bytes_per_sec: u64) {
    if bytes_per_sec == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            let due = services.blobs.due_for_scrub(100).await.unwrap_or_default();
            for (blake3, _) in &due {
                if let Err(e) = services.blobs.scrub(blake3, bytes_per_sec).await {
                    tracing::warn!(error = %e, "scrubbing a blob failed");
                }
            }
            if let Ok(corrupt) = services.blobs.corrupt_count().await {
                metrics::gauge!(crate::telemetry::CORRUPT_BLOBS).set(corrupt as f64);
            }
            // Everything was just checked, or nothing is stored: rest.
            let pause = match due.len() < 100 {
                true => Duration::from_secs(60),
                false => Duration::from_millis(100),
            };
            tokio::time::sleep(pause).await;
        }
    });
}
