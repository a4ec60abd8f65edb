//! `plugin-registry.toml`: which format components are enabled, where their
//! `.wasm` is, and the limits and grants of each.
//!
//! ```toml
//! [defaults]
//! memory = "128MiB"
//! timeout = "30s"
//!
//! [[plugin]]
//! format = "npm"
//! path = "target/plugins/npm.wasm"   # relative to this file
//! memory = "64MiB"
//! ```

use crate::config::{parse_duration, parse_size};
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Limits,
    #[serde(default)]
    plugin: Vec<Entry>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Limits {
    memory: Option<String>,
    timeout: Option<String>,
    read_limit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    format: String,
    path: PathBuf,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(flatten)]
    limits: Limits,
    /// Upstream hosts (`host:port`) the plugin may reach through the host.
    #[serde(default)]
    upstream: Vec<String>,
    /// Signing key ids the plugin may use.
    #[serde(default)]
    signing_keys: Vec<String>,
    /// Who kept package owners (`owners = "plugin"` was cargo's) before the
    /// host kept them for every format. Read so that an older file still
    /// loads, and ignored with a warning.
    #[serde(default)]
    owners: Option<String>,
}

fn yes() -> bool {
    true
}

/// What the operator allows one plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub memory_bytes: u64,
    pub timeout: Duration,
    /// Bytes a plugin may read into its memory per request (bodies, upstream).
    pub read_limit: u64,
    pub upstream: Vec<String>,
    pub signing_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    pub format: String,
    pub path: PathBuf,
    pub policy: Policy,
}

/// The enabled plugins of a registry file, in file order.
pub fn load(path: &Path) -> anyhow::Result<Vec<PluginSpec>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut specs = Vec::new();
    for entry in file.plugin.into_iter().filter(|e| e.enabled) {
        let limit = |own: &Option<String>, default: &Option<String>| {
            own.clone().or_else(|| default.clone())
        };
        let policy = Policy {
            memory_bytes: parse_size(
                &limit(&entry.limits.memory, &file.defaults.memory).unwrap_or("128MiB".into()),
            )?,
            timeout: parse_duration(
                &limit(&entry.limits.timeout, &file.defaults.timeout).unwrap_or("30s".into()),
            )?,
            read_limit: parse_size(
                &limit(&entry.limits.read_limit, &file.defaults.read_limit)
                    .unwrap_or("64MiB".into()),
            )?,
            upstream: entry.upstream,
            signing_keys: entry.signing_keys,
        };
        if let Some(kept_by) = &entry.owners {
            tracing::warn!(
                format = %entry.format,
                owners = %kept_by,
                "`owners` in the plugin registry is no longer used: the host keeps every format's owners"
            );
        }
        if specs.iter().any(|s: &PluginSpec| s.format == entry.format) {
            anyhow::bail!(
                "format {:?} is enabled twice in {}",
                entry.format,
                path.display()
            );
        }
        specs.push(PluginSpec {
            format: entry.format,
            path: base.join(entry.path),
            policy,
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_and_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plugin-registry.toml");
        std::fs::write(
            &file,
            "[defaults]\nmemory = \"32MiB\"\n\n[[plugin]]\nformat = \"npm\"\npath = \"p/npm.wasm\"\ntimeout = \"2s\"\n\n[[plugin]]\nformat = \"off\"\npath = \"x.wasm\"\nenabled = false\n",
        )
        .unwrap();
        let specs = load(&file).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].path, dir.path().join("p/npm.wasm"));
        assert_eq!(specs[0].policy.memory_bytes, 32 << 20);
        assert_eq!(specs[0].policy.timeout, Duration::from_secs(2));
    }

    #[test]
    fn a_file_from_before_host_owners_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plugin-registry.toml");
        std::fs::write(
            &file,
            "[[plugin]]\nformat = \"cargo\"\npath = \"cargo.wasm\"\nowners = \"plugin\"\n",
        )
        .unwrap();
        assert_eq!(load(&file).unwrap()[0].format, "cargo");
    }
}
