//! Prometheus metrics, served at `/metrics`. Code records through the
//! `metrics` facade (`counter!`, `histogram!`); this module installs the
//! recorder and names what is recorded, so the list lives in one place.
//! Labels are bounded by configuration: repository, format, status code.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::time::Duration;

/// Requests answered by a repository, by `repo` and `status`.
pub const REQUESTS: &str = "wharf_http_requests_total";
/// Time until the response head, by `repo` (streamed bodies continue after).
pub const REQUEST_SECONDS: &str = "wharf_http_request_duration_seconds";
/// Rendered-document cache lookups, by `repo` and `result` (`hit`, `miss`).
pub const DOCUMENT_CACHE: &str = "wharf_document_cache_total";
/// Plugin calls that failed, by `format` and `kind` (trap, deadline, busy, …).
pub const PLUGIN_FAILURES: &str = "wharf_plugin_failures_total";
/// Stored blobs found corrupt or missing and quarantined (`wharf fsck`, scrub).
pub const CORRUPT_BLOBS: &str = "wharf_blobs_corrupt";
/// Plugin (re)loads, by `format` and `outcome` (`loaded`, `failed`).
pub const PLUGIN_LOADS: &str = "wharf_plugin_loads_total";
/// A proxy's upstream metadata lookups, by `repo` and `result` (`hit`:
/// answered from the cache; `fetched`: asked the upstream; `stale`: the
/// upstream failed, the last answer served; `error`).
pub const UPSTREAM_METADATA: &str = "wharf_upstream_metadata_total";
/// A proxy's artifact pulls, by `repo` and `result` (`fetched`, `refused`:
/// the upstream answered another status, `error`).
pub const UPSTREAM_PULLS: &str = "wharf_upstream_pulls_total";
/// Bytes of upstream artifacts stored, by `repo`.
pub const UPSTREAM_BYTES: &str = "wharf_upstream_bytes_total";
/// Versions removed by a retention rule, by `repo`.
pub const RETENTION_REMOVED: &str = "wharf_retention_removed_versions_total";
/// Garbage collections of this process, by `result` (`ok`, `busy`: another
/// run held the lease, `failed`).
pub const GC_RUNS: &str = "wharf_gc_runs_total";
/// Unreferenced blobs deleted by garbage collection, and their bytes.
pub const GC_RECLAIMED_BLOBS: &str = "wharf_gc_reclaimed_blobs_total";
pub const GC_RECLAIMED_BYTES: &str = "wharf_gc_reclaimed_bytes_total";

/// At most `max` bytes of an untrusted string for the log (cut at a
/// character boundary, marked): a 60 KB path must not become a 60 KB line.
pub fn bounded(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len()).into()
}

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide recorder before serving; later calls (several
/// in-process apps in one test binary) get the same one.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static INSTALLED: std::sync::Mutex<Option<PrometheusHandle>> = std::sync::Mutex::new(None);
    let mut installed = INSTALLED.lock().unwrap();
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), BUCKETS)?
        .install_recorder()?;
    *installed = Some(handle.clone());
    // Histograms are drained into their buckets by upkeep, not only on render.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_strings_are_cut_for_the_log() {
        assert_eq!(super::bounded("short", 10), "short");
        let cut = super::bounded("ééééé", 3);
        assert_eq!(cut, "é… (10 bytes)");
    }
}
