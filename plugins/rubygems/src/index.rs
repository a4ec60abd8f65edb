//! What clients read: the compact index (`names`, `versions`, `info/{gem}`),
//! the `.gem` files, and the Marshal indexes of `gem install`
//! (`specs.4.8.gz` and friends, `quick/Marshal.4.8/*.gemspec.rz`).
//!
//! Every document is rendered from the catalog and marked cacheable: `info`
//! by its gem, the repository-wide ones by `*`. The compact index documents
//! carry the ETag Bundler checks (the quoted MD5 of the body) and
//! `Repr-Digest`/`Digest` (SHA-256); the host answers `Range` on them.

use base64::Engine;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::io::Write as _;
use wharf_sdk::catalog::{self, VersionRow};
use wharf_sdk::{HttpError, Meta, Request, Response};

use crate::gem::{self, Spec};
use crate::gem_of_file;
use crate::marshal::{self, Value};

/// A version row's stored metadata: the gemspec, the .gem's SHA-256.
pub struct Release {
    pub spec: Spec,
    pub sha256: String,
    pub yanked: bool,
    pub published_at: u64,
}

pub fn release(row: &VersionRow) -> Result<Release, HttpError> {
    let meta: serde_json::Value = row.meta()?;
    let spec = Spec::from_json(&meta["spec"]).ok_or_else(|| {
        HttpError::new(
            500,
            format!(
                "{} {}: stored metadata unreadable",
                row.package, row.version
            ),
        )
    })?;
    Ok(Release {
        spec,
        sha256: meta["sha256"].as_str().unwrap_or_default().to_string(),
        yanked: row.yanked,
        published_at: row.published_at,
    })
}

/// Every release of `gem`, oldest first.
fn releases(gem: &str) -> Result<Vec<Release>, HttpError> {
    catalog::all_versions(gem)?.iter().map(release).collect()
}

/// Every gem of the repository, by name.
fn gems() -> Result<Vec<String>, HttpError> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let page = catalog::list_packages(None, out.last().map(String::as_str), catalog::PAGE)?;
        let full = page.len() == catalog::PAGE as usize;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

fn requirement(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(op, v)| format!("{op} {v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn unbounded(pairs: &[(String, String)]) -> bool {
    pairs.iter().all(|(op, v)| op == ">=" && v == "0")
}

/// One line of `info/{gem}`:
/// `1.0.0 dep:>= 1&< 2,other:~> 0.1|checksum:…,ruby:>= 2.7,rubygems:>= 3`.
pub fn info_line(r: &Release) -> String {
    let deps: Vec<String> = r
        .spec
        .dependencies
        .iter()
        .filter(|d| d.runtime)
        .map(|d| format!("{}:{}", d.name, requirement(&d.requirement)))
        .collect();
    let mut line = format!(
        "{} {}|checksum:{}",
        r.spec.full_version(),
        deps.join(","),
        r.sha256
    );
    if !unbounded(&r.spec.required_ruby_version) {
        line.push_str(&format!(
            ",ruby:{}",
            requirement(&r.spec.required_ruby_version)
        ));
    }
    if !unbounded(&r.spec.required_rubygems_version) {
        line.push_str(&format!(
            ",rubygems:{}",
            requirement(&r.spec.required_rubygems_version)
        ));
    }
    line
}

/// The body of `info/{gem}`: the live releases, oldest first.
pub fn info_body(releases: &[Release]) -> String {
    let mut body = String::from("---\n");
    for r in releases.iter().filter(|r| !r.yanked) {
        body.push_str(&info_line(r));
        body.push('\n');
    }
    body
}

/// A compact index document with the validators Bundler checks.
pub fn compact(body: String, tags: &[&str]) -> Response {
    let md5 = hex::encode(Md5::digest(body.as_bytes()));
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()));
    Response::bytes(200, "text/plain; charset=utf-8", body.into_bytes())
        .header("etag", &format!("\"{md5}\""))
        .header("repr-digest", &format!("sha-256=:{sha256}:"))
        .header("digest", &format!("sha-256={sha256}"))
        .cacheable(tags, &[])
}

