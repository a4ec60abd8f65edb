//! A proxy repository of a gem source (rubygems.org, another Wharf): the
//! compact index, the Marshal indexes and the quick specs are the
//! upstream's bytes (mutable, through the host's metadata cache); a `.gem`
//! is pulled once, checked against the checksum of its `info` line, and
//! recorded like a push, so it is served from the store with the upstream
//! gone.
//!
//! The upstream URL is the source's root (`https://rubygems.org/`,
//! `https://index.rubygems.org/`, `http://wharf/rubygems/`): every path
//! below it is the same as here.

use serde_json::json;
use wharf_sdk::types::{DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::gem::{self, Dependency, Spec};
use crate::gem_of_file;
use crate::index::compact;

/// Largest `versions`, `names` or Marshal index read. rubygems.org's
/// `versions` is ~25 MiB and grows; `specs.4.8.gz` ~10 MiB. The body is
/// held once in the plugin's memory (128 MiB by default).
pub const INDEX_LIMIT: usize = 48 << 20;
/// Largest `info/{gem}` read (rubygems.org's biggest are under 2 MiB).
pub const INFO_LIMIT: usize = 8 << 20;
/// Largest quick spec read (a deflated gemspec: a few KiB).
pub const QUICK_LIMIT: usize = 1 << 20;

/// `GET info/{gem}`: the upstream's bytes, with the validators Bundler
/// checks computed from them (so ETag and MD5 in `versions` agree).
pub fn info(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("gem").to_string();
    if !gem::valid_name(&name) {
        return Err(not_found(&name));
    }
    let body = info_body(&name)?;
    Ok(compact(body, &[&name]))
}

/// `GET versions` and `GET names`: the upstream's.
pub fn listing(path: &str) -> Result<Response, HttpError> {
    let body = fetch_text(path, INDEX_LIMIT)?.ok_or_else(|| not_found(path))?;
    Ok(compact(body, &["*"]))
}

/// `GET specs.4.8.gz` and its siblings: the upstream's gzipped Marshal.
pub fn marshal_index(path: &str) -> Result<Response, HttpError> {
    let body = fetch(path, INDEX_LIMIT)?.ok_or_else(|| not_found(path))?;
    Ok(Response::bytes(200, "application/octet-stream", body).cacheable(&["*"], &[]))
}

/// `GET quick/Marshal.4.8/{name}-{version}.gemspec.rz`: the upstream's.
pub fn quick_spec(req: &mut Request) -> Result<Response, HttpError> {
    let file = req.param("file").to_string();
    let name = gem_of_file(&file)
        .filter(|n| gem::valid_name(n) && file.ends_with(".gemspec.rz") && safe(&file))
        .ok_or_else(|| not_found(&file))?
        .to_string();
    let body = fetch(&format!("quick/Marshal.4.8/{file}"), QUICK_LIMIT)?
        .ok_or_else(|| not_found(&file))?;
    Ok(Response::bytes(200, "application/octet-stream", body).cacheable(&[&name], &[]))
}

/// `GET gems/{file}`: from the store once pulled, from the upstream
/// (streamed while it is stored) the first time.
pub fn gem_file(req: &mut Request) -> Result<Response, HttpError> {
    let file = req.param("file").to_string();
    let missing = || HttpError::not_found("This gem could not be found");
    let name = gem_of_file(&file)
        .filter(|n| gem::valid_name(n) && safe(&file))
        .ok_or_else(missing)?
        .to_string();
    let full = file
        .strip_suffix(".gem")
        .and_then(|stem| stem.get(name.len() + 1..))
        .ok_or_else(missing)?
        .to_string();
    let path = format!("gems/{file}");
    if let Some(asset) = catalog::find_asset(&path)? {
        return Ok(
            Response::blob(&asset.blake3, "application/octet-stream").cacheable(&[&name], &[])
        );
    }
    let line = info_body(&name)?
        .lines()
        .filter_map(InfoLine::parse)
        .find(|l| l.full == full)
        .ok_or_else(missing)?;
    // A line without a checksum promises nothing to check: kept unverified,
    // as the other proxies do; a promised one is always checked.
    let expect = match line.checksum.is_empty() {
        true => Vec::new(),
        false => vec![(DigestKind::Sha256, line.checksum.clone())],
    };
    let pulled = upstream::pull(Pull {
        url: path.clone(),
        want: DigestSet::SHA256,
        expect,
        record: vec![Write::Publish(record(&name, &line, &path))],
    })?;
    match pulled.status() {
        200 => Ok(Response::upstream(pulled, "application/octet-stream")),
        404 | 410 => Err(missing()),
        status => Err(HttpError::new(
            502,
            format!("the upstream answered {status} for {path}"),
        )),
    }
}

/// One line of an `info` file:
/// `1.0.0[-platform] dep:>= 1&< 2,…|checksum:…,ruby:…,rubygems:…`.
#[derive(Debug, PartialEq)]
pub struct InfoLine {
    /// The version, with `-platform` for a platform gem (the file name's).
    pub full: String,
    pub dependencies: Vec<Dependency>,
    /// SHA-256 of the `.gem`, lowercase hex; empty when not given.
    pub checksum: String,
    pub ruby: Vec<(String, String)>,
    pub rubygems: Vec<(String, String)>,
}

impl InfoLine {
    pub fn parse(line: &str) -> Option<InfoLine> {
        let (full, rest) = line.split_once(' ')?;
        let (deps, fields) = rest.split_once('|').unwrap_or((rest, ""));
        let dependencies = deps
            .split(',')
            .filter(|d| !d.is_empty())
            .map(|d| {
                let (name, req) = d.split_once(':').unwrap_or((d, ""));
                Dependency {
                    name: name.to_string(),
                    requirement: requirement(req),
                    runtime: true,
                }
            })
            .collect();
        let mut out = InfoLine {
            full: full.to_string(),
            dependencies,
            checksum: String::new(),
            ruby: Vec::new(),
            rubygems: Vec::new(),
        };
        for field in fields.split(',') {
            match field.split_once(':') {
                Some(("checksum", sum)) => {
                    let sum = sum.to_ascii_lowercase();
                    if sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                        out.checksum = sum;
                    }
                }
                Some(("ruby", req)) => out.ruby = requirement(req),
                Some(("rubygems", req)) => out.rubygems = requirement(req),
                _ => {}
            }
        }
        Some(out)
    }

    /// Version and platform: a platform starts with a letter after the
    /// first `-` (`1.0.0-x86_64-linux`, `2.0-java`); `1.0-1` has none.
    fn version_and_platform(&self) -> (String, String) {
        let at = self
            .full
            .match_indices('-')
            .map(|(i, _)| i)
            .find(|&i| self.full[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic()));
        match at {
            Some(i) => (self.full[..i].into(), self.full[i + 1..].into()),
            None => (self.full.clone(), "ruby".into()),
        }
    }
}

