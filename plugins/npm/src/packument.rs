//! The package document ("packument"): full for `npm view` and writers,
//! abbreviated ("corgi") for installers, both rendered from the catalog at
//! read time so tarball URLs always follow the repository's base URL.

use serde_json::{Map, Value, json};
use wharf_sdk::owners::Principal;
use wharf_sdk::types::VersionRow;
use wharf_sdk::{HttpError, Meta, Request, Response, catalog};

use crate::{names, owners, package_doc};

pub const CORGI: &str = "application/vnd.npm.install-v1+json";

/// Version fields an installer needs (the abbreviated document keeps only these).
const INSTALL_FIELDS: &[&str] = &[
    "name",
    "version",
    "dist",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "bundledDependencies",
    "bin",
    "directories",
    "engines",
    "cpu",
    "os",
    "_hasShrinkwrap",
    "hasInstallScript",
    "deprecated",
];

/// Everything the catalog knows about one package: only for the documents
/// that list every version (and so are cacheable).
pub struct Package {
    pub name: String,
    /// Oldest first.
    pub versions: Vec<VersionRow>,
    pub tags: Vec<(String, String)>,
    pub doc: Map<String, Value>,
}

impl Package {
    /// `None` when the package has no versions (unknown or fully unpublished).
    pub fn load(name: &str) -> Result<Option<Package>, HttpError> {
        let versions = catalog::all_versions(name)?;
        if versions.is_empty() {
            return Ok(None);
        }
        Ok(Some(Package {
            name: name.to_string(),
            versions,
            tags: catalog::all_tags(name)?,
            doc: package_doc::load(name)?,
        }))
    }

    pub fn load_or_404(name: &str) -> Result<Package, HttpError> {
        names::validate(name)?;
        Package::load(name)?.ok_or_else(|| HttpError::not_found("not found"))
    }

    pub fn tag_map(&self) -> Map<String, Value> {
        tag_map(&self.tags)
    }

    fn modified(&self) -> u64 {
        self.versions
            .iter()
            .map(|r| r.published_at)
            .max()
            .unwrap_or(0)
    }

    /// A CouchDB-style revision that changes whenever the rendered document
    /// would, an owner change included.
    pub fn rev(&self, owners: &[Principal]) -> String {
        let mut state = String::new();
        for owner in owners {
            state.push_str(&format!("{owner}\0"));
        }
        for r in &self.versions {
            state.push_str(&format!(
                "{}\0{}\0{:?}\0",
                r.version, r.published_at, r.deprecated
            ));
        }
        for (t, v) in &self.tags {
            state.push_str(&format!("{t}\0{v}\0"));
        }
        state.push_str(&Value::Object(self.doc.clone()).to_string());
        format!("{}-{:016x}", self.versions.len(), fnv1a(state.as_bytes()))
    }

    /// The full document: everything npm stores, minus `_attachments`;
    /// `maintainers` are the host's owners of the package.
    pub fn full(&self, base_url: &str) -> Result<Value, HttpError> {
        let latest = self.latest()?;
        let owners = wharf_sdk::owners::list(&self.name)?;
        let mut doc = Map::new();
        doc.insert("_id".into(), json!(self.name));
        doc.insert("_rev".into(), json!(self.rev(&owners)));
        doc.insert("name".into(), json!(self.name));
        doc.insert("maintainers".into(), owners::maintainers(&owners));
        for field in package_doc::FIELDS {
            let value = self
                .doc
                .get(*field)
                .or_else(|| latest.as_ref().and_then(|l| l.get(*field)));
            if let Some(value) = value {
                doc.insert(field.to_string(), value.clone());
            }
        }
        doc.insert("dist-tags".into(), Value::Object(self.tag_map()));
        let mut versions = Map::new();
        for r in &self.versions {
            versions.insert(r.version.clone(), version_object(&self.name, r, base_url)?);
        }
        doc.insert("versions".into(), Value::Object(versions));
        let mut time = Map::new();
        let created = self
            .versions
            .iter()
            .map(|r| r.published_at)
            .min()
            .unwrap_or(0);
        time.insert("created".into(), json!(iso_time(created)));
        time.insert("modified".into(), json!(iso_time(self.modified())));
        for r in &self.versions {
            time.insert(r.version.clone(), json!(iso_time(r.published_at)));
        }
        doc.insert("time".into(), Value::Object(time));
        Ok(Value::Object(doc))
    }

