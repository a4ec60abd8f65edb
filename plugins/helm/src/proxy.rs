//! A proxy repository of a chart repository (another Wharf, or any
//! `index.yaml` host): the index is the upstream's (through the host's
//! metadata cache) with every entry's `urls` pointing back here; a chart is
//! pulled once, checked against the index's `digest`, and recorded like an
//! upload, so it is served from the store with the upstream gone.
//!
//! The upstream URL is the repository root, where its `index.yaml` is;
//! chart URLs in it, relative or absolute, are resolved against it.

use serde_json::{Map, Value, json};
use wharf_sdk::types::{DigestSet, Publication, VersionRow, Write};
use wharf_sdk::upstream::{self, DigestKind, Pull};
use wharf_sdk::yaml::Node;
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::chart::{self, chart_path};
use crate::upload::PROV_LIMIT;
use crate::upstream_index::{Flow, for_each_chart};
use crate::{emit, index};

/// Largest upstream `index.yaml` read. Public ones run to tens of MiB
/// (Bitnami's was ~20 MiB before it was trimmed); the text, one chart's
/// entries and the rewritten index must fit in the plugin's memory
/// (128 MiB by default).
pub const INDEX_LIMIT: usize = 32 << 20;

/// A chart version as the upstream lists it.
struct Listed {
    /// Helm's typed `Chart.yaml` fields, as an upload stores them.
    fields: Map<String, Value>,
    version: String,
    /// SHA-256 of the archive, lowercase hex; empty when not promised.
    digest: String,
    created: Option<String>,
    /// Where the upstream serves it (the first one is used).
    url: Option<String>,
}

impl Listed {
    /// Reads an entry of chart `name`; `None` for one this repository cannot
    /// address (a name or version a download path cannot hold) or whose
    /// fields Helm could not read.
    fn read(name: &str, node: &Node) -> Option<Listed> {
        let fields = chart::metadata(node).ok()?;
        let text = |key: &str| fields.get(key).and_then(Value::as_str);
        let version = text("version")?.to_string();
        if text("name")? != name || !chart::valid_name(name) || !chart::valid_version(&version) {
            return None;
        }
        let digest = node
            .get("digest")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        Some(Listed {
            version,
            digest: if hex { digest } else { String::new() },
            created: node.get("created").and_then(Node::as_str).map(Into::into),
            url: node
                .get("urls")
                .and_then(|u| u.items().first())
                .and_then(Node::as_str)
                .filter(|u| !u.is_empty())
                .map(Into::into),
            fields,
        })
    }

    /// Its entry in this repository's index: keys sorted, `urls` here.
    fn entry(&self, name: &str) -> Value {
        let mut pairs: Vec<(String, Value)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(created) = &self.created {
            pairs.push(("created".into(), json!(created)));
        }
        if !self.digest.is_empty() {
            pairs.push(("digest".into(), json!(self.digest)));
        }
        pairs.push(("urls".into(), json!([chart_path(name, &self.version)])));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Object(pairs.into_iter().collect())
    }
}

/// `GET index.yaml`: the upstream's, rewritten chart by chart.
pub fn index_yaml(_: &mut Request) -> Result<Response, HttpError> {
    let text = upstream_index()?;
    let mut out = String::with_capacity(text.len() + 4096);
    out.push_str("apiVersion: \"v1\"\nentries:");
    let mut empty = true;
    let header = for_each_chart(&text, |name, nodes| {
        let list: Vec<Value> = nodes
            .iter()
            .filter_map(|node| Listed::read(name, node))
            .map(|listed| listed.entry(name))
            .collect();
        if !list.is_empty() {
            if empty {
                out.push('\n');
                empty = false;
            }
            emit::pair(&mut out, name, &Value::Array(list), 1);
        }
        Flow::Continue
    })
    .map_err(unreadable)?;
    drop(text);
    if empty {
        out.push_str(" {}\n");
    }
    let generated = header.generated.unwrap_or_else(|| index::rfc3339(0));
    emit::pair(&mut out, "generated", &json!(generated), 0);
    let response = Response::bytes(200, "application/yaml; charset=utf-8", out.into_bytes());
    Ok(response.cacheable(&["*"], &[]))
}

