//! A group's suites: one signed suite over the members' (contract 0.3.3).
//!
//! - `Packages{,.gz,.xz}` of a component and architecture: every member's
//!   stanzas, the first member's winning a package version and
//!   architecture that two list (a private build shadows the public one),
//!   compressed again as asked.
//! - `Release`: the members' components and architectures united, and the
//!   size and SHA-256 of each index as the group serves it: an index that
//!   one member lists is served as that member's bytes, so its line is
//!   copied; one that several list is merged, so it is read through the
//!   group (`group::read`) and hashed. `Date` is the newest member's and
//!   `Valid-Until` the earliest, so a merge of the same members always
//!   writes the same bytes. No `Acquire-By-Hash`: a merged index exists
//!   under its name only.
//! - `InRelease` and `Release.gpg`: the group's `Release` signed with the
//!   plugin's key, like a hosted repository's.
//!
//! Only the binary indices are listed: `Contents`, translations and the
//! like are a single member's, as everything outside the merged routes.

use flate2::read::MultiGzDecoder;
use lzma_rust2::XzReader;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Read;
use wharf_sdk::archive::XZ_MAX_DICTIONARY_KIB;
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response, group, signing};

use crate::KEY_ID;
use crate::index::{Compression, rfc2822};
use crate::serve::{labels, unavailable};

/// Decompressed index text one merge reads from all its members together.
pub const TEXT_LIMIT: u64 = 96 << 20;
/// Index files a merged `Release` lists: each may cost a group read.
const MAX_INDICES: usize = 48;

