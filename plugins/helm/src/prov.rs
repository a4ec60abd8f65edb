//! A chart's provenance file (`helm package --sign`): an OpenPGP
//! clear-signed message holding the chart's `Chart.yaml`, a YAML document
//! end (`...`), and the archive's SHA-256 under `files:`.
//!
//! Wharf does not verify the signature (it holds none of the signers' keys;
//! `helm pull --verify` does, with the user's keyring): it reads which chart
//! version the file is for and refuses one whose digest is not the stored
//! chart's, so a provenance file always belongs to the bytes beside it.

use wharf_sdk::HttpError;
use wharf_sdk::types::BlobInfo;

use crate::chart;
use crate::upload::prov_text;
use wharf_sdk::yaml::{self, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub name: String,
    pub version: String,
    /// `files:` of the signed message: file name → `sha256:<hex>`.
    pub files: Vec<(String, String)>,
}

impl Provenance {
    /// It is the provenance of this chart archive.
    pub fn matches(&self, name: &str, version: &str, sha256: &str) -> Result<(), HttpError> {
        if (self.name.as_str(), self.version.as_str()) != (name, version) {
            return Err(HttpError::bad_request(format!(
                "the provenance file is for {} {}, not {name} {version}",
                self.name, self.version
            )));
        }
        let file = format!("{name}-{version}.tgz");
        let want = format!("sha256:{sha256}");
        match self.files.iter().find(|(f, _)| *f == file) {
            Some((_, sum)) if *sum == want => Ok(()),
            Some(_) => Err(HttpError::bad_request(format!(
                "the provenance file's digest of {file} is not the chart's ({want})"
            ))),
            None => Err(HttpError::bad_request(format!(
                "the provenance file has no digest of {file}"
            ))),
        }
    }
}

pub fn read_blob(blob: &BlobInfo) -> Result<Provenance, HttpError> {
    parse(&prov_text(blob)?)
        .map_err(|e| HttpError::bad_request(format!("not a chart provenance file: {e}")))
}

/// Reads the signed message of a `.prov`.
pub fn parse(text: &str) -> Result<Provenance, String> {
    let text = text.replace("\r\n", "\n");
    let rest = text
        .trim_start()
        .strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----\n")
        .ok_or("it is not an OpenPGP clear-signed message")?;
    // Armor headers (`Hash: SHA512`), then an empty line.
    let (_, message) = rest.split_once("\n\n").ok_or("the message has no body")?;
    let (message, _) = message
        .split_once("\n-----BEGIN PGP SIGNATURE-----")
        .ok_or("the message has no signature")?;
    // Undo dash escaping (RFC 4880 §7.1).
    let message: String = message
        .split('\n')
        .map(|line| line.strip_prefix("- ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let (metadata, sums) = message
        .split_once("\n...\n")
        .ok_or("the message has no `...` between Chart.yaml and its files")?;
    let chart = chart::parse(metadata).map_err(|e| format!("its Chart.yaml: {e}"))?;
    let files = match yaml::parse(sums)?.get("files") {
        Some(Node::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect(),
        _ => return Err("the message has no `files:`".into()),
    };
    Ok(Provenance {
        name: chart.name,
        version: chart.version,
        files,
    })
}
