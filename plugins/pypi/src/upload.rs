//! `POST /` (and `legacy/`): the upload form twine sends
//! (https://docs.pypi.org/api/upload/). The host parses the multipart body,
//! storing the `content` file as a blob with its SHA-256, MD5 and
//! BLAKE2b-256; the plugin checks the declared digests and the file name,
//! extracts a wheel's METADATA, and adds the file to its release (see
//! `record`) in one transaction.

use serde_json::{Map, Value, json};
use wharf_sdk::types::{Asset, DigestSet, Owner, Publication, StoreError, VersionRow, Write};
use wharf_sdk::{FormFile, FormPart};
use wharf_sdk::{HttpError, Request, Response, blobs, catalog};

use crate::metadata;
use crate::names::{self, Kind};
use crate::record::{self, Dist, ReleaseMeta};

/// Single-valued metadata fields kept for the JSON API's `info`.
const INFO_FIELDS: &[&str] = &[
    "metadata_version",
    "summary",
    "description",
    "description_content_type",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "keywords",
    "home_page",
    "download_url",
];
/// Repeated fields, kept as lists.
const LIST_FIELDS: &[&str] = &[
    "classifiers",
    "requires_dist",
    "provides_extra",
    "project_urls",
    "platform",
];

/// The text fields of the form; repeated names keep every value.
pub(crate) struct Form(pub(crate) Vec<(String, String)>);