/// `GET info/{gem}`.
pub fn info(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::info(req);
    }
    let name = req.param("gem");
    let missing = || HttpError::not_found(format!("This gem could not be found: {name}"));
    if !gem::valid_name(name) {
        return Err(missing());
    }
    let releases = releases(name)?;
    if releases.is_empty() {
        return Err(missing());
    }
    Ok(compact(info_body(&releases), &[name]))
}

/// `GET names`: every gem with a live version.
pub fn names(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::listing("names");
    }
    let mut body = String::from("---\n");
    for name in gems()? {
        if releases(&name)?.iter().any(|r| !r.yanked) {
            body.push_str(&name);
            body.push('\n');
        }
    }
    Ok(compact(body, &["*"]))
}

/// `GET versions`: `created_at`, then one line per gem with its live
/// versions and the MD5 of its `info` body. Regenerated, not appended: a
/// client appending by `Range` finds the MD5 ETag of its result wrong and
/// fetches the whole file (Bundler's rule).
pub fn versions(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::listing("versions");
    }
    let mut lines = String::new();
    let mut first: Option<u64> = None;
    for name in gems()? {
        let releases = releases(&name)?;
        let live: Vec<String> = releases
            .iter()
            .filter(|r| !r.yanked)
            .map(|r| r.spec.full_version())
            .collect();
        if live.is_empty() {
            continue;
        }
        for r in &releases {
            first = Some(first.map_or(r.published_at, |f| f.min(r.published_at)));
        }
        let md5 = hex::encode(Md5::digest(info_body(&releases).as_bytes()));
        lines.push_str(&format!("{name} {} {md5}\n", live.join(",")));
    }
    let t = wharf_sdk::time::UtcTime::from_unix_millis(first.unwrap_or(0));
    let created = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    let body = format!("created_at: {created}\n---\n{lines}");
    Ok(compact(body, &["*"]))
}

/// `GET gems/{file}`: the .gem, streamed by the host.
pub fn gem_file(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::gem_file(req);
    }
    let file = req.param("file");
    let missing = || HttpError::not_found("This gem could not be found");
    let name = gem_of_file(file)
        .filter(|n| gem::valid_name(n))
        .ok_or_else(missing)?;
    let asset = catalog::find_asset(&format!("gems/{file}"))?.ok_or_else(missing)?;
    Ok(Response::blob(&asset.blake3, "application/octet-stream").cacheable(&[name], &[]))
}

/// `GET quick/Marshal.4.8/{name}-{version}.gemspec.rz`: the
/// Gem::Specification, Marshal-dumped and deflated (zlib).
pub fn quick_spec(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::quick_spec(req);
    }
    let file = req.param("file");
    let missing = || HttpError::not_found("This gem could not be found");
    let name = gem_of_file(file)
        .filter(|n| gem::valid_name(n) && file.ends_with(".gemspec.rz"))
        .ok_or_else(missing)?;
    let version = &file[name.len() + 1..file.len() - ".gemspec.rz".len()];
    let row = catalog::get_version(name, version)?
        .filter(|r| !r.yanked)
        .ok_or_else(missing)?;
    let spec = release(&row)?.spec;
    let dumped = marshal::dump(&spec_value(&spec));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&dumped)
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let bytes = z.finish().map_err(|e| HttpError::new(500, e.to_string()))?;
    Ok(Response::bytes(200, "application/octet-stream", bytes).cacheable(&[name], &[]))
}

fn opt(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Nil, marshal::str)
}

fn strs(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| marshal::str(s)).collect())
}

