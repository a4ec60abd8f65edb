//! A group's indexes: every member's versions in one `info/{gem}`,
//! `versions`, `names` and specs list, so Bundler and `gem install` of a gem that a
//! hosted and a proxy member both hold see all of them. Members come in
//! the group's order and the first wins a conflict: a version and platform
//! two members hold is the earlier member's line (its dependencies and
//! checksum, so the `.gem` the group serves, the first member's, matches).
//!
//! A member's answer may be any bytes (a proxy's upstream is not trusted):
//! parsing is linear in its size, never panics, and a document that is not
//! a compact index is a 502 naming the member.

use md5::{Digest, Md5};
use std::collections::{HashMap, HashSet};
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

use crate::index::{compact, compare};
use crate::marshal::{self, Tuple, Value};
use crate::proxy::INDEX_LIMIT;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read as _, Write as _};

/// `GET info/{gem}`: the first member's body as it is, then the lines of
/// versions it lacks from the others. Kept verbatim so that when the
/// others add nothing the merged MD5 is the first's, which `versions`
/// can then promise (see `checksum`).
pub fn info(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let docs = answers
        .iter()
        .map(|a| Ok((text(a)?, info_lines(a)?)))
        .collect::<Result<Vec<_>, HttpError>>()?;
    // A member with no live version (all yanked) does not set the body.
    let base = docs.iter().position(|(_, l)| !l.is_empty()).unwrap_or(0);
    let mut body = docs[base].0.to_string();
    let mut seen: HashSet<&str> = docs[base].1.iter().map(|(k, _)| *k).collect();
    for (i, (_, lines)) in docs.iter().enumerate() {
        for (key, line) in lines {
            if i != base && seen.insert(key) {
                if !body.ends_with('\n') {
                    body.push('\n');
                }
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    Ok(compact(body, &[]))
}

/// `GET versions`: the first member's `created_at` header, then one line
/// per gem with the union of its live versions and the MD5 of the `info`
/// file the group serves for it (`checksum`).
pub fn versions(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let members = answers
        .iter()
        .map(Versions::parse)
        .collect::<Result<Vec<_>, HttpError>>()?;
    let mut body = members[0].header.to_string();
    for (i, member) in members.iter().enumerate() {
        // Each gem once, where its first member lists it.
        for name in member.order.iter().copied() {
            if members[..i].iter().any(|m| m.gems.contains_key(name)) {
                continue;
            }
            let held: Vec<Held> = members[i..]
                .iter()
                .filter_map(|m| m.gems.get(name).map(Gem::held))
                .filter(|h| !h.versions.is_empty())
                .collect();
            if held.is_empty() {
                continue;
            }
            let mut seen = HashSet::new();
            let versions: Vec<&str> = held
                .iter()
                .flat_map(|h| h.versions.iter().copied())
                .filter(|v| seen.insert(*v))
                .collect();
            body.push_str(&format!(
                "{name} {} {}\n",
                versions.join(","),
                checksum(&held)
            ));
        }
    }
    Ok(compact(body, &[]))
}

/// The MD5 of the merged `info/{gem}`. With one holder, or when the later
/// holders add no version to the first, the merged body is the first
/// holder's, whose MD5 its `versions` line carries. Otherwise it cannot be
/// known here (`versions` does not carry the lines): a checksum no body
/// has, which changes with any holder's, makes Bundler revalidate the
/// `info` file (a 304 while it has not changed) instead of trusting a stale
/// copy.
fn checksum(held: &[Held]) -> String {
    let first = &held[0];
    let theirs: HashSet<&str> = first.versions.iter().copied().collect();
    if held[1..]
        .iter()
        .all(|h| h.versions.iter().all(|v| theirs.contains(v)))
    {
        return first.md5.to_string();
    }
    let mut md5 = Md5::new();
    md5.update(b"wharf group");
    for h in held {
        md5.update(b" ");
        md5.update(h.md5.as_bytes());
        md5.update(b" ");
        md5.update(h.versions.join(",").as_bytes());
    }
    hex::encode(md5.finalize())
}

/// `GET names`: every member's gems, sorted, once each.
pub fn names(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut names: Vec<&str> = Vec::new();
    for answer in &answers {
        let text = text(answer)?;
        let (_, rest) = split_header(text).ok_or_else(|| unreadable(answer, "names"))?;
        names.extend(rest.lines().map(str::trim_end).filter(|n| !n.is_empty()));
    }
    names.sort_unstable();
    names.dedup();
    let mut body = String::from("---\n");
    for name in names {
        body.push_str(name);
        body.push('\n');
    }
    Ok(compact(body, &[]))
}

/// `GET specs.4.8.gz` and its siblings, which `gem install` resolves
/// with: every member's entries once; of `latest_specs`, the newest per
/// name and platform (the first member's on a tie).
pub fn specs(req: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let lists = answers
        .iter()
        .map(tuples)
        .collect::<Result<Vec<_>, HttpError>>()?;
    let mut chosen: Vec<&Tuple> = Vec::new();
    if req.head.raw_path.ends_with("latest_specs.4.8.gz") {
        let mut at: HashMap<(&str, &str), usize> = HashMap::new();
        for t in lists.iter().flatten() {
            match at.get(&(t.0.as_str(), t.2.as_str())) {
                Some(&i) if compare(&t.1, &chosen[i].1).is_gt() => chosen[i] = t,
                Some(_) => {}
                None => {
                    at.insert((&t.0, &t.2), chosen.len());
                    chosen.push(t);
                }
            }
        }
    } else {
        let mut seen: HashSet<&Tuple> = HashSet::new();
        chosen.extend(lists.iter().flatten().filter(|t| seen.insert(t)));
    }
    let list = chosen
        .into_iter()
        .map(|(name, version, platform)| {
            Value::Array(vec![
                marshal::str(name),
                marshal::version(version),
                marshal::str(platform),
            ])
        })
        .collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&marshal::dump(&Value::Array(list)))
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    let body = gz
        .finish()
        .map_err(|e| HttpError::new(500, e.to_string()))?;
    Ok(Response::bytes(200, "application/octet-stream", body))
}

/// A member's gzipped specs list, inflated up to `INDEX_LIMIT` (a gzip
/// bomb stops there).
fn tuples(answer: &MemberAnswer) -> Result<Vec<Tuple>, HttpError> {
    let mut data = Vec::new();
    let read = GzDecoder::new(&answer.body[..])
        .take(INDEX_LIMIT as u64 + 1)
        .read_to_end(&mut data);
    match read {
        Ok(n) if n <= INDEX_LIMIT => marshal::load_tuples(&data, INDEX_LIMIT),
        _ => None,
    }
    .ok_or_else(|| unreadable(answer, "specs"))
}

/// One member's `versions`: its header and its gems, in order.
struct Versions<'a> {
    header: &'a str,
    order: Vec<&'a str>,
    gems: HashMap<&'a str, Gem<'a>>,
}

/// A gem's lines in one member's `versions` (rubygems.org appends a line
/// per change): their version lists, and the last line's MD5 of `info`.
/// Kept as slices of the answer: rubygems.org's has 180,000 gems.
struct Gem<'a> {
    lists: Vec<&'a str>,
    md5: &'a str,
}

