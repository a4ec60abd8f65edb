//! The `.gem`: a plain tar of `metadata.gz` (the YAML gemspec, gzipped),
//! `data.tar.gz` and `checksums.yaml.gz`. Only `metadata.gz` is read, in the
//! sandbox, through the SDK's bounded tar reader; its gzip stream is inflated
//! at most `yaml::MAX_BYTES`, and the YAML is bounded by `yaml::parse`.

use serde_json::{Value, json};
use std::io::Read;
use wharf_sdk::archive::{ArchiveError, Limits, Tar};
use wharf_sdk::yaml::{self, Node};
use wharf_sdk::{HttpError, blobs};

/// Largest `metadata.gz` read (compressed).
const METADATA_GZ_LIMIT: u64 = 1 << 20;

/// A .gem has three entries (four when signed); a few more are tolerated.
const GEM_LIMITS: Limits = Limits {
    max_entries: 16,
    ..Limits::DEFAULT
};

/// What the index and the Marshal specs need of a gemspec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    pub version: String,
    pub platform: String,
    /// `(name, [(op, version)], runtime?)`.
    pub dependencies: Vec<Dependency>,
    pub required_ruby_version: Vec<(String, String)>,
    pub required_rubygems_version: Vec<(String, String)>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub authors: Vec<String>,
    pub email: Vec<String>,
    pub licenses: Vec<String>,
    pub metadata: Vec<(String, String)>,
    pub rubygems_version: String,
    pub date: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub requirement: Vec<(String, String)>,
    pub runtime: bool,
}

impl Spec {
    /// `1.0.0` or `1.0.0-x86_64-linux`: the catalog's version and the
    /// compact index's.
    pub fn full_version(&self) -> String {
        match self.platform.as_str() {
            "ruby" => self.version.clone(),
            p => format!("{}-{p}", self.version),
        }
    }

    pub fn file_name(&self) -> String {
        format!("{}-{}.gem", self.name, self.full_version())
    }

    pub fn prerelease(&self) -> bool {
        prerelease(&self.version)
    }

    pub fn to_json(&self) -> Value {
        let pairs =
            |r: &[(String, String)]| -> Value { r.iter().map(|(op, v)| json!([op, v])).collect() };
        json!({
            "name": self.name, "version": self.version, "platform": self.platform,
            "dependencies": self.dependencies.iter().map(|d| json!({
                "name": d.name, "requirement": pairs(&d.requirement), "runtime": d.runtime,
            })).collect::<Vec<_>>(),
            "required_ruby_version": pairs(&self.required_ruby_version),
            "required_rubygems_version": pairs(&self.required_rubygems_version),
            "summary": self.summary, "description": self.description,
            "homepage": self.homepage, "authors": self.authors, "email": self.email,
            "licenses": self.licenses,
            "metadata": self.metadata.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "rubygems_version": self.rubygems_version, "date": self.date,
        })
    }

    pub fn from_json(v: &Value) -> Option<Spec> {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let pairs = |x: &Value| -> Vec<(String, String)> {
            x.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((p[0].as_str()?.into(), p[1].as_str()?.into())))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Spec {
            name: s("name")?,
            version: s("version")?,
            platform: s("platform")?,
            dependencies: v["dependencies"]
                .as_array()?
                .iter()
                .filter_map(|d| {
                    Some(Dependency {
                        name: d["name"].as_str()?.into(),
                        requirement: pairs(&d["requirement"]),
                        runtime: d["runtime"].as_bool()?,
                    })
                })
                .collect(),
            required_ruby_version: pairs(&v["required_ruby_version"]),
            required_rubygems_version: pairs(&v["required_rubygems_version"]),
            summary: s("summary"),
            description: s("description"),
            homepage: s("homepage"),
            authors: list("authors"),
            email: list("email"),
            licenses: list("licenses"),
            metadata: pairs(&v["metadata"]),
            rubygems_version: s("rubygems_version").unwrap_or_default(),
            date: s("date"),
        })
    }
}

/// Gem::Version's rule: a digit or a letter makes a segment, letters make
/// a prerelease.
pub fn valid_version(v: &str) -> bool {
    let mut parts = v.split('.');
    let first_numeric = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    first_numeric
        && v.len() <= 64
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && !v.contains("--")
}

/// Gem::Version#prerelease?: a letter, or a `-` (`1.0-1` is `1.0.pre.1`).
pub fn prerelease(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_alphabetic() || b == b'-')
}

/// Gem names as rubygems.org takes them: letters, digits, `.`, `_`, `-`,
/// at least one letter, not starting with `.` or `-` (never a path segment
/// such as `..`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name.bytes().any(|b| b.is_ascii_alphabetic())
        && !name.starts_with(['.', '-'])
}

/// Platforms: `ruby`, or `cpu-os[-version]` in the same alphabet.
fn valid_platform(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !p.starts_with(['.', '-'])
}

const OPS: [&str; 7] = ["=", "!=", ">", "<", ">=", "<=", "~>"];

