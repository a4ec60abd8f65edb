//! A group's `maven-metadata.xml`, made of its members': an artifact whose
//! versions are split across a hosted member and a proxy resolves a range
//! over all of them.
//!
//! - Artifact level: every member's versions, once each, in Maven's order
//!   (`version`); `latest` the highest, `release` the highest that is not a
//!   SNAPSHOT, `lastUpdated` the newest; plugin prefixes (a group-level
//!   document) every member's, the first member's for a prefix two hold.
//! - SNAPSHOT level: the document of the member with the newest build,
//!   whole (the first member's among equals): a build's files are listed
//!   together, and the group finds each in the member that has it.
//!
//! Checksums. Maven checks the `.sha1` (or `.md5`, …) of the document it
//! read, so the group's sidecar must be the digest of the merged bytes,
//! but a merge gets the members' answers of its own route: their sidecars,
//! digests of their own documents. So a member's answer to a sidecar of
//! `maven-metadata.xml` also carries that document, in the header
//! [`DOCUMENT`], and the sidecar's merge merges those documents exactly as
//! the document's own merge does and hashes the result. The header's value
//! starts with a line break, which HTTP does not allow in a header: the
//! host drops it from every response (`plugin_headers`), so the document
//! never reaches a client, not even when one member's answer is served as
//! it is (then its document and its sidecar agree).

use std::collections::HashSet;
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

use crate::layout::{self, Algo, Path, Target, is_snapshot};
use crate::metadata::element;
use crate::serve::{checksum, text};
use crate::version;
use crate::xml::{self, Element};

/// The longest version listed: Maven's are a few dozen characters.
const MAX_VERSION: usize = 256;

/// The header of a metadata sidecar's answer that holds the document it
/// is the digest of, for a group's merge only.
pub const DOCUMENT: &str = "wharf-merge-document";

/// A metadata sidecar's answer: the digest of `xml`, with `xml` for a
/// group's merge behind a line break (never a valid header value, so never
/// sent to a client).
pub fn sidecar(algo: Algo, xml: &[u8]) -> Response {
    let carried = format!("\n{}", String::from_utf8_lossy(xml));
    text(checksum(algo, xml)).header(DOCUMENT, &carried)
}

/// `GET …/maven-metadata.xml` in a group.
pub fn metadata(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let path = path_of(req)?;
    let docs: Vec<(&str, String)> = answers
        .iter()
        .map(|a| {
            let doc = String::from_utf8_lossy(&a.body).into_owned();
            (a.repository.as_str(), doc)
        })
        .collect();
    let xml = merged(&path, &docs)?;
    Ok(Response::bytes(200, "application/xml", xml.into_bytes()))
}

/// `GET …/maven-metadata.xml.sha1` (and `.md5`, `.sha256`, `.sha512`) in a
/// group: the digest of what `metadata` answers for the same members.
pub fn metadata_sidecar(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let path = path_of(req)?;
    let algo = path
        .checksum
        .ok_or_else(|| HttpError::new(500, "not a checksum"))?;
    let docs = answers
        .iter()
        .map(|a| {
            let doc = a
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(DOCUMENT))
                .map(|(_, doc)| doc.strip_prefix('\n').unwrap_or(doc).to_string())
                .ok_or_else(|| {
                    HttpError::new(
                        502,
                        format!("{} sent a checksum without its document", a.repository),
                    )
                })?;
            Ok((a.repository.as_str(), doc))
        })
        .collect::<Result<Vec<_>, HttpError>>()?;
    let xml = merged(&path, &docs)?;
    Ok(text(checksum(algo, xml.as_bytes())))
}

fn path_of(req: &Request) -> Result<Path, HttpError> {
    layout::parse(&crate::request_path(req))
}