    /// The abbreviated document `npm install` asks for.
    pub fn abbreviated(&self, base_url: &str) -> Result<Value, HttpError> {
        let mut versions = Map::new();
        for r in &self.versions {
            let full = version_object(&self.name, r, base_url)?;
            let kept = INSTALL_FIELDS
                .iter()
                .filter_map(|f| full.get(*f).map(|v| (f.to_string(), v.clone())));
            versions.insert(r.version.clone(), Value::Object(kept.collect()));
        }
        Ok(json!({
            "name": self.name,
            "modified": iso_time(self.modified()),
            "dist-tags": self.tag_map(),
            "versions": Value::Object(versions),
        }))
    }

    /// The version object `latest` points at (or the newest one).
    fn latest(&self) -> Result<Option<Map<String, Value>>, HttpError> {
        let tagged = self
            .tags
            .iter()
            .find(|(t, _)| t == "latest")
            .map(|(_, v)| v);
        let row = tagged
            .and_then(|v| self.versions.iter().find(|r| &r.version == v))
            .or(self.versions.last());
        row.map(|r| r.meta()).transpose()
    }
}

/// Tags as the `dist-tags` object.
pub fn tag_map(tags: &[(String, String)]) -> Map<String, Value> {
    tags.iter()
        .map(|(t, v)| (t.clone(), Value::from(v.as_str())))
        .collect()
}

/// One version as published, with the tarball URL of this repository and
/// the deprecation the catalog holds.
pub fn version_object(name: &str, row: &VersionRow, base_url: &str) -> Result<Value, HttpError> {
    let mut v: Map<String, Value> = row.meta()?;
    v.entry("name").or_insert_with(|| json!(name));
    v.entry("version").or_insert_with(|| json!(row.version));
    if let Some(Value::Object(dist)) = v.get_mut("dist") {
        let file = match dist.get("tarball").and_then(Value::as_str) {
            Some(file) => file.to_string(),
            None => names::tarball_file(name, &row.version),
        };
        dist.insert(
            "tarball".into(),
            json!(format!("{base_url}{}", names::tarball_path(name, &file))),
        );
    }
    match &row.deprecated {
        Some(message) => v.insert("deprecated".into(), json!(message)),
        None => v.remove("deprecated"),
    };
    Ok(Value::Object(v))
}

/// `GET {pkg}`: full unless the client asks for the install document.
pub fn get(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::packument(req);
    }
    let name = req.param("pkg").to_string();
    let package = Package::load_or_404(&name)?;
    let corgi = req.header("accept").is_some_and(|a| a.contains(CORGI));
    let (doc, content_type) = match corgi {
        true => (package.abbreviated(req.base_url())?, CORGI),
        false => (package.full(req.base_url())?, "application/json"),
    };
    let body = serde_json::to_vec(&doc).expect("JSON value");
    // The host emits `Vary: accept` from the cache hint.
    Ok(Response::bytes(200, content_type, body).cacheable(&[&name], &["accept"]))
}

/// `GET {pkg}/{version}`: one version object, by version or dist-tag
/// (what yarn and pnpm sometimes ask for). Two lookups, not the package.
pub fn get_version(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::version(req);
    }
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    let wanted = req.param("version").to_string();
    let version = catalog::get_tag(&name, &wanted)?.unwrap_or_else(|| wanted.clone());
    let Some(row) = catalog::get_version(&name, &version)? else {
        return Err(match catalog::has_package(&name)? {
            true => HttpError::not_found(format!("version not found: {wanted}")),
            false => HttpError::not_found("not found"),
        });
    };
    let object = version_object(&name, &row, req.base_url())?;
    Ok(Response::json(200, &object).cacheable(&[&name], &[]))
}

/// Unix milliseconds → `2024-05-01T12:00:00.000Z`.
pub fn iso_time(ms: u64) -> String {
    let t = wharf_sdk::time::UtcTime::from_unix_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_formats_unix_milliseconds() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
