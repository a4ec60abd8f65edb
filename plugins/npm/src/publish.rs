//! `PUT {pkg}`: `npm publish` (a packument carrying base64 tarballs in
//! `_attachments`) and metadata updates without attachments (`npm deprecate`
//! sends the whole packument back).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use wharf_sdk::types::{Asset, BlobInfo, DigestSet, Publication, StoreError, VersionRow, Write};
use wharf_sdk::{HttpError, Request, Response, catalog};

use crate::{deprecate, names, package_doc, tags};

/// Version fields that live at package level (or in the catalog row) instead.
const MOVED_FIELDS: &[&str] = &["readme", "readmeFilename", "deprecated"];

pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    let body = req.take_body()?;
    // The host decodes the tarballs into the store while parsing; only the
    // rewritten document, with {"$blob": "<blake3>"} in place of the data, comes back.
    let (json, blobs) = body.ingest_json_base64(
        &["/_attachments/*/data".into()],
        DigestSet::SHA512 | DigestSet::SHA1,
    )?;
    let doc: Map<String, Value> = serde_json::from_str(&json)?;
    let body_name = doc.get("name").and_then(Value::as_str);
    let has_attachments = doc
        .get("_attachments")
        .and_then(Value::as_object)
        .is_some_and(|a| !a.is_empty());
    if body_name.is_some_and(|n| n != name) || (has_attachments && body_name.is_none()) {
        return Err(HttpError::bad_request(format!(
            "the package name in the document ({}) does not match the URL ({name})",
            body_name.unwrap_or("none")
        )));
    }
    if has_attachments {
        publish(req.user(), &name, &doc, &blobs)?;
    } else {
        deprecate::update(&name, &doc)?;
    }
    Ok(crate::ok())
}

/// One version ready to publish, checked against the stored bytes.
struct Plan {
    version: String,
    meta: Map<String, Value>,
    file: String,
    blake3: String,
    tags: Vec<String>,
}

