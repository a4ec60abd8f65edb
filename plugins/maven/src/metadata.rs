//! `maven-metadata.xml`, always generated from the catalog (uploads of it
//! are ignored): clients read-modify-write it, so trusting uploads lets
//! `<snapshot>` and `<snapshotVersions>` drift apart. The bytes depend only
//! on the catalog, so the checksum sidecars of a document agree with it.

use std::fmt::Write;

use wharf_sdk::catalog::VersionRow;
use wharf_sdk::escape::markup;

use crate::layout::is_snapshot;
use crate::store::Stored;

/// The artifact's version list. `latest` is the most recently deployed
/// version and `release` the most recently deployed release, which is what
/// Maven's own deploy writes; `versions` keep the order of first deploy, and
/// "deployed" is when a version's first file was.
pub fn artifact(group: &str, artifact: &str, versions: &[VersionRow]) -> Option<String> {
    let last = versions.last()?;
    let release = versions.iter().rev().find(|v| !is_snapshot(&v.version));
    let updated = versions.iter().map(|v| v.published_at).max().unwrap_or(0);

    let mut xml = head(group, artifact, "");
    xml.push_str("  <versioning>\n");
    element(&mut xml, 4, "latest", &last.version);
    if let Some(release) = release {
        element(&mut xml, 4, "release", &release.version);
    }
    xml.push_str("    <versions>\n");
    for v in versions {
        element(&mut xml, 6, "version", &v.version);
    }
    xml.push_str("    </versions>\n");
    element(&mut xml, 4, "lastUpdated", &timestamp(updated));
    xml.push_str("  </versioning>\n</metadata>\n");
    Some(xml)
}

/// The builds of one SNAPSHOT version: `<snapshot>` names the newest build
/// and `<snapshotVersions>` the newest file of each classifier and extension.
pub fn snapshot(group: &str, artifact: &str, version: &str, files: &[Stored]) -> Option<String> {
    let mut files: Vec<&Stored> = files.iter().collect();
    if files.is_empty() {
        return None;
    }
    // Newest last: by build, then deploy time (files without a build are the
    // non-unique `1.0-SNAPSHOT` form and sort by deploy time only).
    let order = |f: &&Stored| {
        let build = f.build();
        (
            build.as_ref().map_or(0, |b| b.number),
            build.map(|b| b.timestamp).unwrap_or_default(),
            f.added_at,
        )
    };
    files.sort_by_key(order);
    let updated = files.iter().map(|f| f.added_at).max().unwrap_or(0);

    let mut xml = head(group, artifact, version);
    xml.push_str("  <versioning>\n");
    if let Some(build) = files.iter().rev().find_map(|f| f.build()) {
        xml.push_str("    <snapshot>\n");
        element(&mut xml, 6, "timestamp", &build.timestamp);
        element(&mut xml, 6, "buildNumber", &build.number.to_string());
        xml.push_str("    </snapshot>\n");
    }
    element(&mut xml, 4, "lastUpdated", &timestamp(updated));
    xml.push_str("    <snapshotVersions>\n");
    // The newest file of each kind, listed oldest first like Maven does.
    let mut newest: Vec<&Stored> = Vec::new();
    for f in files.iter().rev() {
        if !newest
            .iter()
            .any(|n| (&n.classifier, &n.extension) == (&f.classifier, &f.extension))
        {
            newest.push(f);
        }
    }
    for f in newest.into_iter().rev() {
        let (value, updated) = match f.build() {
            Some(b) => (
                format!("{}-{}-{}", base(version), b.timestamp, b.number),
                b.timestamp.replace('.', ""),
            ),
            None => (version.to_string(), timestamp(f.added_at)),
        };
        xml.push_str("      <snapshotVersion>\n");
        if let Some(classifier) = &f.classifier {
            element(&mut xml, 8, "classifier", classifier);
        }
        element(&mut xml, 8, "extension", &f.extension);
        element(&mut xml, 8, "value", &value);
        element(&mut xml, 8, "updated", &updated);
        xml.push_str("      </snapshotVersion>\n");
    }
    xml.push_str("    </snapshotVersions>\n  </versioning>\n</metadata>\n");
    Some(xml)
}

fn base(version: &str) -> &str {
    version.strip_suffix("-SNAPSHOT").unwrap_or(version)
}

pub fn head(group: &str, artifact: &str, version: &str) -> String {
    let model = if version.is_empty() {
        ""
    } else {
        " modelVersion=\"1.1.0\""
    };
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata{model}>\n");
    element(&mut xml, 2, "groupId", group);
    element(&mut xml, 2, "artifactId", artifact);
    if !version.is_empty() {
        element(&mut xml, 2, "version", version);
    }
    xml
}

pub fn element(xml: &mut String, indent: usize, name: &str, text: &str) {
    let _ = writeln!(xml, "{:indent$}<{name}>{}</{name}>", "", markup(text));
}

/// Unix milliseconds as Maven's `yyyyMMddHHmmss` (UTC).
pub fn timestamp(millis: u64) -> String {
    let t = wharf_sdk::time::UtcTime::from_unix_millis(millis);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}