/// `GET dists/{dist}/{component}/binary-{arch}/Packages{,.gz,.xz}`.
pub fn packages(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let Some(compression) = Compression::from_file_name(req.param("file")) else {
        return Err(HttpError::not_found("no such index"));
    };
    let mut seen = HashSet::new();
    let mut out = String::new();
    let mut left = TEXT_LIMIT;
    for answer in &answers {
        let text =
            decompress(&answer.body, compression, &mut left).map_err(|why| bad(answer, &why))?;
        for stanza in stanzas(&text) {
            let key = ["Package", "Version", "Architecture"].map(|f| field(stanza, f).to_string());
            if !seen.insert(key) {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(stanza.trim_end_matches('\n'));
            out.push('\n');
        }
    }
    Ok(Response::bytes(
        200,
        compression.content_type(),
        compression.apply(&out),
    ))
}

/// `GET dists/{dist}/Release`, `InRelease` or `Release.gpg`.
pub fn release(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let dist = req.param("dist");
    let file = req.param("file");
    if file == "Release" {
        let text = merged_release(req, dist, &answers)?;
        return Ok(Response::bytes(
            200,
            "text/plain; charset=utf-8",
            text.into_bytes(),
        ));
    }
    let release = group::read_found(&format!("dists/{dist}/Release"))
        .map_err(|why| HttpError::new(502, why))?
        .ok_or_else(|| HttpError::not_found(format!("no distribution {dist}")))?;
    match file {
        "InRelease" => {
            let signed = signing::clearsign(KEY_ID, &release).map_err(unavailable)?;
            Ok(Response::bytes(
                200,
                "text/plain; charset=utf-8",
                signed.into_bytes(),
            ))
        }
        "Release.gpg" => {
            let signature = signing::sign_detached(KEY_ID, &release).map_err(unavailable)?;
            Ok(Response::bytes(
                200,
                "application/pgp-signature",
                signature.into_bytes(),
            ))
        }
        _ => Err(HttpError::not_found(format!("no {file} in dists/{dist}/"))),
    }
}

/// What the merge reads of a member's `Release`.
#[derive(Default)]
struct MemberRelease {
    suite: Option<String>,
    codename: Option<String>,
    date: Option<String>,
    valid_until: Option<String>,
    components: Vec<String>,
    architectures: Vec<String>,
    no_arch_all: bool,
    /// `SHA256:` lines of binary indices: (path, size, hex).
    indices: Vec<(String, u64, String)>,
}

fn merged_release(
    req: &Request,
    dist: &str,
    answers: &[MemberAnswer],
) -> Result<String, HttpError> {
    let members: Vec<MemberRelease> = answers
        .iter()
        .map(|a| {
            std::str::from_utf8(&a.body)
                .map(parse)
                .map_err(|_| bad(a, "is not UTF-8"))
        })
        .collect::<Result<_, _>>()?;
    let first = &members[0];
    let union = |pick: fn(&MemberRelease) -> &Vec<String>| {
        let mut all: Vec<&str> = Vec::new();
        for word in members.iter().flat_map(|m| pick(m).iter()) {
            if !all.contains(&word.as_str()) {
                all.push(word);
            }
        }
        all.join(" ")
    };
    let dates = members.iter().filter_map(|m| m.date.as_deref());
    let date = dates
        .max_by_key(|d| instant(d))
        .map_or_else(|| rfc2822(0), str::to_string);
    let valid_until = (members.iter().filter_map(|m| m.valid_until.as_deref()))
        .filter(|d| instant(d).is_some())
        .min_by_key(|d| instant(d));
    let labels = labels(req);
    let mut out = format!(
        "Origin: {}\nLabel: {}\nSuite: {}\nCodename: {}\nDate: {date}\n",
        labels.origin,
        labels.label,
        first.suite.as_deref().unwrap_or(dist),
        first.codename.as_deref().unwrap_or(dist),
    );
    if let Some(until) = valid_until {
        out.push_str(&format!("Valid-Until: {until}\n"));
    }
    out.push_str(&format!(
        "Architectures: {}\nComponents: {}\n",
        union(|m| &m.architectures),
        union(|m| &m.components)
    ));
    if members.iter().all(|m| m.no_arch_all) {
        out.push_str("No-Support-for-Architecture-all: Packages\n");
    }
    out.push_str("SHA256:\n");
    let mut listed: Vec<&str> = Vec::new();
    for (path, size, hex) in members.iter().flat_map(|m| m.indices.iter()) {
        if listed.contains(&path.as_str()) {
            continue;
        }
        if listed.len() == MAX_INDICES {
            return Err(HttpError::new(
                502,
                format!(
                    "the members list more than {MAX_INDICES} indices of {dist}: too many to merge"
                ),
            ));
        }
        listed.push(path);
        let holders = members
            .iter()
            .filter(|m| m.indices.iter().any(|(p, _, _)| p == path))
            .count();
        let (size, hex) = match holders {
            1 => (*size, hex.clone()),
            _ => match group::read_found(&format!("dists/{dist}/{path}")) {
                Ok(Some(bytes)) => (bytes.len() as u64, wharf_sdk::hex(Sha256::digest(&bytes))),
                Ok(None) => continue,
                Err(why) => return Err(HttpError::new(502, why)),
            },
        };
        out.push_str(&format!(" {hex} {size:>16} {path}\n"));
    }
    Ok(out)
}

/// The fields of a `Release` the merge needs; what it does not know is
/// passed over.
fn parse(text: &str) -> MemberRelease {
    let mut release = MemberRelease::default();
    let mut in_sha256 = false;
    for line in text.lines() {
        if let Some(entry) = line.strip_prefix(' ') {
            let words: Vec<&str> = entry.split_whitespace().collect();
            if let [hex, size, path] = words[..]
                && in_sha256
                && hex.len() == 64
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
                && let Ok(size) = size.parse()
                && is_binary_index(path)
            {
                let hex = hex.to_ascii_lowercase();
                release.indices.push((path.to_string(), size, hex));
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            in_sha256 = false;
            continue;
        };
        let value = value.trim();
        let one = || Some(value.to_string()).filter(|v| !v.is_empty());
        let words = || value.split_whitespace().map(str::to_string).collect();
        in_sha256 = name == "SHA256";
        match name {
            "Suite" => release.suite = one(),
            "Codename" => release.codename = one(),
            "Date" => release.date = one(),
            "Valid-Until" => release.valid_until = one(),
            "Components" => release.components = words(),
            "Architectures" => release.architectures = words(),
            "No-Support-for-Architecture-all" => release.no_arch_all = value == "Packages",
            _ => {}
        }
    }
    release
}

/// `{component}/binary-{arch}/Packages{,.gz,.xz}`, the component one or
/// two plain segments (`main`, `updates/main`).
fn is_binary_index(path: &str) -> bool {
    let mut parts = path.rsplitn(3, '/');
    let (Some(file), Some(dir), Some(component)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    Compression::from_file_name(file).is_some()
        && dir
            .strip_prefix("binary-")
            .is_some_and(crate::names::is_dist_name)
        && component.split('/').count() <= 2
        && component.split('/').all(crate::names::is_dist_name)
}

/// A Release date as a sortable tuple (`Sun, 06 Dec 2026 10:39:16 UTC`);
/// one that does not parse sorts first, so it never wins "newest".
fn instant(date: &str) -> Option<(u32, u32, u32, String)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rest = date.split_once(", ").map_or(date, |(_, r)| r);
    let mut words = rest.split_whitespace();
    let day = words.next()?.parse().ok()?;
    let month = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32;
    let year = words.next()?.parse().ok()?;
    let time = words.next().filter(|t| t.len() == 8)?.to_string();
    Some((year, month, day, time))
}

/// An index's text, charged to `left`.
fn decompress(body: &[u8], compression: Compression, left: &mut u64) -> Result<String, String> {
    let reader: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(body),
        Compression::Gzip => Box::new(MultiGzDecoder::new(body)),
        Compression::Xz => Box::new(XzReader::new_mem_limit(body, false, XZ_MAX_DICTIONARY_KIB)),
    };
    let mut text = Vec::new();
    reader
        .take(*left + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("does not decompress: {e}"))?;
    *left = left.checked_sub(text.len() as u64).ok_or_else(|| {
        format!(
            "is larger than {} MiB together with the others",
            TEXT_LIMIT >> 20
        )
    })?;
    String::from_utf8(text).map_err(|_| "is not UTF-8".to_string())
}

/// The stanzas of an index: runs of lines between blank lines.
fn stanzas(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(['\n', '\r']);
        if rest.is_empty() {
            return None;
        }
        let end = rest.find("\n\n").map_or(rest.len(), |i| i + 1);
        let (stanza, after) = rest.split_at(end);
        rest = after;
        Some(stanza)
    })
}