impl Form {
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
    fn required(&self, name: &str) -> Result<&str, HttpError> {
        self.one(name)
            .ok_or_else(|| HttpError::bad_request(format!("the {name} field is required")))
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub fn upload(req: &mut Request) -> Result<Response, HttpError> {
    let want = DigestSet::SHA256 | DigestSet::MD5 | DigestSet::BLAKE2B256;
    let parts = req.take_body()?.ingest_multipart(want)?;
    let mut fields = Vec::new();
    let mut content: Option<FormFile> = None;
    for part in parts {
        match part {
            FormPart::Field(pair) => fields.push(pair),
            FormPart::File(file) if file.name == "content" => content = Some(file),
            FormPart::File(_) => {} // signatures and attestations are not kept
        }
    }
    let form = Form(fields);
    match form.one(":action") {
        Some("file_upload") => {}
        other => {
            return Err(HttpError::bad_request(format!(
                "unsupported :action {}",
                other.unwrap_or("(none)")
            )));
        }
    }
    let content = content.ok_or_else(|| HttpError::bad_request("the content file is missing"))?;
    let name = form.required("name")?;
    names::validate(name)?;
    let project = names::normalize(name);
    let version = form.required("version")?;
    let filename = content.filename.as_str();
    let kind = names::check_filename(filename, name, version)?;
    if let Some(filetype) = form.one("filetype")
        && filetype != kind.filetype()
    {
        return Err(HttpError::bad_request(format!(
            "filetype {filetype} does not match {filename}"
        )));
    }
    let (sha256, md5, blake2_256) = check_digests(&form, &content)?;

    let path = record::file_path(&project, filename);
    if catalog::find_asset(&path)?.is_some() {
        return Err(exists(filename));
    }
    let mut core_metadata = None;
    if kind == Kind::Wheel {
        let bytes = metadata::from_wheel(blobs::open(&content.blob.digests.blake3)?)?;
        metadata::check(&bytes, name, version)?;
        core_metadata = Some(blobs::put_bytes(&bytes, DigestSet::SHA256)?);
    }
    let requires_python = form.one("requires_python").map(str::to_string);
    let dist = Dist {
        filename: filename.to_string(),
        packagetype: kind.filetype().into(),
        python_version: form.one("pyversion").unwrap_or("").into(),
        requires_python: requires_python.clone(),
        sha256,
        md5,
        blake2_256: Some(blake2_256),
        size: content.blob.size,
        core_metadata_sha256: core_metadata
            .as_ref()
            .and_then(|m| m.digests.sha256.clone()),
    };
    let mut assets = vec![Asset {
        path: path.clone(),
        blake3: content.blob.digests.blake3.clone(),
        content_type: content_type(&kind).into(),
        metadata_json: serde_json::to_string(&dist)?,
        added_at: 0,
    }];
    if let Some(stored) = core_metadata {
        assets.push(Asset {
            path: record::metadata_path(&path),
            blake3: stored.digests.blake3,
            content_type: "text/plain; charset=utf-8".into(),
            metadata_json: String::new(),
            added_at: 0,
        });
    }
    let release = ReleaseMeta {
        name: name.to_string(),
        requires_python,
        info: info(&form),
    };
    store(&project, version, serde_json::to_string(&release)?, assets).map_err(|e| match e {
        StoreError::AlreadyExists => exists(filename),
        e => e.into(),
    })?;
    Ok(Response::text(200, "OK\n"))
}

/// Adds one file (its assets) to release `version` of `project`. The first
/// file publishes the release, with `release_json` (a [`ReleaseMeta`]) as its
/// metadata; a later one is added to it. Either way one transaction, so the
/// file becomes visible whole or not at all.
pub(crate) fn store(
    project: &str,
    version: &str,
    release_json: String,
    assets: Vec<Asset>,
) -> Result<(), StoreError> {
    let owner = Owner {
        package: project.to_string(),
        version: Some(version.to_string()),
    };
    let add = |assets: Vec<Asset>| {
        let writes: Vec<Write> = assets
            .into_iter()
            .map(|a| Write::PutAsset((owner.clone(), a, false)))
            .collect();
        catalog::apply(&writes)
    };
    if catalog::get_version(project, version)?.is_some() {
        return add(assets);
    }
    let publication = Publication {
        version: VersionRow {
            package: project.to_string(),
            version: version.to_string(),
            metadata_json: release_json,
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        assets: assets.clone(),
        tags: Vec::new(),
    };
    match catalog::publish(publication) {
        // Another upload published the release first: add to it. (A file
        // that exists is refused again, by the put.)
        Err(StoreError::AlreadyExists) => add(assets),
        result => result,
    }
}

/// The declared digests must match the stored bytes; at least one is needed.
/// Returns the file's SHA-256, MD5 and BLAKE2b-256 (hex), all computed by the
/// host while the file streamed in.
pub(crate) fn check_digests(
    form: &Form,
    file: &FormFile,
) -> Result<(String, String, String), HttpError> {
    let stored = &file.blob.digests;
    let computed = |label: &str, digest: &Option<String>| {
        digest
            .clone()
            .ok_or_else(|| HttpError::new(500, format!("the host computed no {label}")))
    };
    let sha256 = computed("SHA-256", &stored.sha256)?;
    let md5 = computed("MD5", &stored.md5)?;
    let blake2_256 = computed("BLAKE2b-256", &stored.blake2b256)?;
    let declared = [
        ("sha256_digest", &sha256),
        ("md5_digest", &md5),
        ("blake2_256_digest", &blake2_256),
    ]
    .map(|(label, actual)| (label, form.one(label), actual));
    if declared.iter().all(|(_, d, _)| d.is_none()) {
        return Err(HttpError::bad_request(
            "a sha256_digest, md5_digest or blake2_256_digest field is required",
        ));
    }
    for (label, declared, actual) in declared {
        if let Some(declared) = declared
            && !declared.eq_ignore_ascii_case(actual)
        {
            return Err(HttpError::bad_request(format!(
                "{label} {declared} does not match the uploaded file ({actual})"
            )));
        }
    }
    Ok((sha256, md5, blake2_256))
}

/// PyPI's answer, which twine prints (from the reason phrase) and which its
/// `--skip-existing` recognizes.
fn exists(filename: &str) -> HttpError {
    HttpError::bad_request(format!("File already exists: {filename}"))
}

fn content_type(kind: &Kind) -> &'static str {
    match kind {
        Kind::Wheel => "application/zip",
        Kind::Sdist => "application/octet-stream",
    }
}

fn info(form: &Form) -> Map<String, Value> {
    let mut info = Map::new();
    for field in INFO_FIELDS {
        if let Some(v) = form.one(field) {
            info.insert(field.to_string(), json!(v));
        }
    }
    for field in LIST_FIELDS {
        let values = form.all(field);
        if !values.is_empty() {
            info.insert(field.to_string(), json!(values));
        }
    }
    info
}
