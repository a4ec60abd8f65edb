//! `POST /` (and `legacy/`): the upload form twine sends
//! (https://docs.pypi.org/api/upload/). The host parses the multipart body,
//! storing the `content` file as a blob with its SHA-256 and MD5; the plugin
//! checks the declared digests and the file name, extracts a wheel's METADATA,
//! and publishes the file as one catalog row (see `record`).

use serde_json::{Map, Value, json};
use wharf_sdk::types::{Asset, DigestSet, Publication, StoreError, VersionRow};
use wharf_sdk::{FormFile, FormPart};
use wharf_sdk::{HttpError, Request, Response, blobs, catalog};

use crate::metadata;
use crate::names::{self, Kind};
use crate::record::{self, Dist};

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
struct Form(Vec<(String, String)>);

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
    let parts = req
        .take_body()?
        .ingest_multipart(DigestSet::SHA256 | DigestSet::MD5)?;
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
    if catalog::find_asset(&path).is_some() {
        return Err(exists(filename));
    }
    let mut assets = vec![Asset {
        path: path.clone(),
        blake3: content.blob.digests.blake3.clone(),
        content_type: content_type(&kind).into(),
    }];
    let mut core_metadata_sha256 = None;
    if kind == Kind::Wheel {
        let bytes = metadata::from_wheel(blobs::open(&content.blob.digests.blake3)?)?;
        metadata::check(&bytes, name, version)?;
        let stored = blobs::put_bytes(&bytes, DigestSet::SHA256)?;
        core_metadata_sha256 = stored.digests.sha256;
        assets.push(Asset {
            path: format!("{path}.metadata"),
            blake3: stored.digests.blake3,
            content_type: "text/plain; charset=utf-8".into(),
        });
    }

    // A file added to a yanked release is yanked with it.
    let yanked = record::files(&project)
        .iter()
        .any(|f| f.dist.version == version && f.yanked);
    let dist = Dist {
        name: name.to_string(),
        version: version.to_string(),
        filename: filename.to_string(),
        packagetype: kind.filetype().into(),
        python_version: form.one("pyversion").unwrap_or("").into(),
        requires_python: form.one("requires_python").map(str::to_string),
        sha256,
        md5,
        blake2_256: Some(blake2_256),
        size: content.blob.size,
        core_metadata_sha256,
        info: info(&form),
    };
    let publication = Publication {
        version: VersionRow {
            package: project,
            version: record::row_version(version, filename),
            metadata_json: serde_json::to_string(&dist)?,
            yanked,
            deprecated: None,
            published_at: 0,
        },
        assets,
        tags: Vec::new(),
    };
    catalog::publish(&publication).map_err(|e| match e {
        StoreError::AlreadyExists => exists(filename),
        e => e.into(),
    })?;
    Ok(Response::bytes(
        200,
        "text/plain; charset=utf-8",
        b"OK\n".to_vec(),
    ))
}

/// The declared digests must match the stored bytes; at least one is needed.
/// Returns the file's SHA-256, MD5 and BLAKE2b-256 (hex).
fn check_digests(form: &Form, file: &FormFile) -> Result<(String, String, String), HttpError> {
    let stored = &file.blob.digests;
    let sha256 = stored.sha256.clone().unwrap_or_default();
    let md5 = stored.md5.clone().unwrap_or_default();
    let blake2_256 = blake2_256(&stored.blake3)?;
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

/// BLAKE2b-256 of a stored blob, read back in the sandbox: the host's digest
/// set (BLAKE3, SHA-*, MD5) has no BLAKE2, and only PyPI uses it.
pub(crate) fn blake2_256(blake3: &str) -> Result<String, HttpError> {
    use blake2::{Blake2b, Digest, digest::consts::U32};
    let mut hasher = Blake2b::<U32>::new();
    std::io::copy(&mut blobs::open(blake3)?, &mut hasher)
        .map_err(|e| HttpError::new(500, format!("reading the upload back: {e}")))?;
    Ok(wharf_sdk::hex(hasher.finalize()))
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