/// The group's document from the members' (member order).
fn merged(path: &Path, docs: &[(&str, String)]) -> Result<String, HttpError> {
    let roots = docs
        .iter()
        .map(|(member, doc)| {
            let bad = |e: String| {
                HttpError::new(
                    502,
                    format!("{member} answered with a maven-metadata.xml that does not parse: {e}"),
                )
            };
            let root = xml::parse(doc).map_err(bad)?;
            match root.name == "metadata" {
                true => Ok(root),
                false => Err(bad(format!("its root is <{}>", root.name))),
            }
        })
        .collect::<Result<Vec<_>, HttpError>>()?;
    match &path.target {
        Target::Metadata(None) => Ok(artifact_level(&roots)),
        Target::Metadata(Some(_)) => Ok(docs[newest_build(&roots)].1.clone()),
        Target::File(_) => Err(HttpError::new(500, "a file does not merge")),
    }
}

/// Every member's versions and plugins in one document.
fn artifact_level(roots: &[Element]) -> String {
    let first = |name: &str| roots.iter().find_map(|r| r.text_of(name));
    let versionings: Vec<&Element> = roots.iter().filter_map(|r| r.child("versioning")).collect();
    let of_versioning =
        |name: &'static str| versionings.iter().filter_map(move |v| v.text_of(name));

    let mut versions: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for versioning in &versionings {
        let listed = versioning.child("versions").into_iter();
        for v in listed
            .flat_map(|vs| vs.all("version"))
            .map(|v| v.text.trim())
        {
            // Maven's versions are short; a longer one is an upstream's
            // garbage, and would nest as deep as it is long.
            if !v.is_empty() && v.len() <= MAX_VERSION && seen.insert(v) {
                versions.push(v.to_string());
            }
        }
    }
    version::sort(&mut versions);
    let latest = version::highest(versions.iter().map(String::as_str))
        .or_else(|| version::highest(of_versioning("latest")));
    let releases = versions
        .iter()
        .map(String::as_str)
        .filter(|v| !is_snapshot(v));
    let release = version::highest(releases).or_else(|| version::highest(of_versioning("release")));
    let updated = of_versioning("lastUpdated").max_by_key(|u| newest_first(u));

    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n");
    for name in ["groupId", "artifactId"] {
        if let Some(value) = first(name) {
            element(&mut xml, 2, name, value);
        }
    }
    if !versionings.is_empty() {
        xml.push_str("  <versioning>\n");
        if let Some(latest) = latest {
            element(&mut xml, 4, "latest", latest);
        }
        if let Some(release) = release {
            element(&mut xml, 4, "release", release);
        }
        if !versions.is_empty() {
            xml.push_str("    <versions>\n");
            for v in &versions {
                element(&mut xml, 6, "version", v);
            }
            xml.push_str("    </versions>\n");
        }
        if let Some(updated) = updated {
            element(&mut xml, 4, "lastUpdated", updated);
        }
        xml.push_str("  </versioning>\n");
    }
    plugins(&mut xml, roots);
    xml.push_str("</metadata>\n");
    xml
}

/// A group-level document's plugin prefixes: each prefix once, the first
/// member's.
fn plugins(xml: &mut String, roots: &[Element]) {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut listed = String::new();
    let all = roots
        .iter()
        .filter_map(|r| r.child("plugins"))
        .flat_map(|p| p.all("plugin"));
    for plugin in all {
        let Some(key) = plugin
            .text_of("prefix")
            .or_else(|| plugin.text_of("artifactId"))
        else {
            continue;
        };
        if !seen.insert(key) {
            continue;
        }
        listed.push_str("    <plugin>\n");
        for name in ["name", "prefix", "artifactId"] {
            if let Some(value) = plugin.text_of(name) {
                element(&mut listed, 6, name, value);
            }
        }
        listed.push_str("    </plugin>\n");
    }
    if !seen.is_empty() {
        xml.push_str("  <plugins>\n");
        xml.push_str(&listed);
        xml.push_str("  </plugins>\n");
    }
}