/// A single-line field of a stanza ("" when absent).
fn field<'a>(stanza: &'a str, name: &str) -> &'a str {
    stanza
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map_or("", str::trim)
}

fn bad(answer: &MemberAnswer, why: &str) -> HttpError {
    HttpError::new(
        502,
        format!(
            "{}'s index {why}: the group cannot merge it",
            answer.repository
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_sdk::mock::{self, TestRequest, group_answer, member_answer};
    use wharf_sdk::types::Method;

    fn stanza(package: &str, version: &str, description: &str) -> String {
        format!(
            "Package: {package}\nVersion: {version}\nArchitecture: amd64\n\
             Description: {description}\nFilename: pool/main/{package}_{version}_amd64.deb\n"
        )
    }

    fn merge(path: &str, answers: Vec<MemberAnswer>) -> wharf_sdk::types::Merged {
        TestRequest::new(Method::Get, path).merge::<crate::Deb>(answers)
    }

    #[test]
    fn a_merged_index_lists_every_members_packages_the_first_winning_a_version_both_list() {
        mock::reset();
        let private = [
            stanza("tool", "1.0", "private"),
            stanza("shared", "1.0", "private build"),
        ];
        let public = [
            stanza("shared", "1.0", "public build"),
            stanza("hello", "2.0", "public"),
        ];
        for compression in Compression::ALL {
            let answer = |repo: &str, stanzas: &[String]| {
                let text = stanzas.join("\n");
                member_answer(repo, compression.content_type(), compression.apply(&text))
            };
            let path = format!("dists/stable/main/binary-amd64/{}", compression.file_name());
            let merged = merge(
                &path,
                vec![answer("private", &private), answer("public", &public)],
            );
            assert_eq!(
                merged.status,
                200,
                "{}",
                String::from_utf8_lossy(&merged.body)
            );
            let text = decompress(&merged.body, compression, &mut TEXT_LIMIT.clone()).unwrap();
            let expected = [&private[0], &private[1], &public[1]]
                .map(|s| s.as_str())
                .join("\n");
            assert_eq!(text, expected, "{compression:?}");
            // The same answers always make the same bytes (Release hashes them).
            assert_eq!(merged.body, compression.apply(&expected));
        }
    }

    #[test]
    fn an_index_that_does_not_decompress_is_a_502_naming_the_member() {
        mock::reset();
        let answers = vec![
            member_answer("private", "application/x-xz", xz(b"Package: a\n")),
            member_answer("broken", "application/x-xz", b"not xz".to_vec()),
        ];
        let merged = merge("dists/stable/main/binary-amd64/Packages.xz", answers);
        assert_eq!(merged.status, 502);
        assert!(String::from_utf8_lossy(&merged.body).contains("broken"));
    }

    fn xz(text: &[u8]) -> Vec<u8> {
        Compression::Xz.apply_bytes(text)
    }

    #[test]
    fn a_merged_release_lists_each_index_as_the_group_serves_it() {
        mock::reset();
        let line = |hex: char, size: u64, path: &str| {
            format!(" {} {size:>16} {path}\n", hex.to_string().repeat(64))
        };
        let private = format!(
            "Origin: Wharf\nSuite: stable\nCodename: stable\nDate: Sat, 28 Nov 2026 10:00:00 UTC\n\
             Architectures: amd64 arm64\nComponents: main\nNo-Support-for-Architecture-all: Packages\n\
             Acquire-By-Hash: yes\nMD5Sum:\n{}SHA256:\n{}{}{}",
            line('1', 5, "main/binary-amd64/Packages"),
            line('a', 10, "main/binary-amd64/Packages"),
            line('a', 11, "main/binary-amd64/Packages.xz"),
            line('b', 20, "main/binary-arm64/Packages"),
        );
        let public = format!(
            "Suite: stable\nCodename: bookworm\nDate: Sun, 06 Dec 2026 09:00:00 UTC\n\
             Valid-Until: Sun, 13 Dec 2026 09:00:00 UTC\nArchitectures: amd64\n\
             Components: main contrib\nSHA256:\n{}{}{}{}",
            line('c', 30, "main/binary-amd64/Packages"),
            line('d', 40, "contrib/binary-amd64/Packages.xz"),
            line('e', 50, "main/Contents-amd64.gz"),
            line('f', 60, "main/binary-amd64/Packages.xz"),
        );
        // Both list main/amd64's plain and xz index: read through the group
        // (the xz one is gone by now); the others are one member's.
        let merged_index = b"Package: tool\n".to_vec();
        group_answer(
            "dists/stable/main/binary-amd64/Packages",
            200,
            "text/plain",
            merged_index.clone(),
        );
        let answers = vec![
            member_answer("private", "text/plain", private),
            member_answer("public", "text/plain", public),
        ];
        let merged = merge("dists/stable/Release", answers);
        assert_eq!(
            merged.status,
            200,
            "{}",
            String::from_utf8_lossy(&merged.body)
        );
        let release = String::from_utf8(merged.body).unwrap();
        let expected = format!(
            "Origin: Wharf\nLabel: Wharf\nSuite: stable\nCodename: stable\n\
             Date: Sun, 06 Dec 2026 09:00:00 UTC\nValid-Until: Sun, 13 Dec 2026 09:00:00 UTC\n\
             Architectures: amd64 arm64\nComponents: main contrib\nSHA256:\n \
             {} {:>16} main/binary-amd64/Packages\n{}{}",
            wharf_sdk::hex(Sha256::digest(&merged_index)),
            merged_index.len(),
            line('b', 20, "main/binary-arm64/Packages"),
            line('d', 40, "contrib/binary-amd64/Packages.xz"),
        );
        assert_eq!(release, expected);
    }

    #[test]
    fn in_release_signs_the_groups_release_with_the_plugins_key() {
        mock::reset();
        mock::grant_signing_key(KEY_ID);
        let release = "Suite: stable\nSHA256:\n";
        group_answer("dists/stable/Release", 200, "text/plain", release);
        let answers = || {
            vec![
                member_answer("private", "text/plain", "signed by one"),
                member_answer("public", "text/plain", "signed by another"),
            ]
        };
        let signed = merge("dists/stable/InRelease", answers());
        assert_eq!(signed.status, 200);
        let signed = String::from_utf8(signed.body).unwrap();
        let digest = wharf_sdk::hex(Sha256::digest(release));
        assert!(
            signed.contains(release) && signed.contains(&format!("mock deb-1 sha256:{digest}"))
        );
        let detached = merge("dists/stable/Release.gpg", answers());
        assert!(String::from_utf8(detached.body).unwrap().contains(&digest));
        // Without the key's grant the group cannot vouch for its suite.
        mock::reset();
        group_answer("dists/stable/Release", 200, "text/plain", release);
        assert_eq!(merge("dists/stable/InRelease", answers()).status, 503);
    }

    #[test]
    fn stanzas_split_on_blank_lines_and_keep_their_lines() {
        let text = "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n\n\nPackage: c\n";
        let all: Vec<&str> = stanzas(text).collect();
        assert_eq!(
            all,
            [
                "Package: a\nVersion: 1\n",
                "Package: b\nVersion: 2\n",
                "Package: c\n"
            ]
        );
        assert_eq!(field(all[1], "Version"), "2");
        assert_eq!(field(all[2], "Version"), "");
    }

    #[test]
    fn dates_sort_by_time_not_by_text() {
        let older = instant("Sat, 28 Nov 2026 10:00:00 UTC");
        let newer = instant("Sun, 06 Dec 2026 09:00:00 UTC");
        assert!(older.is_some() && newer > older);
        assert!(instant("yesterday").is_none());
    }

    #[test]
    fn only_binary_indices_are_listed() {
        assert!(is_binary_index("main/binary-amd64/Packages.xz"));
        assert!(is_binary_index("updates/main/binary-arm64/Packages"));
        assert!(!is_binary_index("main/Contents-amd64.gz"));
        assert!(!is_binary_index("main/i18n/Translation-en"));
        assert!(!is_binary_index("main/binary-amd64/Release"));
        assert!(!is_binary_index("../x/binary-amd64/Packages"));
    }
}
