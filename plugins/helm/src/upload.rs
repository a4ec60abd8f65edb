//! The ChartMuseum API's writes: `POST api/charts` (a raw `.tgz`, or a
//! multipart form with `chart` and optional `prov` files), `POST api/prov`
//! (a raw `.prov`) and `DELETE api/charts/{name}/{version}`.
//!
//! Bodies stream into the blob store (the chart with its SHA-256, the
//! index's `digest`); the chart is then read in the sandbox, and one catalog
//! transaction makes the version, its chart and its provenance visible
//! together, or nothing.

use serde_json::json;
use wharf_sdk::catalog::{Asset, Owner, Publication, VersionRow, Write};
use wharf_sdk::types::{Access, Action, BlobInfo, DigestSet, StoreError};
use wharf_sdk::{FormPart, HttpError, Request, Response, auth, blobs, catalog};

use crate::chart::{self, Chart, chart_path, prov_path};
use crate::{index, prov};

/// Largest `.prov` read (it holds the Chart.yaml and a signature).
pub const PROV_LIMIT: usize = 1 << 20;

#[derive(serde::Deserialize, Default)]
struct Settings {
    #[serde(default)]
    allow_overwrite: bool,
}

/// Replacing an existing version: the repository allows it and the client
/// asks (`?force`, as ChartMuseum's); the route then needs delete too.
fn overwrite(req: &Request) -> Result<bool, HttpError> {
    Ok(req.query("force").is_some() && req.repo.settings::<Settings>()?.allow_overwrite)
}

fn may(action: Action, name: &str) -> bool {
    auth::may(&Access {
        action,
        package: Some(name.to_string()),
        repository: None,
    })
}

fn saved() -> Response {
    Response::json(201, &json!({ "saved": true }))
}

/// `POST api/charts`.
pub fn post_chart(req: &mut Request) -> Result<Response, HttpError> {
    let multipart = req
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"));
    let body = req.take_body()?;
    let (chart_blob, prov_blob) = if multipart {
        let parts = body.ingest_multipart(DigestSet::SHA256)?;
        let file = |field: &str| {
            parts.iter().find_map(|p| match p {
                FormPart::File(f) if f.name == field => Some(f.blob.clone()),
                _ => None,
            })
        };
        let chart = file("chart").ok_or_else(|| {
            HttpError::bad_request("the form has no `chart` file (fields: chart, prov)")
        })?;
        (chart, file("prov"))
    } else {
        (body.ingest(None, DigestSet::SHA256, None)?, None)
    };
    if chart_blob.size == 0 {
        return Err(HttpError::bad_request("the body must be a chart .tgz"));
    }
    let chart = chart::read_blob(&chart_blob.digests.blake3)?;
    let digest = chart_blob
        .digests
        .sha256
        .clone()
        .ok_or_else(|| HttpError::new(500, "the host computed no SHA-256"))?;
    if let Some(p) = &prov_blob {
        prov::read_blob(p)?.matches(&chart.name, &chart.version, &digest)?;
    }
    store(req, &chart, &chart_blob, &digest, prov_blob.as_ref())?;
    Ok(saved())
}