/// `>= 1&< 2` → `[(">=", "1"), ("<", "2")]`.
fn requirement(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| match r.split_once(' ') {
            Some((op, v)) => (op.to_string(), v.trim().to_string()),
            None => ("=".to_string(), r.to_string()),
        })
        .collect()
}

/// The version as a push records it. The gemspec is not read (the host
/// records the pull before anyone could open it): the spec holds what the
/// `info` line says (dependencies, Ruby and RubyGems requirements).
fn record(name: &str, line: &InfoLine, path: &str) -> Publication {
    let (version, platform) = line.version_and_platform();
    let spec = Spec {
        name: name.to_string(),
        version,
        platform,
        dependencies: line.dependencies.clone(),
        required_ruby_version: line.ruby.clone(),
        required_rubygems_version: line.rubygems.clone(),
        summary: None,
        description: None,
        homepage: None,
        authors: Vec::new(),
        email: Vec::new(),
        licenses: Vec::new(),
        metadata: Vec::new(),
        rubygems_version: String::new(),
        date: None,
    };
    let metadata = json!({
        "spec": spec.to_json(),
        "sha256": line.checksum,
        "pulled": true,
    });
    Publication {
        version: VersionRow {
            package: name.to_string(),
            version: line.full.clone(),
            metadata_json: metadata.to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![upstream::pulled_asset(path, "application/octet-stream")],
        tags: Vec::new(),
    }
}

/// A file name that can only name a file here: no separators, no `..`.
fn safe(file: &str) -> bool {
    !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn info_body(name: &str) -> Result<String, HttpError> {
    fetch_text(&format!("info/{name}"), INFO_LIMIT)?.ok_or_else(|| not_found(name))
}

fn not_found(what: &str) -> HttpError {
    HttpError::not_found(format!("This gem could not be found: {what}"))
}

/// The upstream's text at `path`; `None` when it has none.
fn fetch_text(path: &str, limit: usize) -> Result<Option<String>, HttpError> {
    match fetch(path, limit)? {
        None => Ok(None),
        Some(body) => String::from_utf8(body)
            .map(Some)
            .map_err(|_| HttpError::new(502, format!("the upstream's {path} is not UTF-8"))),
    }
}

/// The upstream's bytes at `path` (metadata, through the host's cache);
/// `None` when it has none.
fn fetch(path: &str, limit: usize) -> Result<Option<Vec<u8>>, HttpError> {
    Ok(upstream::document(path, None, limit, path)?.map(|d| d.body))
}
