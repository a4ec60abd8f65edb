//! The repository setting that names the checksum databases a proxy
//! relays, `sumdb = [{ name = "sum.golang.org", url = "https://…" }]`:
//! the name is the go command's (the verifier key's), the URL where the
//! proxy reaches it (`https://<name>` when left out, as the go command
//! would). The URL's host is the operator's to grant the plugin in
//! plugin-registry.toml; a client only ever chooses among the names.

use serde::Deserialize;
use wharf_sdk::{HttpError, Request};

#[derive(Deserialize, Default)]
struct Settings {
    #[serde(default)]
    sumdb: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: Option<String>,
}

/// A checksum database this repository relays.
pub struct Database {
    pub name: String,
    /// Its base URL, without a trailing slash.
    base: String,
}

impl Database {
    /// Where `path` (`lookup/…`, `tile/…`, `latest`) is upstream.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The catalog package that keeps its immutable answers.
    pub fn package(&self) -> String {
        format!("sumdb/{}", self.name)
    }

    /// The catalog path of the kept answer at `path`.
    pub fn asset_path(&self, path: &str) -> String {
        format!("sumdb/{}/{path}", self.name)
    }
}

/// The database the route's `{name}` names, or 404: in a hosted
/// repository, or when the setting does not name it.
pub fn database(req: &Request) -> Result<Database, HttpError> {
    let name = req.param("name");
    let none = || HttpError::not_found(format!("not found: no checksum database {name} here"));
    if !req.is_proxy() {
        return Err(none());
    }
    let settings: Settings = req.repo.settings()?;
    let entry = settings
        .sumdb
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(none)?;
    check_name(&entry.name)?;
    let base = match entry.url {
        Some(url) => checked_url(&entry.name, &url)?,
        None => format!("https://{}", entry.name),
    };
    Ok(Database {
        name: entry.name,
        base,
    })
}

/// A host name, with a port if any: what the go command takes from a
/// verifier key and this route's one path segment can carry.
fn check_name(name: &str) -> Result<(), HttpError> {
    let valid = (1..=253).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
    match valid {
        true => Ok(()),
        false => Err(invalid(format!("sumdb name {name:?} is not a host name"))),
    }
}

/// An absolute http(s) URL with nothing a path could be appended to but a
/// path: no query, fragment or credentials.
fn checked_url(name: &str, url: &str) -> Result<String, HttpError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let valid = rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "?#@\\".contains(c))
    });
    match valid {
        true => Ok(url.trim_end_matches('/').to_string()),
        false => Err(invalid(format!(
            "sumdb {name}: url {url:?} is not an http or https URL without query, fragment or credentials"
        ))),
    }
}

/// The operator's mistake, reported as the host reports other settings'.
fn invalid(why: String) -> HttpError {
    HttpError::new(500, format!("invalid repository settings: {why}"))
}