/// One transaction: the version with its chart (and provenance).
fn store(
    req: &Request,
    chart: &Chart,
    blob: &BlobInfo,
    digest: &str,
    prov: Option<&BlobInfo>,
) -> Result<(), HttpError> {
    let (name, version) = (&chart.name, &chart.version);
    if !may(Action::Write, name) {
        return Err(HttpError::forbidden(format!(
            "{} may not upload chart {name}",
            req.user().unwrap_or("anonymous")
        )));
    }
    let replace = overwrite(req)?;
    if !replace && catalog::get_version(name, version)?.is_some() {
        return Err(exists(name, version));
    }
    let mut assets = vec![asset(chart_path(name, version), blob, "application/gzip")];
    if let Some(p) = prov {
        assets.push(asset(
            prov_path(name, version),
            p,
            "application/pgp-signature",
        ));
    }
    let publish = Write::Publish(Publication {
        version: VersionRow {
            package: name.clone(),
            version: version.clone(),
            metadata_json: index::stored(&chart.fields, digest),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets,
        tags: vec![],
    });
    let writes = match replace && catalog::get_version(name, version)?.is_some() {
        true => vec![
            Write::DeleteVersion((name.clone(), version.clone())),
            publish,
        ],
        false => vec![publish],
    };
    catalog::apply(&writes).map_err(|e| match e {
        StoreError::AlreadyExists => exists(name, version),
        e => e.into(),
    })?;
    Ok(())
}

fn asset(path: String, blob: &BlobInfo, content_type: &str) -> Asset {
    Asset {
        path,
        blake3: blob.digests.blake3.clone(),
        content_type: content_type.into(),
        metadata_json: String::new(),
        added_at: 0,
    }
}

fn exists(name: &str, version: &str) -> HttpError {
    HttpError::conflict(format!(
        "{} already exists",
        chart_path(name, version).trim_start_matches("charts/")
    ))
}

/// `POST api/prov`: the provenance of a chart version already uploaded.
pub fn post_prov(req: &mut Request) -> Result<Response, HttpError> {
    let blob = req.take_body()?.ingest(None, DigestSet::empty(), None)?;
    let found = prov::read_blob(&blob)?;
    let (name, version) = (found.name.clone(), found.version.clone());
    if !may(Action::Write, &name) {
        return Err(HttpError::forbidden(format!(
            "{} may not upload provenance for chart {name}",
            req.user().unwrap_or("anonymous")
        )));
    }
    let row = catalog::get_version(&name, &version)?.ok_or_else(|| {
        HttpError::not_found(format!(
            "chart {name} {version} not found: upload the chart first"
        ))
    })?;
    let meta: serde_json::Value = serde_json::from_str(&row.metadata_json)?;
    found.matches(&name, &version, meta["digest"].as_str().unwrap_or(""))?;
    let replace = overwrite(req)?;
    let path = prov_path(&name, &version);
    if !replace && catalog::find_asset(&path)?.is_some() {
        return Err(HttpError::conflict(format!(
            "{} already exists",
            path.trim_start_matches("charts/")
        )));
    }
    let owner = Owner {
        package: name.clone(),
        version: Some(version.clone()),
    };
    let asset = asset(path, &blob, "application/pgp-signature");
    catalog::put_asset(owner, asset, replace).map_err(|e| match e {
        StoreError::AlreadyExists => HttpError::conflict("the provenance file already exists"),
        e => e.into(),
    })?;
    Ok(saved())
}

/// `DELETE api/charts/{name}/{version}`: the version, its chart and its
/// provenance.
pub fn delete(req: &mut Request) -> Result<Response, HttpError> {
    let (name, version) = (req.param("name"), req.param("version"));
    let missing = || HttpError::not_found(format!("chart {name} {version} not found"));
    if !chart::valid_name(name) || !chart::valid_version(version) {
        return Err(missing());
    }
    catalog::get_version(name, version)?.ok_or_else(missing)?;
    catalog::delete_version(name, version).map_err(|e| match e {
        StoreError::NotFound => missing(),
        e => e.into(),
    })?;
    Ok(Response::json(200, &json!({ "deleted": true })))
}

/// The text of a stored `.prov`, bounded.
pub fn prov_text(blob: &BlobInfo) -> Result<String, HttpError> {
    if blob.size > PROV_LIMIT as u64 {
        return Err(HttpError::new(
            413,
            format!("a provenance file is at most {PROV_LIMIT} bytes"),
        ));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut blobs::open(&blob.digests.blake3)?, &mut bytes)
        .map_err(|e| HttpError::new(503, format!("the provenance file could not be read: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| HttpError::bad_request("the provenance file is not UTF-8 text"))
}
