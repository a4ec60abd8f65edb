//! A chart: its `Chart.yaml`, read inside the sandbox from the uploaded
//! `.tgz` through the SDK's bounded tar reader, checked, and kept as the
//! fields of its `index.yaml` entry (Helm's `Metadata`, with Helm's types:
//! a field of the wrong type would fail the whole index for every user).

use serde_json::{Map, Value, json};
use std::io::Read;
use wharf_sdk::archive::{ArchiveError, Limits, Tar};
use wharf_sdk::{HttpError, blobs};

use wharf_sdk::yaml::{self, Node};

/// What a chart may unpack to: Helm's own limits when it loads one (100 MiB
/// in all, 5 MiB per file), so nothing stored here is a chart helm refuses.
const CHART_LIMITS: Limits = Limits {
    max_unpacked_bytes: 100 << 20,
    max_entry_bytes: 5 << 20,
    ..Limits::DEFAULT
};

/// A chart's name and version, and its index fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub name: String,
    pub version: String,
    /// The `Chart.yaml` fields of the index entry, keys sorted.
    pub fields: Map<String, Value>,
}

/// Chart names: letters, digits, `-` and `_`, starting with a letter or
/// digit, at most 100 bytes. No `.`: a download's file name
/// `{name}-{version}.tgz` then splits at the first `-` followed by
/// `digits.`, exactly (see [`split_file`]).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// SemVer 2 (what Helm requires), at most 128 bytes.
pub fn valid_version(version: &str) -> bool {
    version.len() <= 128 && semver::Version::parse(version).is_ok()
}

/// `{name}-{version}.tgz` (or `.tgz.prov`) → (`name`, `version`, is a prov).
pub fn split_file(file: &str) -> Option<(&str, &str, bool)> {
    let (stem, prov) = match file.strip_suffix(".tgz.prov") {
        Some(stem) => (stem, true),
        None => (file.strip_suffix(".tgz")?, false),
    };
    let bytes = stem.as_bytes();
    let at = (0..bytes.len()).find(|&i| {
        bytes[i] == b'-' && {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            digits > 0 && bytes.get(i + 1 + digits) == Some(&b'.')
        }
    })?;
    Some((&stem[..at], &stem[at + 1..], prov))
}

/// Where a chart and its provenance are stored and served, relative to the
/// repository (the index's `urls` are these, relative).
pub fn chart_path(name: &str, version: &str) -> String {
    format!("charts/{name}-{version}.tgz")
}

pub fn prov_path(name: &str, version: &str) -> String {
    format!("charts/{name}-{version}.tgz.prov")
}

/// Reads and checks the `Chart.yaml` of a stored chart archive.
pub fn read_blob(blake3: &str) -> Result<Chart, HttpError> {
    let blob = blobs::open(blake3)?;
    let size = blob.size();
    read(blob, size)
}

/// Reads and checks the `Chart.yaml` of a chart archive: every entry under
/// one top folder named after the chart, as `helm package` lays it out.
/// The whole archive is walked, so a bomb is refused whatever its order.
pub fn read(reader: impl Read, size: u64) -> Result<Chart, HttpError> {
    let mut archive = Tar::gz(reader, size, CHART_LIMITS);
    let mut top: Option<String> = None;
    let mut chart_yaml: Option<String> = None;
    for entry in archive.entries().map_err(refused)? {
        let mut entry = entry.map_err(refused)?;
        let name = entry.name().trim_start_matches("./").to_string();
        let (first, rest) = name.split_once('/').unwrap_or((&name, ""));
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t != first => {
                return Err(HttpError::bad_request(format!(
                    "not a chart: entries in both {t}/ and {first}/ (a chart has one top folder)"
                )));
            }
            Some(_) => {}
        }
        if rest == "Chart.yaml" && entry.is_file() {
            let text = entry
                .read_to_string(yaml::MAX_BYTES as u64)
                .map_err(refused)?;
            chart_yaml = Some(text);
        }
    }
    let Some(text) = chart_yaml else {
        return Err(HttpError::bad_request(
            "not a chart: the archive has no {name}/Chart.yaml (is it a .tgz made by `helm package`?)",
        ));
    };
    let chart =
        parse(&text).map_err(|e| HttpError::bad_request(format!("Chart.yaml is invalid: {e}")))?;
    let folder = top.unwrap_or_default();
    if folder != chart.name {
        return Err(HttpError::bad_request(format!(
            "Chart.yaml names the chart {:?}, but the archive's folder is {folder:?}",
            chart.name
        )));
    }
    Ok(chart)
}

