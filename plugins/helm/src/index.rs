//! What clients read: `index.yaml`, the ChartMuseum listing API, and the
//! chart and provenance files. Documents are rendered from the catalog and
//! are a pure function of it (no clock, no host name), so the host caches
//! them until the next upload or delete.

use serde_json::{Map, Value, json};
use wharf_sdk::catalog::{self, VersionRow};
use wharf_sdk::time::UtcTime;
use wharf_sdk::{HttpError, Request, Response};

use crate::chart::{self, chart_path};
use crate::emit;

/// A version row's metadata.
pub fn stored(fields: &Map<String, Value>, digest: &str) -> String {
    json!({ "chart": fields, "digest": digest }).to_string()
}

/// RFC 3339 in UTC, as Helm writes `created` and `generated`.
pub fn rfc3339(ms: u64) -> String {
    let t = UtcTime::from_unix_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

/// The index entry of a version: its Chart.yaml fields, `created` (the
/// publish time), `digest` (the archive's SHA-256) and `urls` (relative to
/// the repository, which Helm resolves against the URL it was added with,
/// so they stay right behind any reverse proxy). Keys sorted.
pub fn entry(row: &VersionRow) -> Result<Value, HttpError> {
    let meta: Value = serde_json::from_str(&row.metadata_json)
        .map_err(|e| HttpError::new(500, format!("stored chart metadata: {e}")))?;
    let mut pairs: Vec<(String, Value)> = meta["chart"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    pairs.push(("created".into(), json!(rfc3339(row.published_at))));
    pairs.push(("digest".into(), meta["digest"].clone()));
    pairs.push((
        "urls".into(),
        json!([chart_path(&row.package, &row.version)]),
    ));
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Object(pairs.into_iter().collect()))
}

/// Versions newest first, by SemVer precedence (Helm's order).
fn newest_first(rows: &mut [VersionRow]) {
    let key = |r: &VersionRow| semver::Version::parse(&r.version).ok();
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| b.version.cmp(&a.version)));
}

/// One chart's versions, newest first; empty when it has none.
pub fn chart_versions(name: &str) -> Result<Vec<VersionRow>, HttpError> {
    if !chart::valid_name(name) {
        return Ok(Vec::new());
    }
    let mut rows = catalog::all_versions(name)?;
    newest_first(&mut rows);
    Ok(rows)
}

/// Charts by name, each with its versions newest first.
type Charts = Vec<(String, Vec<VersionRow>)>;

/// Every chart with its versions; and the latest publish time.
fn everything() -> Result<(Charts, u64), HttpError> {
    let (mut charts, mut latest) = (Vec::new(), 0);
    let mut after: Option<String> = None;
    loop {
        let page = catalog::list_packages(None, after.as_deref(), 1_000)?;
        for name in &page {
            let rows = chart_versions(name)?;
            latest = rows.iter().map(|r| r.published_at).fold(latest, u64::max);
            if !rows.is_empty() {
                charts.push((name.clone(), rows));
            }
        }
        if page.len() < 1_000 {
            return Ok((charts, latest));
        }
        after = page.last().cloned();
    }
}

/// `GET index.yaml`. `generated` is the latest publish time, not the
/// clock: the document stays a function of the catalog, so it caches (the
/// response's `Last-Modified` also moves on deletes).
pub fn index_yaml(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::index_yaml(req);
    }
    let (charts, latest) = everything()?;
    let mut entries = Map::new();
    for (name, rows) in &charts {
        let list = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        entries.insert(name.clone(), Value::Array(list));
    }
    let mut root = Map::new();
    root.insert("apiVersion".into(), json!("v1"));
    root.insert("entries".into(), Value::Object(entries));
    root.insert("generated".into(), json!(rfc3339(latest)));
    let body = emit::document(&root).into_bytes();
    let response = Response::bytes(200, "application/yaml; charset=utf-8", body);
    Ok(response.cacheable(&["*"], &[]))
}

/// `GET api/charts`: `{name: [entry, …]}`, as ChartMuseum answers.
pub fn api_all(_: &mut Request) -> Result<Response, HttpError> {
    let (charts, _) = everything()?;
    let mut out = Map::new();
    for (name, rows) in &charts {
        let list = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        out.insert(name.clone(), Value::Array(list));
    }
    Ok(Response::json(200, &out).cacheable(&["*"], &[]))
}

/// `GET api/charts/{name}`: its entries, newest first.
pub fn api_chart(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("name");
    let rows = chart_versions(name)?;
    if rows.is_empty() {
        return Err(HttpError::not_found(format!("chart {name} not found")));
    }
    let list = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok(Response::json(200, &list).cacheable(&[name], &[]))
}

/// `GET api/charts/{name}/{version}` (`latest`: the newest).
pub fn api_version(req: &mut Request) -> Result<Response, HttpError> {
    let (name, version) = (req.param("name"), req.param("version"));
    let missing = || HttpError::not_found(format!("chart {name} {version} not found"));
    let row = match version {
        "latest" => chart_versions(name)?.into_iter().next(),
        v if chart::valid_name(name) && chart::valid_version(v) => catalog::get_version(name, v)?,
        _ => None,
    };
    let row = row.ok_or_else(missing)?;
    Ok(Response::json(200, &entry(&row)?).cacheable(&[name], &[]))
}

/// `GET charts/{name}-{version}.tgz` and `….tgz.prov`: streamed by the host.
pub fn file(req: &mut Request) -> Result<Response, HttpError> {
    if req.is_proxy() {
        return crate::proxy::file(req);
    }
    let file = req.param("file");
    let missing = || HttpError::not_found(format!("no file charts/{file}"));
    let (name, _, prov) = chart::split_file(file).ok_or_else(missing)?;
    let asset = catalog::find_asset(&format!("charts/{file}"))?.ok_or_else(missing)?;
    let content_type = match prov {
        true => "application/pgp-signature",
        false => "application/gzip",
    };
    Ok(Response::blob(&asset.blake3, content_type).cacheable(&[name], &[]))
}