/// A gem one member holds: its live versions (`1.0`, `1.0-java`).
struct Held<'a> {
    versions: Vec<&'a str>,
    md5: &'a str,
}

impl<'a> Versions<'a> {
    fn parse(answer: &'a MemberAnswer) -> Result<Versions<'a>, HttpError> {
        let text = text(answer)?;
        let (header, rest) = split_header(text).ok_or_else(|| unreadable(answer, "versions"))?;
        let mut order = Vec::new();
        let mut gems: HashMap<&str, Gem> = HashMap::new();
        for line in rest.lines().filter(|l| !l.is_empty()) {
            let mut fields = line.splitn(3, ' ');
            let (Some(name), Some(list)) = (fields.next(), fields.next()) else {
                return Err(unreadable(answer, "versions"));
            };
            if name.is_empty() {
                return Err(unreadable(answer, "versions"));
            }
            let gem = gems.entry(name).or_insert_with(|| {
                order.push(name);
                Gem {
                    lists: Vec::new(),
                    md5: "",
                }
            });
            gem.lists.push(list);
            gem.md5 = fields.next().unwrap_or("").trim_end();
        }
        Ok(Versions {
            header,
            order,
            gems,
        })
    }
}

impl<'a> Gem<'a> {
    /// Bundler's reading: `-1.0` removes a version listed before. Linear:
    /// a set of the live ones, each kept once where first listed.
    fn held(&self) -> Held<'a> {
        let mut live: HashSet<&str> = HashSet::new();
        let mut listed = Vec::new();
        for version in self.lists.iter().flat_map(|l| l.split(',')) {
            match version.strip_prefix('-') {
                Some(gone) => {
                    live.remove(gone);
                }
                None if !version.is_empty() => {
                    live.insert(version);
                    listed.push(version);
                }
                None => {}
            }
        }
        let versions = listed.into_iter().filter(|v| live.remove(v)).collect();
        Held {
            versions,
            md5: self.md5,
        }
    }
}