fn requirement(node: Option<&Node>, what: &str) -> Result<Vec<(String, String)>, String> {
    let Some(node) = node else {
        return Ok(vec![(">=".into(), "0".into())]);
    };
    let mut out = Vec::new();
    for pair in node.get("requirements").map(Node::items).unwrap_or(&[]) {
        let items = pair.items();
        let op = items.first().and_then(Node::as_str).unwrap_or("");
        let version = items
            .get(1)
            .and_then(|v| v.get("version").or(Some(v)))
            .and_then(Node::as_str)
            .unwrap_or("");
        if !OPS.contains(&op) || !valid_version(version) {
            return Err(format!(
                "{what} has an invalid requirement `{op} {version}`"
            ));
        }
        out.push((op.to_string(), version.to_string()));
    }
    if out.is_empty() {
        out.push((">=".into(), "0".into()));
    }
    Ok(out)
}

fn strings(node: Option<&Node>) -> Vec<String> {
    match node {
        Some(Node::Seq(items)) => items
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect(),
        Some(n) => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The gemspec of a YAML document, checked.
pub fn spec_of(text: &str) -> Result<Spec, String> {
    let root = yaml::parse(text)?;
    let text = |k: &str| root.get(k).and_then(Node::as_str).map(str::to_string);
    let name = text("name").ok_or("the gemspec has no name")?;
    if !valid_name(&name) {
        return Err(format!("`{name}` is not a valid gem name"));
    }
    let version = root
        .get("version")
        .and_then(|v| v.get("version").or(Some(v)))
        .and_then(Node::as_str)
        .ok_or("the gemspec has no version")?
        .to_string();
    if !valid_version(&version) {
        return Err(format!("`{version}` is not a valid gem version"));
    }
    let platform = text("platform").unwrap_or_else(|| "ruby".into());
    if !valid_platform(&platform) {
        return Err(format!("`{platform}` is not a valid platform"));
    }
    let mut dependencies = Vec::new();
    for dep in root.get("dependencies").map(Node::items).unwrap_or(&[]) {
        let dep_name = dep
            .get("name")
            .and_then(Node::as_str)
            .ok_or("a dependency has no name")?;
        if !valid_name(dep_name) {
            return Err(format!("`{dep_name}` is not a valid dependency name"));
        }
        let what = format!("dependency `{dep_name}`");
        let req = requirement(dep.get("requirement"), &what)?;
        let kind = dep.get("type").and_then(Node::as_str).unwrap_or(":runtime");
        dependencies.push(Dependency {
            name: dep_name.into(),
            requirement: req,
            runtime: kind != ":development",
        });
    }
    let metadata = match root.get("metadata") {
        Some(Node::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let date = text("date")
        .filter(|d| d.len() >= 10 && d.is_char_boundary(10))
        .map(|d| d[..10].to_string());
    Ok(Spec {
        required_ruby_version: requirement(root.get("required_ruby_version"), "ruby")?,
        required_rubygems_version: requirement(root.get("required_rubygems_version"), "rubygems")?,
        summary: text("summary"),
        description: text("description"),
        homepage: text("homepage"),
        authors: strings(root.get("authors")),
        email: strings(root.get("email")),
        licenses: strings(root.get("licenses")),
        rubygems_version: text("rubygems_version").unwrap_or_else(|| "0".into()),
        date,
        metadata,
        dependencies,
        name,
        version,
        platform,
    })
}

/// Reads the gemspec of a .gem of `size` bytes from `reader`.
pub fn read(reader: impl Read, _size: u64) -> Result<Spec, HttpError> {
    let mut archive = Tar::plain(reader, GEM_LIMITS);
    for entry in archive.entries().map_err(refused)? {
        let mut entry = entry.map_err(refused)?;
        if entry.name() != "metadata.gz" {
            continue;
        }
        let gz = entry.read_to_vec(METADATA_GZ_LIMIT).map_err(refused)?;
        let mut text = String::new();
        let mut decoder = flate2::read::GzDecoder::new(&gz[..]).take(yaml::MAX_BYTES as u64 + 1);
        decoder.read_to_string(&mut text).map_err(|e| {
            HttpError::bad_request(format!("the gem's metadata.gz is invalid: {e}"))
        })?;
        if text.len() > yaml::MAX_BYTES {
            return Err(HttpError::new(
                413,
                format!("the gem's gemspec is larger than {} bytes", yaml::MAX_BYTES),
            ));
        }
        return spec_of(&text)
            .map_err(|e| HttpError::bad_request(format!("the gem's gemspec is invalid: {e}")));
    }
    Err(HttpError::bad_request(
        "the gem has no metadata.gz (is it a .gem built by `gem build`?)",
    ))
}

/// Reads the gemspec of a stored .gem.
pub fn read_blob(blake3: &str) -> Result<Spec, HttpError> {
    let blob = blobs::open(blake3)?;
    let size = blob.size();
    read(blob, size)
}

fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => {
            HttpError::bad_request(format!("the gem is not a valid .gem (tar): {why}"))
        }
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!("the gem: {e}")),
        e => e.into(),
    }
}