/// `GET charts/{name}-{version}.tgz` (and `.prov`) of a proxy.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    let file = req.param("file").to_string();
    let missing = || HttpError::not_found(format!("no file charts/{file}"));
    let (name, version, prov) = chart::split_file(&file).ok_or_else(missing)?;
    if !chart::valid_name(name) || !chart::valid_version(version) {
        return Err(missing());
    }
    let path = format!("charts/{file}");
    if let Some(asset) = catalog::find_asset(&path)? {
        let content_type = match prov {
            true => "application/pgp-signature",
            false => "application/gzip",
        };
        return Ok(Response::blob(&asset.blake3, content_type).cacheable(&[name], &[]));
    }
    let listed = find(name, version)?.ok_or_else(missing)?;
    let url = listed.url.clone().ok_or_else(|| {
        HttpError::not_found(format!("the upstream lists no URL of {name} {version}"))
    })?;
    match prov {
        true => provenance(&format!("{url}.prov"), &path),
        false => pull(name, &listed, &url, &path),
    }
}

/// The chart, streamed while it is stored; kept only if it is the bytes
/// the index promised.
fn pull(name: &str, listed: &Listed, url: &str, path: &str) -> Result<Response, HttpError> {
    // An index without a digest promises nothing to check: the chart is
    // kept unverified rather than refused, as Composer's proxy does.
    let expect = match listed.digest.is_empty() {
        true => Vec::new(),
        false => vec![(DigestKind::Sha256, listed.digest.clone())],
    };
    let pulled = upstream::pull(Pull {
        url: url.to_string(),
        want: DigestSet::SHA256,
        expect,
        record: vec![Write::Publish(record(name, listed, path))],
    })?;
    upstream::serve_pulled(pulled, "application/gzip", path)
}

/// A provenance file is passed through as metadata (through the host's
/// cache): it is small, optional, and recorded nowhere, so it is served
/// while the upstream, or the cache's stale copy, has it.
fn provenance(url: &str, path: &str) -> Result<Response, HttpError> {
    let prov = upstream::document(url, None, PROV_LIMIT, path)?
        .ok_or_else(|| HttpError::not_found(format!("{path} is gone upstream")))?;
    Ok(Response::bytes(200, "application/pgp-signature", prov.body))
}

/// The upstream's entry of `name` `version`.
fn find(name: &str, version: &str) -> Result<Option<Listed>, HttpError> {
    let text = upstream_index()?;
    let mut found = None;
    for_each_chart(&text, |chart, nodes| {
        if chart != name {
            return Flow::Continue;
        }
        found = nodes
            .iter()
            .filter_map(|node| Listed::read(name, node))
            .find(|listed| listed.version == version);
        Flow::Stop
    })
    .map_err(unreadable)?;
    Ok(found)
}

/// The upstream's `index.yaml`, bounded.
fn upstream_index() -> Result<String, HttpError> {
    let index = upstream::document("index.yaml", None, INDEX_LIMIT, "index.yaml")?
        .ok_or_else(|| HttpError::new(502, "the upstream has no index.yaml"))?;
    String::from_utf8(index.body).map_err(|_| unreadable("it is not UTF-8".into()))
}

fn unreadable(why: String) -> HttpError {
    HttpError::new(
        502,
        format!("the upstream's index.yaml is unreadable: {why}"),
    )
}

/// The version as an upload records it, with its archive: the pulled blob.
fn record(name: &str, listed: &Listed, path: &str) -> Publication {
    Publication {
        version: VersionRow {
            package: name.to_string(),
            version: listed.version.clone(),
            metadata_json: index::stored(&listed.fields, &listed.digest),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: vec![upstream::pulled_asset(path, "application/gzip")],
        tags: Vec::new(),
    }
}