fn refused(e: ArchiveError) -> HttpError {
    match e {
        ArchiveError::Malformed(why) => {
            HttpError::bad_request(format!("not a chart (.tgz): {why}"))
        }
        ArchiveError::TooLarge { .. } => HttpError::new(413, format!("chart refused: {e}")),
        e => e.into(),
    }
}

/// A `Chart.yaml`, checked as Helm checks it (`Metadata.Validate`) and
/// kept with Helm's types.
pub fn parse(text: &str) -> Result<Chart, String> {
    let root = yaml::parse(text)?;
    if !matches!(root, Node::Map(_)) {
        return Err("it is not a mapping".into());
    }
    let fields = metadata(&root)?;
    let get = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("");
    let (api, name, version) = (get("apiVersion"), get("name"), get("version"));
    if !matches!(api, "v1" | "v2" | "v3") {
        return Err(format!("apiVersion {api:?} is not v1, v2 or v3"));
    }
    if !valid_name(name) {
        return Err(format!(
            "name {name:?} is not a valid chart name (letters, digits, `-`, `_`; at most 100)"
        ));
    }
    if !valid_version(version) {
        return Err(format!("version {version:?} is not SemVer 2"));
    }
    if !matches!(get("type"), "" | "application" | "library") {
        return Err(format!(
            "type {:?} is neither application nor library",
            get("type")
        ));
    }
    Ok(Chart {
        name: name.to_string(),
        version: version.to_string(),
        fields,
    })
}

const STRINGS: &[&str] = &[
    "apiVersion",
    "appVersion",
    "condition",
    "description",
    "home",
    "icon",
    "kubeVersion",
    "name",
    "tags",
    "type",
    "version",
];
const STRING_LISTS: &[&str] = &["keywords", "sources"];

/// Helm's `Metadata` fields of `root`, typed; unknown fields are left out
/// (Helm drops them too).
pub fn metadata(root: &Node) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert(key.to_string(), v);
        }
    };
    // Inserted in key order: see `emit::document`.
    let mut keys: Vec<&str> = STRINGS
        .iter()
        .chain(STRING_LISTS)
        .chain(&["annotations", "dependencies", "deprecated", "maintainers"])
        .copied()
        .collect();
    keys.sort_unstable();
    for key in keys {
        let node = root.get(key);
        let value = match key {
            "annotations" => string_map(node, key)?,
            "dependencies" => dependencies(node)?,
            "deprecated" => boolean(node, key)?,
            "maintainers" => maintainers(node)?,
            k if STRING_LISTS.contains(&k) => string_list(node, k)?,
            k => string(node, k)?.map(Value::String),
        };
        put(key, value);
    }
    Ok(out)
}

fn string(node: Option<&Node>, what: &str) -> Result<Option<String>, String> {
    match node {
        None => Ok(None),
        Some(Node::Scalar(..)) => Ok(node.and_then(Node::as_str).map(str::to_string)),
        Some(_) => Err(format!("{what} must be a string")),
    }
}

fn boolean(node: Option<&Node>, what: &str) -> Result<Option<Value>, String> {
    let Some(text) = string(node, what)? else {
        return Ok(None);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Ok(Some(json!(true))),
        "false" | "no" | "off" | "n" => Ok(Some(json!(false))),
        _ => Err(format!("{what} must be true or false, not {text:?}")),
    }
}