fn publish(
    user: Option<&str>,
    name: &str,
    doc: &Map<String, Value>,
    blobs: &[BlobInfo],
) -> Result<(), HttpError> {
    names::validate_new(name)?;
    let versions = doc
        .get("versions")
        .and_then(Value::as_object)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| HttpError::bad_request("the document has no versions to publish"))?;
    let attachments = doc
        .get("_attachments")
        .and_then(Value::as_object)
        .expect("checked by the caller");
    let empty = Map::new();
    let body_tags = doc
        .get("dist-tags")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for tag in body_tags.keys() {
        tags::check_name(tag)?;
    }
    // The registry always keeps a `latest`: the first publish gets it even under another tag.
    let mut wants_latest =
        !body_tags.contains_key("latest") && catalog::get_tag(name, "latest")?.is_none();

    // Check everything first, so a bad version publishes nothing.
    let mut plans = Vec::new();
    for (version, meta) in versions {
        let meta = meta
            .as_object()
            .ok_or_else(|| HttpError::bad_request(format!("version {version} is not an object")))?;
        if semver::Version::parse(version).is_err() {
            return Err(HttpError::bad_request(format!(
                "invalid version: {version}"
            )));
        }
        if meta
            .get("version")
            .and_then(Value::as_str)
            .is_some_and(|v| v != version)
        {
            return Err(HttpError::bad_request(format!(
                "version {version} declares another version"
            )));
        }
        if catalog::get_version(name, version)?.is_some() {
            return Err(republish(version));
        }
        let file = names::tarball_file(name, version);
        let dist = meta
            .get("dist")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let declared_file = dist
            .get("tarball")
            .and_then(Value::as_str)
            .map(names::basename);
        let blob = attachment(
            attachments,
            &[Some(file.as_str()), declared_file],
            versions.len() == 1,
            blobs,
        )?;
        let (integrity, shasum) = verify(name, version, dist, blob)?;

        let mut meta = meta.clone();
        for field in MOVED_FIELDS {
            meta.remove(*field);
        }
        meta.insert("name".into(), json!(name));
        meta.insert("version".into(), json!(version));
        meta.entry("_id")
            .or_insert_with(|| json!(format!("{name}@{version}")));
        if let Some(user) = user {
            // Accounts carry no e-mail; an empty one keeps `npm view` from printing "<undefined>".
            meta.insert("_npmUser".into(), json!({ "name": user, "email": "" }));
        }
        if has_install_script(&meta) {
            meta.entry("hasInstallScript").or_insert(json!(true));
        }
        let mut dist = dist.clone();
        // Stored as the file name only: the URL is rendered at read time.
        dist.insert("tarball".into(), json!(file));
        dist.insert("integrity".into(), json!(integrity));
        dist.insert("shasum".into(), json!(shasum));
        meta.insert("dist".into(), Value::Object(dist));

        let mut tags: Vec<String> = body_tags
            .iter()
            .filter(|(_, v)| v.as_str() == Some(version))
            .map(|(t, _)| t.clone())
            .collect();
        if std::mem::take(&mut wants_latest) {
            tags.push("latest".into());
        }
        plans.push(Plan {
            version: version.clone(),
            meta,
            file,
            blake3: blob.digests.blake3.clone(),
            tags,
        });
    }

    // Package-level fields follow `latest`, like the public registry's readme.
    let latest = plans.iter().find(|p| p.tags.iter().any(|t| t == "latest"));
    let latest = latest
        .and_then(|p| versions.get(&p.version))
        .and_then(Value::as_object);
    let fields = package_fields(package_doc::load(name)?, doc, latest);

    // The versions, their tarballs and tags, and the package document: all or nothing.
    let mut writes = vec![package_doc::put(name, &fields)];
    writes.extend(
        plans
            .iter()
            .map(|plan| Write::Publish(publication(name, plan))),
    );
    catalog::apply(&writes).map_err(|e| match e {
        // Another publish of the same version won the race since the check above.
        StoreError::AlreadyExists => {
            let versions: Vec<&str> = plans.iter().map(|p| p.version.as_str()).collect();
            republish(&versions.join(", "))
        }
        e => e.into(),
    })
}

fn publication(name: &str, plan: &Plan) -> Publication {
    Publication {
        version: VersionRow {
            package: name.to_string(),
            version: plan.version.clone(),
            metadata_json: Value::Object(plan.meta.clone()).to_string(),
            yanked: false,
            deprecated: None,
            published_at: 0,
        },
        // The facts of the file (integrity, shasum) are in the version's `dist`.
        assets: vec![Asset {
            path: names::tarball_path(name, &plan.file),
            blake3: plan.blake3.clone(),
            content_type: "application/octet-stream".into(),
            metadata_json: String::new(),
            added_at: 0,
        }],
        tags: plan.tags.clone(),
    }
}

/// npm's own wording, which the CLI shows as is.
fn republish(version: &str) -> HttpError {
    HttpError::forbidden(format!(
        "You cannot publish over the previously published versions: {version}."
    ))
}

/// The stored blob of the attachment named like one of `files` (npm names a
/// scoped tarball `@scope/name-1.0.0.tgz`, so keys are compared by basename).
/// A publish of one version with one attachment needs no naming agreement.
fn attachment<'a>(
    attachments: &Map<String, Value>,
    files: &[Option<&str>],
    single: bool,
    blobs: &'a [BlobInfo],
) -> Result<&'a BlobInfo, HttpError> {
    let named = attachments
        .iter()
        .find(|(key, _)| files.contains(&Some(names::basename(key))));
    let (key, value) = named
        .or_else(|| {
            attachments
                .iter()
                .next()
                .filter(|_| single && attachments.len() == 1)
        })
        .ok_or_else(|| {
            HttpError::bad_request(format!("no attachment named {}", files[0].unwrap_or("?")))
        })?;
    let blake3 = value
        .pointer("/data/$blob")
        .and_then(Value::as_str)
        .ok_or_else(|| HttpError::bad_request(format!("attachment {key} has no data")))?;
    let blob = blobs
        .iter()
        .find(|b| b.digests.blake3 == blake3)
        .ok_or_else(|| HttpError::bad_request(format!("attachment {key} was not stored")))?;
    if value
        .get("length")
        .and_then(Value::as_u64)
        .is_some_and(|len| len != blob.size)
    {
        return Err(HttpError::bad_request(format!(
            "attachment {key} declares {} bytes but has {}",
            value["length"], blob.size
        )));
    }
    Ok(blob)
}

