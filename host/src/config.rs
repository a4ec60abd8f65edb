//! Settings: embedded defaults < `wharf.toml` < `WHARF_*` variables < flags.
//!
//! Flags and variables come from clap (every flag has its variable); the file
//! is read underneath them. The four names scripts rely on are fixed:
//! `WHARF_LISTEN`, `WHARF_DATA_DIR`, `WHARF_CONFIG`, `WHARF_ADMIN_PASSWORD`.

use anyhow::Context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Default, Clone)]
pub struct Overrides {
    /// Database: `postgres://user:password@host/db`, or `sqlite://path` [default: sqlite in the data directory]
    #[arg(
        long,
        env = "WHARF_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Where blobs are stored: `file:///path` (a directory every node shares) [default: objects/ in the data directory]
    #[arg(long, env = "WHARF_BLOB_STORE", global = true)]
    pub blob_store: Option<String>,
    /// Database connections this node keeps at most [default: 16]
    #[arg(long, env = "WHARF_DATABASE_MAX_CONNECTIONS", global = true)]
    pub database_max_connections: Option<u32>,
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "WHARF_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Directory for the database, blobs and compiled plugins [default: ./wharf-data]
    #[arg(long, env = "WHARF_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Path of wharf.toml [default: ./wharf.toml when it exists]
    #[arg(long, env = "WHARF_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Path of plugin-registry.toml [default: ./plugin-registry.toml]
    #[arg(long, env = "WHARF_PLUGIN_REGISTRY", global = true)]
    pub plugin_registry: Option<PathBuf>,
    /// URL clients reach this server at, used in rendered documents [default: http://<listen>]
    #[arg(long, env = "WHARF_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Password of the bootstrap `admin` user instead of a random one
    #[arg(
        long,
        env = "WHARF_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Log filter, e.g. `info` or `wharf=debug`
    #[arg(long, env = "WHARF_LOG", global = true)]
    pub log: Option<String>,
    /// Whether anonymous callers may read [default: true]
    #[arg(long, env = "WHARF_ANONYMOUS_READ", global = true)]
    pub anonymous_read: Option<bool>,
    /// Largest request body a plugin may ingest, in bytes [default: 4 GiB]
    #[arg(long, env = "WHARF_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<u64>,
    /// Bytes of rendered documents kept in memory [default: 64 MiB]
    #[arg(long, env = "WHARF_DOCUMENT_CACHE_BYTES", global = true)]
    pub document_cache_bytes: Option<u64>,
    /// Plugin executions at once [default: 128]
    #[arg(long, env = "WHARF_MAX_CONCURRENT_PLUGIN_CALLS", global = true)]
    pub max_concurrent_plugin_calls: Option<u32>,
    /// Seconds after which an untouched resumable upload is removed [default: 86400]
    #[arg(long, env = "WHARF_UPLOAD_MAX_AGE_SECS", global = true)]
    pub upload_max_age_secs: Option<u64>,
    /// Largest request body of a route that writes nothing (a login, a search), in bytes [default: 1 MiB]
    #[arg(long, env = "WHARF_MAX_READ_ONLY_BODY_BYTES", global = true)]
    pub max_read_only_body_bytes: Option<u64>,
    /// Seconds a client may send no body byte while the host waits for one; then 408 [default: 30]
    #[arg(long, env = "WHARF_BODY_IDLE_TIMEOUT_SECS", global = true)]
    pub body_idle_timeout_secs: Option<u64>,
    /// Plugin calls that may wait on their request body without holding an execution slot [default: 64]
    #[arg(long, env = "WHARF_MAX_STREAMING_BODIES", global = true)]
    pub max_streaming_bodies: Option<u32>,
    /// Largest text field of a multipart form, in bytes [default: 1 MiB]
    #[arg(long, env = "WHARF_MAX_FORM_FIELD_BYTES", global = true)]
    pub max_form_field_bytes: Option<u64>,
    /// Most parts a multipart form may have [default: 1000]
    #[arg(long, env = "WHARF_MAX_FORM_PARTS", global = true)]
    pub max_form_parts: Option<u32>,
    /// Client connections at once; beyond, only probes are answered [default: 4096, within the open-file limit]
    #[arg(long, env = "WHARF_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers, and that an idle keep-alive connection stays open [default: 30]
    #[arg(long, env = "WHARF_HEADER_TIMEOUT_SECS", global = true)]
    pub header_timeout_secs: Option<u64>,
    /// Bytes per second the background scrub hashes stored blobs at; 0 turns it off [default: 8 MiB]
    #[arg(long, env = "WHARF_SCRUB_BYTES_PER_SEC", global = true)]
    pub scrub_bytes_per_sec: Option<u64>,
    /// Seconds between garbage collections of unreferenced blobs; 0 turns them off [default: 86400]
    #[arg(long, env = "WHARF_GC_INTERVAL_SECS", global = true)]
    pub gc_interval_secs: Option<u64>,
    /// Seconds a stored blob is never collected, though unreferenced: the request that stored it may not have published it yet [default: 3600]
    #[arg(long, env = "WHARF_GC_GRACE_SECS", global = true)]
    pub gc_grace_secs: Option<u64>,
    /// Failed logins in a row of one account before it is locked out [default: 5]
    #[arg(long, env = "WHARF_LOGIN_FREE_FAILURES", global = true)]
    pub login_free_failures: Option<u32>,
    /// Failed logins in a row from one client address before it is locked out [default: 20]
    #[arg(long, env = "WHARF_LOGIN_FREE_FAILURES_PER_ADDRESS", global = true)]
    pub login_free_failures_per_address: Option<u32>,
    /// Longest lockout after failed logins, in seconds (1, 2, 4 … up to it); 0 turns the backoff off [default: 900]
    #[arg(long, env = "WHARF_LOGIN_LOCKOUT_MAX_SECS", global = true)]
    pub login_lockout_max_secs: Option<u64>,
}