/// An `info` file's lines after `---`, each with its version and platform
/// (`1.0.0`, `1.0.0-java`): what two members' lines conflict on.
fn info_lines(answer: &MemberAnswer) -> Result<Vec<(&str, &str)>, HttpError> {
    let text = text(answer)?;
    let rest = split_header(text).map_or(text, |(_, rest)| rest);
    rest.lines()
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(' ') {
            Some((key, _)) if !key.is_empty() => Ok((key, line)),
            _ => Err(unreadable(answer, "info")),
        })
        .collect()
}

/// The text up to and including the `---` line, and the rest.
fn split_header(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix("---\n") {
        return Some(("---\n", rest));
    }
    let at = text.find("\n---\n")? + "\n---\n".len();
    Some(text.split_at(at))
}

fn text(answer: &MemberAnswer) -> Result<&str, HttpError> {
    std::str::from_utf8(&answer.body).map_err(|_| {
        HttpError::new(
            502,
            format!(
                "{} answered with a document that is not UTF-8",
                answer.repository
            ),
        )
    })
}

fn unreadable(answer: &MemberAnswer, what: &str) -> HttpError {
    HttpError::new(
        502,
        format!(
            "{} answered with a {what} document that is not a compact index",
            answer.repository
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::{Merged, Method};

    fn answer(repository: &str, body: &str) -> MemberAnswer {
        mock::member_answer(repository, "text/plain; charset=utf-8", body)
    }

    fn merge(path: &str, answers: Vec<MemberAnswer>) -> Merged {
        TestRequest::new(Method::Get, path).merge::<crate::RubyGems>(answers)
    }

    fn text(merged: &Merged) -> &str {
        std::str::from_utf8(&merged.body).unwrap()
    }

    fn header<'a>(merged: &'a Merged, name: &str) -> &'a str {
        let found = merged.headers.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str()).unwrap()
    }

    fn md5(body: &str) -> String {
        hex::encode(Md5::digest(body.as_bytes()))
    }

    const PRIVATE: &str = "---\n1.0.0 |checksum:aa\n2.0.0 base:>= 1|checksum:bb\n";
    const PUBLIC: &str = "---\n1.0.0 |checksum:cc\n1.0.0-java |checksum:dd\n1.5.0 |checksum:ee\n";

    #[test]
    fn info_lists_every_members_versions_and_the_first_wins_a_conflict() {
        let merged = merge(
            "info/shared",
            vec![answer("gems", PRIVATE), answer("gems-proxy", PUBLIC)],
        );
        assert_eq!(merged.status, 200);
        let body = text(&merged);
        assert_eq!(
            body,
            "---\n1.0.0 |checksum:aa\n2.0.0 base:>= 1|checksum:bb\n\
             1.0.0-java |checksum:dd\n1.5.0 |checksum:ee\n"
        );
        // The validators Bundler checks are the merged body's.
        assert_eq!(header(&merged, "etag"), format!("\"{}\"", md5(body)));
        assert!(header(&merged, "repr-digest").starts_with("sha-256=:"));
    }

    #[test]
    fn info_of_a_member_with_every_version_yanked_is_the_others() {
        let merged = merge(
            "info/shared",
            vec![answer("gems", "---\n"), answer("gems-proxy", PUBLIC)],
        );
        assert_eq!(text(&merged), PUBLIC);
    }

    fn versions_of(info: &[(&str, &str, &str)]) -> String {
        let mut body = String::from("created_at: 2026-01-01T00:00:00Z\n---\n");
        for (name, versions, info) in info {
            body.push_str(&format!("{name} {versions} {}\n", md5(info)));
        }
        body
    }

    #[test]
    fn versions_carry_the_union_and_the_md5_of_the_merged_info() {
        let private = versions_of(&[
            ("only-private", "1.0", "p"),
            ("shared", "1.0.0,2.0.0", PRIVATE),
        ]);
        let public = "created_at: 2020-01-01T00:00:00Z\n---\n\
                      shared 1.0.0,1.0.0-java 0000\nonly-public 3.0 ffff\n\
                      shared 1.5.0,-1.0.0-java,1.0.0-java "
            .to_string()
            + &md5(PUBLIC)
            + "\nyanked 1.0,-1.0 1111\n";
        let merged = merge(
            "versions",
            vec![answer("gems", &private), answer("gems-proxy", &public)],
        );
        assert_eq!(merged.status, 200);
        let body = text(&merged);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[..2], ["created_at: 2026-01-01T00:00:00Z", "---"]);
        assert_eq!(lines[2], format!("only-private 1.0 {}", md5("p")));
        assert_eq!(lines[4], "only-public 3.0 ffff");
        assert_eq!(lines.len(), 5, "{body}");
        // Both hold `shared`: the union, and a checksum that is not the
        // first's (the merged info differs from it), so Bundler refetches.
        let (name, rest) = lines[3].split_once(' ').unwrap();
        let (list, sum) = rest.split_once(' ').unwrap();
        assert_eq!(name, "shared");
        assert_eq!(list, "1.0.0,2.0.0,1.0.0-java,1.5.0");
        assert_ne!(sum, md5(PRIVATE));
        assert_eq!(sum.len(), 32);
        assert_eq!(header(&merged, "etag"), format!("\"{}\"", md5(body)));
    }

    #[test]
    fn versions_promise_the_merged_info_md5_when_it_is_the_first_holders() {
        // The proxy holds only a version the hosted member also has: the
        // merged info is the hosted one's, byte for byte.
        let private = versions_of(&[("shared", "1.0.0,2.0.0", PRIVATE)]);
        let public = versions_of(&[("shared", "1.0.0", "---\n1.0.0 |checksum:cc\n")]);
        let merged = merge(
            "versions",
            vec![answer("gems", &private), answer("gems-proxy", &public)],
        );
        assert!(text(&merged).ends_with(&format!("shared 1.0.0,2.0.0 {}\n", md5(PRIVATE))));
        let info = merge(
            "info/shared",
            vec![
                answer("gems", PRIVATE),
                answer("gems-proxy", "---\n1.0.0 |checksum:cc\n"),
            ],
        );
        assert_eq!(md5(text(&info)), md5(PRIVATE));
    }

    #[test]
    fn names_are_the_sorted_union() {
        let merged = merge(
            "names",
            vec![
                answer("gems", "---\nzeta\nshared\n"),
                answer("gems-proxy", "---\nalpha\nshared\n"),
            ],
        );
        assert_eq!(text(&merged), "---\nalpha\nshared\nzeta\n");
    }

    #[test]
    fn a_member_answer_that_is_not_a_compact_index_is_a_bad_gateway() {
        for (path, bad) in [
            ("info/shared", &b"---\nno-space-here\n"[..]),
            ("info/shared", &b"\xff\xfe"[..]),
            ("versions", &b"<html>not an index</html>"[..]),
            ("versions", &b"---\nlonely\n"[..]),
            ("names", &b"<html>"[..]),
        ] {
            let mut hostile = answer("gems-proxy", "");
            hostile.body = bad.to_vec();
            let merged = merge(path, vec![answer("gems", "---\n"), hostile]);
            assert_eq!(merged.status, 502, "{path}: {}", text(&merged));
            assert!(text(&merged).contains("gems-proxy"), "{}", text(&merged));
        }
    }

    #[test]
    fn removals_stay_linear_and_bounded() {
        // A hostile line: many versions, each added and removed again.
        let mut list = String::new();
        for i in 0..50_000 {
            list.push_str(&format!("{i},-{i},"));
        }
        list.push_str("9.9");
        let public = format!("---\nbig {list} abcd\n");
        let merged = merge(
            "versions",
            vec![
                answer("gems", "created_at: x\n---\n"),
                answer("gems-proxy", &public),
            ],
        );
        assert_eq!(text(&merged), "created_at: x\n---\nbig 9.9 abcd\n");
    }

    fn specs_gz(tuples: &[(&str, &str, &str)]) -> MemberAnswer {
        let list = tuples
            .iter()
            .map(|(n, v, p)| {
                Value::Array(vec![marshal::str(n), marshal::version(v), marshal::str(p)])
            })
            .collect();
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&marshal::dump(&Value::Array(list))).unwrap();
        let mut a = answer("gems", "");
        a.body = gz.finish().unwrap();
        a
    }

    fn specs_of(merged: &Merged) -> Vec<Tuple> {
        let mut data = Vec::new();
        GzDecoder::new(&merged.body[..])
            .read_to_end(&mut data)
            .unwrap();
        marshal::load_tuples(&data, 1 << 20).unwrap()
    }

    #[test]
    fn specs_lists_are_the_union_and_latest_the_newest() {
        let private = specs_gz(&[("shared", "1.0.0", "ruby"), ("mine", "0.1", "ruby")]);
        let public = specs_gz(&[
            ("shared", "1.0.0", "ruby"),
            ("shared", "1.10.0", "ruby"),
            ("shared", "1.9.0", "java"),
        ]);
        let t = |n: &str, v: &str, p: &str| (n.to_string(), v.to_string(), p.to_string());
        let all = merge("specs.4.8.gz", vec![private.clone(), public.clone()]);
        assert_eq!(
            specs_of(&all),
            [
                t("shared", "1.0.0", "ruby"),
                t("mine", "0.1", "ruby"),
                t("shared", "1.10.0", "ruby"),
                t("shared", "1.9.0", "java"),
            ]
        );
        let latest = merge("latest_specs.4.8.gz", vec![private, public]);
        assert_eq!(
            specs_of(&latest),
            [
                t("shared", "1.10.0", "ruby"),
                t("mine", "0.1", "ruby"),
                t("shared", "1.9.0", "java"),
            ]
        );
    }

    #[test]
    fn a_specs_list_that_is_not_one_or_a_gzip_bomb_is_a_bad_gateway() {
        let mut bomb = GzEncoder::new(Vec::new(), Compression::best());
        bomb.write_all(b"\x04\x08[\x06").unwrap();
        for _ in 0..(INDEX_LIMIT >> 20) + 1 {
            bomb.write_all(&[b'0'; 1 << 20]).unwrap();
        }
        for body in [b"not gzip".to_vec(), bomb.finish().unwrap()] {
            let mut hostile = specs_gz(&[]);
            hostile.repository = "gems-proxy".into();
            hostile.body = body;
            let merged = merge("specs.4.8.gz", vec![specs_gz(&[]), hostile]);
            assert_eq!(merged.status, 502);
            assert!(text(&merged).contains("gems-proxy"), "{}", text(&merged));
        }
    }
}