/// Checks the client's `dist.integrity` and `dist.shasum` against the digests
/// the host computed; returns the values to store.
fn verify(
    name: &str,
    version: &str,
    dist: &Map<String, Value>,
    blob: &BlobInfo,
) -> Result<(String, String), HttpError> {
    let internal = |what: &str| HttpError::new(500, format!("the host computed no {what} digest"));
    let sha512 = hex::decode(
        blob.digests
            .sha512
            .as_deref()
            .ok_or_else(|| internal("sha512"))?,
    )
    .map_err(|_| internal("sha512"))?;
    let sha1_hex = blob.digests.sha1.clone().ok_or_else(|| internal("sha1"))?;
    let sha1 = hex::decode(&sha1_hex).map_err(|_| internal("sha1"))?;
    let integrity = format!("sha512-{}", STANDARD.encode(&sha512));
    let mismatch = |what: &str, declared: &str, actual: &str| -> HttpError {
        HttpError::bad_request(format!(
            "integrity mismatch for {name}@{version}: {what} declared {declared}, the tarball has {actual}"
        ))
    };

    if let Some(declared) = dist.get("integrity").and_then(Value::as_str) {
        // An SRI string: space-separated `algo-base64[?options]`; the ones we can check must all match.
        let mut checked = 0;
        for entry in declared.split_whitespace() {
            let (algo, rest) = entry.split_once('-').unwrap_or((entry, ""));
            let expected = match algo {
                "sha512" => &sha512,
                "sha1" => &sha1,
                _ => continue,
            };
            let b64 = rest.split('?').next().unwrap_or("");
            if STANDARD.decode(b64).ok().as_ref() != Some(expected) {
                return Err(mismatch("integrity", declared, &integrity));
            }
            checked += 1;
        }
        if checked == 0 {
            return Err(mismatch("integrity", declared, &integrity));
        }
    }
    if let Some(declared) = dist.get("shasum").and_then(Value::as_str)
        && !declared.eq_ignore_ascii_case(&sha1_hex)
    {
        return Err(mismatch("shasum", declared, &sha1_hex));
    }
    Ok((integrity, sha1_hex))
}

/// npm runs these scripts on install; the abbreviated document must say so.
fn has_install_script(meta: &Map<String, Value>) -> bool {
    let scripts = meta.get("scripts").and_then(Value::as_object);
    scripts.is_some_and(|s| {
        ["preinstall", "install", "postinstall"]
            .iter()
            .any(|k| s.contains_key(*k))
    })
}

/// The package-level document after a publish: when the publish moves
/// `latest`, the fields of its version (the top level of the body wins over
/// the version object). A `maintainers` list stored before owners were the
/// host's is dropped.
fn package_fields(
    mut stored: Map<String, Value>,
    doc: &Map<String, Value>,
    latest: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    if let Some(latest) = latest {
        for field in package_doc::FIELDS {
            match doc.get(*field).or_else(|| latest.get(*field)) {
                Some(value) if !value.is_null() => stored.insert(field.to_string(), value.clone()),
                _ => stored.remove(*field),
            };
        }
    }
    stored.remove("maintainers");
    stored
}