fn string_list(node: Option<&Node>, what: &str) -> Result<Option<Value>, String> {
    match node {
        None => Ok(None),
        Some(Node::Seq(items)) => items
            .iter()
            .map(|item| string(Some(item), what).map(|s| json!(s.unwrap_or_default())))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Some(Value::Array(v))),
        Some(n @ Node::Scalar(..)) if n.as_str().is_none() => Ok(None),
        Some(_) => Err(format!("{what} must be a list of strings")),
    }
}

fn string_map(node: Option<&Node>, what: &str) -> Result<Option<Value>, String> {
    match node {
        None => Ok(None),
        Some(Node::Map(pairs)) => {
            let mut sorted: Vec<(String, String)> = Vec::new();
            for (k, v) in pairs {
                let key = string(Some(k), what)?.unwrap_or_default();
                let value = string(Some(v), what)?.unwrap_or_default();
                sorted.push((key, value));
            }
            sorted.sort();
            sorted.dedup_by(|a, b| a.0 == b.0);
            Ok(Some(Value::Object(
                sorted.into_iter().map(|(k, v)| (k, json!(v))).collect(),
            )))
        }
        Some(n @ Node::Scalar(..)) if n.as_str().is_none() => Ok(None),
        Some(_) => Err(format!("{what} must be a map of strings")),
    }
}

fn maintainers(node: Option<&Node>) -> Result<Option<Value>, String> {
    let Some(node) = node else { return Ok(None) };
    let mut out = Vec::new();
    for m in list(node, "maintainers")? {
        let mut entry = Map::new();
        for key in ["email", "name", "url"] {
            if let Some(v) = string(m.get(key), &format!("maintainers[].{key}"))? {
                entry.insert(key.into(), json!(v));
            }
        }
        out.push(Value::Object(entry));
    }
    Ok(Some(Value::Array(out)))
}

fn dependencies(node: Option<&Node>) -> Result<Option<Value>, String> {
    let Some(node) = node else { return Ok(None) };
    let mut out = Vec::new();
    for d in list(node, "dependencies")? {
        let mut entry = Map::new();
        let name = string(d.get("name"), "dependencies[].name")?.unwrap_or_default();
        if !valid_name(&name) {
            return Err(format!("dependency name {name:?} is invalid"));
        }
        for key in [
            "alias",
            "condition",
            "enabled",
            "import-values",
            "name",
            "repository",
            "tags",
            "version",
        ] {
            let what = format!("dependencies[].{key}");
            let value = match key {
                "enabled" => boolean(d.get(key), &what)?,
                "tags" => string_list(d.get(key), &what)?,
                "import-values" => import_values(d.get(key))?,
                _ => string(d.get(key), &what)?.map(Value::String),
            };
            if let Some(v) = value {
                entry.insert(key.into(), v);
            }
        }
        out.push(Value::Object(entry));
    }
    Ok(Some(Value::Array(out)))
}

/// `import-values`: strings, or `{child, parent}` maps.
fn import_values(node: Option<&Node>) -> Result<Option<Value>, String> {
    let Some(node) = node else { return Ok(None) };
    let mut out = Vec::new();
    for item in list(node, "dependencies[].import-values")? {
        match item {
            Node::Scalar(..) => out.push(json!(item.as_str().unwrap_or_default())),
            Node::Map(_) => {
                let mut entry = Map::new();
                for key in ["child", "parent"] {
                    if let Some(v) = string(item.get(key), "import-values")? {
                        entry.insert(key.into(), json!(v));
                    }
                }
                out.push(Value::Object(entry));
            }
            Node::Seq(_) => return Err("import-values holds a list".into()),
        }
    }
    Ok(Some(Value::Array(out)))
}

/// A sequence's items (a null is an empty list).
fn list<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], String> {
    match node {
        Node::Seq(items) => Ok(items),
        n @ Node::Scalar(..) if n.as_str().is_none() => Ok(&[]),
        _ => Err(format!("{what} must be a list")),
    }
}