/// The effective settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; none is `wharf.sqlite` in `data_dir`.
    pub database_url: Option<String>,
    /// Size of this node's connection pool.
    pub database_max_connections: u32,
    /// `file:///path`; none is `objects/` in `data_dir`.
    pub blob_store: Option<String>,
    pub plugin_registry: PathBuf,
    pub public_url: Option<String>,
    pub admin_password: Option<String>,
    pub log: String,
    /// Anonymous callers may read every repository.
    pub anonymous_read: bool,
    /// Largest request body a plugin may ingest, in bytes.
    pub max_body_bytes: u64,
    /// Bytes of rendered documents the host keeps in memory.
    pub document_cache_bytes: u64,
    /// Plugin executions at once; more wait, then get 503.
    pub max_concurrent_plugin_calls: u32,
    /// Seconds after which an untouched resumable upload is removed.
    pub upload_max_age_secs: u64,
    /// Largest request body of a route that grants no write: whoever may
    /// call it (anonymous logins) cannot send an unbounded body.
    pub max_read_only_body_bytes: u64,
    /// Seconds without a body byte, while the host waits for one, before
    /// the request fails with 408.
    pub body_idle_timeout_secs: u64,
    /// Plugin calls waiting on their request body that do not hold an
    /// execution slot; past it, a waiting call keeps its slot.
    pub max_streaming_bodies: u32,
    /// Largest text field of a multipart form (file parts are streamed).
    pub max_form_field_bytes: u64,
    /// Most parts of a multipart form.
    pub max_form_parts: u32,
    /// Client connections at once (further bounded by the open-file limit).
    pub max_connections: usize,
    /// Seconds for a request's headers to arrive, also the keep-alive idle time.
    pub header_timeout_secs: u64,
    /// Rate of the background scrub (0: off).
    pub scrub_bytes_per_sec: u64,
    /// Seconds between background garbage collections (0: off).
    pub gc_interval_secs: u64,
    /// Seconds after its last store before an unreferenced blob may be
    /// collected; longer than any request takes from storing a blob to
    /// referencing it.
    pub gc_grace_secs: u64,
    /// Failed password checks in a row of one account name that cost
    /// nothing; each further one locks the account out for twice as long
    /// as the one before (from 1 s). A success resets the count.
    pub login_free_failures: u32,
    /// The same, per client address (the TCP peer's; an IPv6 /64), which
    /// a success does not reset: it stops one client spraying a password
    /// over many accounts, and is higher because clients share addresses.
    pub login_free_failures_per_address: u32,
    /// The longest lockout, in seconds; a key quiet that long after its
    /// lockout ended starts afresh. 0 turns the backoff off.
    pub login_lockout_max_secs: u64,
    /// PEM certificates proxy repositories trust beside the system's roots
    /// (a company's TLS-inspecting proxy).
    pub upstream_ca_bundle: Option<PathBuf>,
    /// Largest artifact a proxy repository fetches from its upstream.
    pub upstream_max_artifact_bytes: u64,
    /// Repositories beyond the zero-config one per enabled format.
    #[serde(rename = "repository")]
    pub repositories: Vec<crate::repositories::RepositorySpec>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().unwrap(),
            data_dir: "wharf-data".into(),
            database_url: None,
            database_max_connections: 16,
            blob_store: None,
            plugin_registry: "plugin-registry.toml".into(),
            public_url: None,
            admin_password: None,
            log: "info".into(),
            anonymous_read: true,
            max_body_bytes: 4 << 30,
            document_cache_bytes: 64 << 20,
            max_concurrent_plugin_calls: 128,
            upload_max_age_secs: 24 * 3600,
            max_read_only_body_bytes: 1 << 20,
            body_idle_timeout_secs: 30,
            max_streaming_bodies: 64,
            max_form_field_bytes: 1 << 20,
            max_form_parts: 1000,
            max_connections: 4096,
            header_timeout_secs: 30,
            scrub_bytes_per_sec: 8 << 20,
            gc_interval_secs: 24 * 3600,
            gc_grace_secs: 3600,
            login_free_failures: 5,
            login_free_failures_per_address: 20,
            login_lockout_max_secs: 15 * 60,
            upstream_ca_bundle: None,
            upstream_max_artifact_bytes: 4 << 30,
            repositories: Vec::new(),
        }
    }
}