/// `lastUpdated` as it sorts: a well-formed `yyyyMMddHHmmss` above
/// anything else, then by its digits.
fn newest_first(updated: &str) -> (bool, &str) {
    let well_formed = updated.len() == 14 && updated.bytes().all(|b| b.is_ascii_digit());
    (well_formed, updated)
}

/// The index of the SNAPSHOT document with the newest build: by
/// `<snapshot>` timestamp and build number, then `lastUpdated`; the first
/// among equals.
fn newest_build(roots: &[Element]) -> usize {
    let mut best = 0;
    for i in 1..roots.len() {
        if build_key(&roots[i]) > build_key(&roots[best]) {
            best = i;
        }
    }
    best
}

fn build_key(root: &Element) -> (&str, u64, (bool, &str)) {
    let versioning = root.child("versioning");
    let snapshot = versioning.and_then(|v| v.child("snapshot"));
    let timestamp = snapshot.and_then(|s| s.text_of("timestamp"));
    let build = snapshot
        .and_then(|s| s.text_of("buildNumber"))
        .and_then(|n| n.parse().ok());
    let updated = versioning.and_then(|v| v.text_of("lastUpdated"));
    (
        timestamp.unwrap_or(""),
        build.unwrap_or(0),
        newest_first(updated.unwrap_or("")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Md5;
    use sha1::Sha1;
    use sha2::{Digest, Sha256, Sha512};
    use wharf_sdk::hex;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::Method;

    const DIR: &str = "com/example/demo";

    fn merge(path: &str, answers: Vec<MemberAnswer>) -> wharf_sdk::types::Merged {
        TestRequest::new(Method::Get, path).merge::<crate::Maven>(answers)
    }

    fn answer(repository: &str, body: &str) -> MemberAnswer {
        MemberAnswer {
            repository: repository.into(),
            status: 200,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn artifact_doc(versions: &[&str], latest: &str, updated: &str) -> String {
        let versions: String = versions
            .iter()
            .map(|v| format!("<version>{v}</version>"))
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n<groupId>com.example</groupId>\
             <artifactId>demo</artifactId><versioning><latest>{latest}</latest><release>{latest}</release>\
             <versions>{versions}</versions><lastUpdated>{updated}</lastUpdated></versioning></metadata>\n"
        )
    }

    fn text_of(merged: &wharf_sdk::types::Merged) -> String {
        String::from_utf8(merged.body.clone()).unwrap()
    }

    #[test]
    fn versions_of_every_member_in_mavens_order_with_the_highest_as_latest_and_release() {
        let hosted = artifact_doc(
            &["1.10", "2.0-SNAPSHOT", "1.0"],
            "2.0-SNAPSHOT",
            "20260301000000",
        );
        let proxy = artifact_doc(&["1.0", "1.9", "1.2-rc1"], "1.9", "20260401000000");
        let path = format!("{DIR}/maven-metadata.xml");
        let merged = merge(
            &path,
            vec![answer("maven", &hosted), answer("proxy", &proxy)],
        );
        assert_eq!(merged.status, 200);
        let expected = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<metadata>",
            "  <groupId>com.example</groupId>",
            "  <artifactId>demo</artifactId>",
            "  <versioning>",
            "    <latest>2.0-SNAPSHOT</latest>",
            "    <release>1.10</release>",
            "    <versions>",
            "      <version>1.0</version>",
            "      <version>1.2-rc1</version>",
            "      <version>1.9</version>",
            "      <version>1.10</version>",
            "      <version>2.0-SNAPSHOT</version>",
            "    </versions>",
            "    <lastUpdated>20260401000000</lastUpdated>",
            "  </versioning>",
            "</metadata>",
            "",
        ];
        assert_eq!(text_of(&merged), expected.join("\n"));
    }

    #[test]
    fn an_absurdly_long_version_is_left_out() {
        let long = format!("1{}", "-1".repeat(5_000));
        let a = artifact_doc(&["1.0", &long], "1.0", "20260101000000");
        let b = artifact_doc(&["2.0"], "2.0", "20260101000000");
        let path = format!("{DIR}/maven-metadata.xml");
        let merged = merge(&path, vec![answer("a", &a), answer("b", &b)]);
        let text = text_of(&merged);
        assert!(
            text.contains("<version>1.0</version>") && !text.contains("-1-1"),
            "{text}"
        );
        assert!(text.contains("<latest>2.0</latest>"), "{text}");
    }

    #[test]
    fn a_sidecar_is_the_digest_of_the_merged_document() {
        mock::reset();
        let hosted = artifact_doc(&["1.0"], "1.0", "20260301000000");
        let proxy = artifact_doc(&["2.0"], "2.0", "20260101000000");
        let path = format!("{DIR}/maven-metadata.xml");
        let doc = merge(&path, vec![answer("a", &hosted), answer("b", &proxy)]);
        // What each member answers for a sidecar: its digest, and its document.
        let member_sidecar = |repository: &str, xml: &str, algo| {
            let r = sidecar(algo, xml.as_bytes());
            MemberAnswer {
                repository: repository.into(),
                status: r.status,
                headers: r.headers.clone(),
                body: r.body_bytes().to_vec(),
            }
        };
        let digests: [(Algo, &str, Vec<u8>); 4] = [
            (Algo::Md5, "md5", Md5::digest(&doc.body).to_vec()),
            (Algo::Sha1, "sha1", Sha1::digest(&doc.body).to_vec()),
            (Algo::Sha256, "sha256", Sha256::digest(&doc.body).to_vec()),
            (Algo::Sha512, "sha512", Sha512::digest(&doc.body).to_vec()),
        ];
        for (algo, suffix, digest) in digests {
            let answers = vec![
                member_sidecar("a", &hosted, algo),
                member_sidecar("b", &proxy, algo),
            ];
            let merged = merge(&format!("{path}.{suffix}"), answers);
            assert_eq!(
                (merged.status, text_of(&merged)),
                (200, hex(digest)),
                "{suffix}"
            );
            assert!(
                merged
                    .headers
                    .iter()
                    .all(|(n, _)| !n.starts_with("wharf-merge-")),
                "{:?}",
                merged.headers
            );
        }
        // Without the document, the digest cannot be made: a bad gateway.
        let mut bare = member_sidecar("b", &proxy, Algo::Sha1);
        bare.headers.retain(|(n, _)| n != DOCUMENT);
        let answers = vec![member_sidecar("a", &hosted, Algo::Sha1), bare];
        let merged = merge(&format!("{path}.sha1"), answers);
        assert_eq!(merged.status, 502);
        assert!(
            text_of(&merged).contains("b sent a checksum"),
            "{}",
            text_of(&merged)
        );
    }

    #[test]
    fn members_answer_sidecars_of_metadata_with_the_document_and_routes_are_merged() {
        mock::reset();
        mock::login_as(Some("alice"));
        for (version, body) in [("1.0", "a"), ("1.1", "b")] {
            let jar = format!("{DIR}/{version}/demo-{version}.jar");
            let put = TestRequest::new(Method::Put, &jar).body(body.as_bytes().to_vec());
            assert_eq!(put.send::<crate::Maven>().unwrap().1.status, 201);
        }
        let get = |path: &str| {
            TestRequest::new(Method::Get, path)
                .send::<crate::Maven>()
                .unwrap()
        };
        let (route, doc) = get(&format!("{DIR}/maven-metadata.xml"));
        assert_eq!(route.id, "metadata");
        assert_eq!(route.access[0].package.as_deref(), Some("com.example:demo"));
        let (route, sha1) = get(&format!("{DIR}/maven-metadata.xml.sha1"));
        assert_eq!(route.id, "metadata-sidecar");
        assert_eq!(route.access[0].package.as_deref(), Some("com.example:demo"));
        assert_eq!(
            sha1.body_bytes(),
            hex(Sha1::digest(doc.body_bytes())).as_bytes()
        );
        let carried = sha1.header_value(DOCUMENT).unwrap().strip_prefix('\n');
        assert_eq!(carried.map(str::as_bytes), Some(doc.body_bytes()));
        let (route, snapshot) = get(&format!("{DIR}/1.1-SNAPSHOT/maven-metadata.xml.md5"));
        assert_eq!(
            (route.id.as_str(), snapshot.status),
            ("metadata-sidecar", 404)
        );
        // A file is still the first member's that has it, not merged.
        let (route, _) = get(&format!("{DIR}/1.0/demo-1.0.jar"));
        assert_eq!(route.id, "get");
        let (route, _) = get(&format!("{DIR}/1.0/demo-1.0.jar.sha1"));
        assert_eq!(route.id, "get");
        let merged = <crate::Maven as wharf_sdk::Format>::router().merged_routes();
        assert_eq!(merged, ["metadata", "metadata-sidecar"]);
    }

    #[test]
    fn a_snapshot_document_is_the_newest_builds_whole() {
        let snapshot = |timestamp: &str, build: u32, updated: &str, classifier: &str| {
            format!(
                "<metadata modelVersion=\"1.1.0\"><groupId>com.example</groupId><artifactId>demo</artifactId>\
                 <version>1.0-SNAPSHOT</version><versioning><snapshot><timestamp>{timestamp}</timestamp>\
                 <buildNumber>{build}</buildNumber></snapshot><lastUpdated>{updated}</lastUpdated>\
                 <snapshotVersions><snapshotVersion><classifier>{classifier}</classifier><extension>jar</extension>\
                 <value>1.0-{timestamp}-{build}</value></snapshotVersion></snapshotVersions></versioning></metadata>"
            )
        };
        let older = snapshot("20260101.100000", 9, "20260101100000", "a");
        let newer = snapshot("20260102.100000", 2, "20260102100000", "b");
        let path = format!("{DIR}/1.0-SNAPSHOT/maven-metadata.xml");
        for order in [[&older, &newer], [&newer, &older]] {
            let answers = vec![answer("x", order[0]), answer("y", order[1])];
            let merged = merge(&path, answers);
            assert_eq!(text_of(&merged), newer);
        }
        let same = vec![
            answer("x", &older),
            answer("y", &older.replace(">a<", ">c<")),
        ];
        assert_eq!(text_of(&merge(&path, same)), older);
    }

    #[test]
    fn plugin_prefixes_merge_and_a_broken_member_document_is_a_bad_gateway() {
        let plugins = |entries: &[(&str, &str)]| {
            let entries: String = entries
                .iter()
                .map(|(prefix, artifact)| {
                    format!("<plugin><name>{prefix}</name><prefix>{prefix}</prefix><artifactId>{artifact}</artifactId></plugin>")
                })
                .collect();
            format!("<metadata><plugins>{entries}</plugins></metadata>")
        };
        let a = plugins(&[("deploy", "maven-deploy-plugin"), ("x", "ours")]);
        let b = plugins(&[("x", "theirs"), ("clean", "maven-clean-plugin")]);
        let path = "org/apache/maven/plugins/maven-metadata.xml";
        let merged = text_of(&merge(path, vec![answer("a", &a), answer("b", &b)]));
        let root = xml::parse(&merged).unwrap();
        assert!(root.child("versioning").is_none() && root.child("groupId").is_none());
        let listed: Vec<(&str, &str)> = root
            .child("plugins")
            .unwrap()
            .all("plugin")
            .map(|p| {
                (
                    p.text_of("prefix").unwrap(),
                    p.text_of("artifactId").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("deploy", "maven-deploy-plugin"),
                ("x", "ours"),
                ("clean", "maven-clean-plugin")
            ]
        );

        let broken = vec![answer("a", &a), answer("proxy", "<html>")];
        let merged = merge(path, broken);
        assert_eq!(merged.status, 502);
        assert!(
            text_of(&merged).contains("proxy answered"),
            "{}",
            text_of(&merged)
        );
    }
}
