//! `log`: plugin messages in the host's log, tagged with the plugin.

use super::StoreData;
use crate::runtime::bindings::v0_3::wharf::plugin::log as wit;

/// Longest message kept from a plugin: it may echo what a client sent.
const MAX_MESSAGE: usize = 4096;

impl wit::Host for StoreData {
    async fn log(&mut self, level: wit::Level, message: String) -> wasmtime::Result<()> {
        let plugin = self
            .scope
            .as_ref()
            .map(|s| s.plugin.as_str())
            .unwrap_or("?");
        let message = crate::telemetry::bounded(&message, MAX_MESSAGE);
        match level {
            wit::Level::Trace => tracing::trace!(plugin, "{message}"),
            wit::Level::Debug => tracing::debug!(plugin, "{message}"),
            wit::Level::Info => tracing::info!(plugin, "{message}"),
            wit::Level::Warn => tracing::warn!(plugin, "{message}"),
            wit::Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}