impl Settings {
    pub fn load(o: &Overrides) -> anyhow::Result<Settings> {
        let file = o
            .config
            .clone()
            .or_else(|| Some(PathBuf::from("wharf.toml")).filter(|p| p.exists()));
        let mut s = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Settings::default(),
        };
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = &o.$f { s.$f = v.clone().into(); } )* };
        }
        over!(
            listen,
            data_dir,
            database_max_connections,
            plugin_registry,
            log,
            anonymous_read,
            max_body_bytes,
            document_cache_bytes,
            max_concurrent_plugin_calls,
            upload_max_age_secs,
            max_read_only_body_bytes,
            body_idle_timeout_secs,
            max_streaming_bodies,
            max_form_field_bytes,
            max_form_parts,
            max_connections,
            header_timeout_secs,
            scrub_bytes_per_sec,
            gc_interval_secs,
            gc_grace_secs,
            login_free_failures,
            login_free_failures_per_address,
            login_lockout_max_secs
        );
        if o.database_url.is_some() {
            s.database_url = o.database_url.clone();
        }
        if o.blob_store.is_some() {
            s.blob_store = o.blob_store.clone();
        }
        if o.public_url.is_some() {
            s.public_url = o.public_url.clone();
        }
        if o.admin_password.is_some() {
            s.admin_password = o.admin_password.clone();
        }
        Ok(s)
    }

    /// Base URL of the server, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The backoff of failed password checks.
    pub fn login_backoff(&self) -> crate::auth::backoff::Rule {
        crate::auth::backoff::Rule {
            free_failures: self.login_free_failures,
            free_failures_per_address: self.login_free_failures_per_address,
            max_lockout: std::time::Duration::from_secs(self.login_lockout_max_secs),
        }
    }

    /// The database to connect to: the setting, or the embedded default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_path(DATABASE_FILE).display()
            ),
        }
    }

    /// The directory blobs are stored under: the setting's, or the
    /// embedded default.
    pub fn blob_root(&self) -> anyhow::Result<PathBuf> {
        match &self.blob_store {
            None => Ok(self.data_path("objects")),
            Some(url) => match url.strip_prefix("file://") {
                Some(path) if path.starts_with('/') => Ok(PathBuf::from(path)),
                _ => anyhow::bail!(
                    "blob_store {url:?}: only file:///absolute/path is supported so far"
                ),
            },
        }
    }

    pub fn data_path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.data_dir.join(rel)
    }
}

/// The embedded database's file in the data directory.
pub const DATABASE_FILE: &str = "wharf.sqlite";

/// Parses sizes like `64MiB`, `2GiB`, `512KiB` or plain bytes.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid size {text:?}"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        other => anyhow::bail!("unknown size unit {other:?} in {text:?}"),
    };
    Ok(n * mult)
}

/// Parses durations like `30s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> anyhow::Result<std::time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid duration {text:?}"))?;
    Ok(match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" | "" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        other => anyhow::bail!("unknown duration unit {other:?} in {text:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert!(parse_size("3 parsecs").is_err());
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wharf.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nanonymous_read = false\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(file),
            data_dir: Some("/srv/wharf".into()),
            ..Default::default()
        };
        let s = Settings::load(&o).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert!(!s.anonymous_read);
        assert_eq!(s.data_dir, PathBuf::from("/srv/wharf"));
    }
}