/// A Gem::Specification as its `_dump` writes it (specification version 4).
pub fn spec_value(s: &Spec) -> Value {
    let deps = s
        .dependencies
        .iter()
        .map(|d| {
            Value::Object(
                "Gem::Dependency",
                vec![
                    ("@name", marshal::str(&d.name)),
                    ("@requirement", marshal::requirement(&d.requirement)),
                    (
                        "@type",
                        Value::Sym(if d.runtime { "runtime" } else { "development" }.into()),
                    ),
                    ("@prerelease", Value::Bool(false)),
                ],
            )
        })
        .collect();
    let email = match s.email.as_slice() {
        [] => Value::Nil,
        [one] => marshal::str(one),
        many => strs(many),
    };
    let fields = Value::Array(vec![
        marshal::str(&s.rubygems_version),
        Value::Int(4),
        marshal::str(&s.name),
        marshal::version(&s.version),
        opt(&s.date),
        opt(&s.summary),
        marshal::requirement(&s.required_ruby_version),
        marshal::requirement(&s.required_rubygems_version),
        marshal::str(&s.platform),
        Value::Array(deps),
        marshal::str(""),
        email,
        strs(&s.authors),
        opt(&s.description),
        opt(&s.homepage),
        Value::Bool(true),
        marshal::str(&s.platform),
        strs(&s.licenses),
        Value::Hash(
            s.metadata
                .iter()
                .map(|(k, v)| (marshal::str(k), marshal::str(v)))
                .collect(),
        ),
    ]);
    let inner = marshal::dump(&fields);
    Value::UserBytes("Gem::Specification", inner)
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Released,
    Latest,
    Prerelease,
}

/// `[name, Gem::Version, platform]` of each live release, gzipped Marshal.
fn spec_list(which: Which) -> Result<Response, HttpError> {
    let mut tuples = Vec::new();
    for name in gems()? {
        let live: Vec<Release> = releases(&name)?.into_iter().filter(|r| !r.yanked).collect();
        let mut chosen: Vec<&Release> = Vec::new();
        for r in &live {
            let pre = r.spec.prerelease();
            match which {
                Which::Released if !pre => chosen.push(r),
                Which::Prerelease if pre => chosen.push(r),
                Which::Latest if !pre => {
                    // The newest (by Gem::Version order) per platform.
                    match chosen
                        .iter_mut()
                        .find(|c| c.spec.platform == r.spec.platform)
                    {
                        Some(c) if compare(&r.spec.version, &c.spec.version).is_gt() => *c = r,
                        Some(_) => {}
                        None => chosen.push(r),
                    }
                }
                _ => {}
            }
        }
        for r in chosen {
            tuples.push(Value::Array(vec![
                marshal::str(&r.spec.name),
                marshal::version(&r.spec.version),
                marshal::str(&r.spec.platform),
            ]));
        }
    }
    let dumped = marshal::dump(&Value::Array(tuples));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&dumped)
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let bytes = gz
        .finish()
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    Ok(Response::bytes(200, "application/octet-stream", bytes).cacheable(&["*"], &[]))
}

/// Gem::Version's order: segments split at `.` and at letter/digit
/// boundaries; numbers compare as numbers, a string segment sorts before a
/// number (a prerelease before its release).
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    fn segments(v: &str) -> Vec<Result<u64, String>> {
        let mut out = Vec::new();
        for part in v.split(['.', '-']) {
            let mut cur = String::new();
            for c in part.chars() {
                if !cur.is_empty()
                    && cur.chars().last().unwrap().is_ascii_digit() != c.is_ascii_digit()
                {
                    out.push(segment(&cur));
                    cur.clear();
                }
                cur.push(c);
            }
            if !cur.is_empty() {
                out.push(segment(&cur));
            }
        }
        while matches!(out.last(), Some(Ok(0))) {
            out.pop();
        }
        out
    }
    fn segment(s: &str) -> Result<u64, String> {
        s.parse::<u64>().map_err(|_| s.to_string())
    }
    let (a, b) = (segments(a), segments(b));
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).cloned().unwrap_or(Ok(0));
        let y = b.get(i).cloned().unwrap_or(Ok(0));
        let o = match (x, y) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Err(x), Err(y)) => x.cmp(&y),
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

pub fn specs(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::marshal_index("specs.4.8.gz");
    }
    spec_list(Which::Released)
}

pub fn latest_specs(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::marshal_index("latest_specs.4.8.gz");
    }
    spec_list(Which::Latest)
}

pub fn prerelease_specs(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::marshal_index("prerelease_specs.4.8.gz");
    }
    spec_list(Which::Prerelease)
}
