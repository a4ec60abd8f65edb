//! A group's `p2` documents: every member's versions of a package in one
//! list, so `composer require` sees the versions a hosted and a proxy
//! member both hold. Members come in the group's order and the first wins a
//! version two hold (a private `1.0.0` shadows the public one).
//!
//! `packages.json` merges too, for one field: `available-packages` tells
//! Composer not to ask for any other name, so the group lists the union
//! only when every member lists its names, and none otherwise (a proxy
//! cannot know the upstream's).
//!
//! Members answer minified (`composer/2.0`); versions are expanded to be
//! merged and the answer is minified again, as a member renders it.

use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

use crate::metadata::minify;
use crate::names;

type Version = Map<String, Value>;

/// A package's merged versions by normalized version, and the versions seen.
type Merged = (String, Vec<(String, Version)>, HashSet<String>);

/// Bytes (as JSON text) the expanded versions of one merge may take. A
/// minified list is a chain of diffs: a large first entry followed by many
/// one-field entries would expand quadratically, so the expansion is
/// counted, not just the input.
const EXPANDED_LIMIT: usize = 24 << 20;

/// What each version is charged beyond its fields.
const ENTRY_COST: usize = 64;

/// `GET p2/{vendor}/{package}.json` and `~dev.json`.
pub fn p2(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut budget = EXPANDED_LIMIT;
    // Package name → its versions by normalized version, in first-seen order.
    let mut merged: Vec<Merged> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for answer in answers {
        let doc = document(&answer)?;
        let minified = doc.get("minified").and_then(Value::as_str) == Some("composer/2.0");
        let Some(Value::Object(listed)) = doc.get("packages") else {
            return Err(bad(&answer, "has no `packages` object"));
        };
        for (name, versions) in listed {
            let Value::Array(versions) = versions else {
                return Err(bad(&answer, &format!("lists {name} as no array")));
            };
            let versions = expand(versions, minified, &mut budget)
                .ok_or_else(|| bad(&answer, "expands beyond what a merge reads"))?;
            let at = *index.entry(name.clone()).or_insert_with(|| {
                merged.push((name.clone(), Vec::new(), HashSet::new()));
                merged.len() - 1
            });
            let (_, known, seen) = &mut merged[at];
            for version in versions {
                // The earlier member's entry stays.
                if let Some(key) = normalized(&version)
                    && seen.insert(key.clone())
                {
                    known.push((key, version));
                }
            }
        }
    }
    let mut packages = Map::new();
    for (name, mut versions, _) in merged {
        versions.sort_by(|a, b| names::newest_first(&a.0, &b.0));
        let full = versions.into_iter().map(|(_, v)| v).collect();
        let list = minify(full).into_iter().map(Value::Object).collect();
        packages.insert(name, Value::Array(list));
    }
    let doc = json!({ "minified": "composer/2.0", "packages": packages });
    Ok(Response::json(200, &doc))
}

/// `GET packages.json`: the first member's (its URLs are the group's),
/// with every member's `available-packages` or none.
pub fn root(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut docs = answers.iter().map(document);
    let mut merged = docs
        .next()
        .ok_or_else(|| HttpError::new(502, "no member answered"))??;
    let mut names: Option<Vec<Value>> = available(&merged);
    let mut seen: HashSet<String> = HashSet::new();
    if let Some(names) = &names {
        seen.extend(
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase),
        );
    }
    for doc in docs {
        let theirs = available(&doc?);
        names = match (names, theirs) {
            (Some(mut ours), Some(theirs)) => {
                for name in theirs {
                    if name.as_str().is_some_and(|n| seen.insert(n.to_lowercase())) {
                        ours.push(name);
                    }
                }
                Some(ours)
            }
            _ => None,
        };
    }
    match names {
        Some(names) => merged.insert("available-packages".into(), Value::Array(names)),
        None => merged.remove("available-packages"),
    };
    // Patterns would restrict the names just as much.
    merged.remove("available-package-patterns");
    Ok(Response::json(200, &Value::Object(merged)))
}

/// A root's `available-packages`; `None` when it lists none (any name).
fn available(doc: &Map<String, Value>) -> Option<Vec<Value>> {
    match (
        doc.get("available-packages"),
        doc.get("available-package-patterns"),
    ) {
        (Some(Value::Array(names)), None) => Some(names.clone()),
        _ => None,
    }
}

fn document(answer: &MemberAnswer) -> Result<Map<String, Value>, HttpError> {
    match serde_json::from_slice(&answer.body) {
        Ok(Value::Object(doc)) => Ok(doc),
        _ => Err(bad(answer, "is not a JSON object")),
    }
}

fn bad(answer: &MemberAnswer, what: &str) -> HttpError {
    HttpError::new(502, format!("the document of {} {what}", answer.repository))
}

/// Composer's `MetadataMinifier::expand` (when `minified`), charging each
/// expanded version's size to `budget`; `None` once it is spent. Entries
/// that are not objects are skipped, as Composer skips them.
fn expand(listed: &[Value], minified: bool, budget: &mut usize) -> Option<Vec<Version>> {
    let mut out = Vec::with_capacity(listed.len().min(4096));
    let mut current = Version::new();
    // The JSON size of `current`, kept as keys change.
    let mut size = 0usize;
    for entry in listed {
        let Value::Object(entry) = entry else {
            continue;
        };
        if !minified {
            current.clear();
            size = 0;
        }
        for (key, value) in entry {
            if let Some(old) = current.remove(key) {
                size -= json_len(key, &old);
            }
            if value != "__unset" || !minified {
                size += json_len(key, value);
                current.insert(key.clone(), value.clone());
            }
        }
        // An empty entry costs something too: the count of them is bounded.
        *budget = budget.checked_sub(size + ENTRY_COST)?;
        out.push(current.clone());
    }
    Some(out)
}

fn json_len(key: &str, value: &Value) -> usize {
    // Writing into a counter, not a buffer: sizing costs no memory.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(key.len() + 4);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The version a conflict is decided on: `version_normalized`, else the
/// normalized `version`; `None` for an entry with neither (not installable).
fn normalized(version: &Version) -> Option<String> {
    if let Some(Value::String(n)) = version.get("version_normalized") {
        return Some(n.clone());
    }
    match version.get("version") {
        Some(Value::String(v)) => Some(names::normalize(v).unwrap_or_else(|_| v.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::expand as expand_all;
    use wharf_sdk::mock::TestRequest;
    use wharf_sdk::types::Method;

    const NAME: &str = "acme/greeter";

    fn version(v: &str, normalized: &str, from: &str) -> Version {
        json!({
            "name": NAME,
            "description": "Says hello",
            "version": v,
            "version_normalized": normalized,
            "dist": { "type": "zip", "url": format!("http://registry.test/composer-all/dists/{NAME}/{normalized}.zip"), "shasum": from },
            "type": "library",
            "require": { "php": ">=7.4" },
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn answer(repository: &str, versions: Vec<Version>) -> MemberAnswer {
        let doc = json!({ "minified": "composer/2.0", "packages": { NAME: minify(versions) } });
        raw(repository, doc.to_string().into_bytes())
    }

    fn raw(repository: &str, body: Vec<u8>) -> MemberAnswer {
        MemberAnswer {
            repository: repository.into(),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    fn merge(answers: Vec<MemberAnswer>) -> (u16, Value) {
        merge_at(&format!("p2/{NAME}.json"), answers)
    }

    fn merge_at(path: &str, answers: Vec<MemberAnswer>) -> (u16, Value) {
        let merged = TestRequest::new(Method::Get, path).merge::<crate::Composer>(answers);
        (merged.status, serde_json::from_slice(&merged.body).unwrap())
    }

    /// The merged versions, expanded, as (version, shasum).
    fn listed(doc: &Value) -> Vec<(String, String)> {
        let minified: Vec<Version> = doc["packages"][NAME]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect();
        expand_all(&minified)
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap().to_string(),
                    v["dist"]["shasum"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn versions_of_every_member_are_listed_newest_first_and_the_first_wins() {
        let private = answer(
            "composer-private",
            vec![
                version("1.0.0", "1.0.0.0", "private"),
                version("0.9.0", "0.9.0.0", "private"),
            ],
        );
        let public = answer(
            "composer-proxy",
            vec![
                version("v1.1.0", "1.1.0.0", "public"),
                // The same version spelled otherwise is still a conflict.
                version("v1.0.0", "1.0.0.0", "public"),
            ],
        );
        let (status, doc) = merge(vec![private, public]);
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["minified"], "composer/2.0");
        assert_eq!(
            listed(&doc),
            [
                ("v1.1.0".to_string(), "public".to_string()),
                ("1.0.0".into(), "private".into()),
                ("0.9.0".into(), "private".into()),
            ]
        );
    }

    #[test]
    fn an_unminified_member_merges_too() {
        let private = answer("composer-private", vec![version("1.0.0", "1.0.0.0", "a")]);
        let plain = json!({ "packages": { NAME: [
            version("2.0.0", "2.0.0.0", "b"),
            { "name": NAME, "version": "1.5.0" },
        ] } });
        let (status, doc) = merge(vec![private, raw("other", plain.to_string().into_bytes())]);
        assert_eq!(status, 200, "{doc}");
        let minified: Vec<Version> = doc["packages"][NAME]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect();
        let full = expand_all(&minified);
        let versions: Vec<&str> = full
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["2.0.0", "1.5.0", "1.0.0"]);
        // 1.5.0 has no dist: its entry must not inherit 2.0.0's.
        assert!(full[1].get("dist").is_none(), "{doc}");
    }

    #[test]
    fn a_member_answer_that_is_not_a_p2_document_is_a_bad_gateway_in_composer_shape() {
        for body in [
            b"<html>".to_vec(),
            b"[1,2]".to_vec(),
            br#"{"packages": []}"#.to_vec(),
            br#"{"packages": {"acme/greeter": {"1.0.0": {}}}}"#.to_vec(),
        ] {
            let good = answer("composer-private", vec![version("1.0.0", "1.0.0.0", "a")]);
            let (status, doc) = merge(vec![good, raw("composer-proxy", body)]);
            assert_eq!(status, 502, "{doc}");
            assert_eq!(doc["status"], "error");
            assert!(doc["message"].as_str().unwrap().contains("composer-proxy"));
        }
    }

    #[test]
    fn a_minified_list_that_would_expand_without_bound_is_refused() {
        // One large first entry, then many one-field diffs: small input,
        // each expanded version a copy of the large one.
        let mut versions = vec![json!({ "version": "0.0.1", "description": "x".repeat(1 << 20) })];
        versions.extend((0..100).map(|i| json!({ "version": format!("1.0.{i}") })));
        let doc = json!({ "minified": "composer/2.0", "packages": { NAME: versions } });
        let good = answer("composer-private", vec![version("1.0.0", "1.0.0.0", "a")]);
        let (status, doc) = merge(vec![
            good,
            raw("composer-proxy", doc.to_string().into_bytes()),
        ]);
        assert_eq!(status, 502, "{doc}");
    }

    #[test]
    fn junk_entries_are_skipped_not_fatal() {
        let doc = json!({ "minified": "composer/2.0", "packages": { NAME: [
            1, "two", null, { "description": "no version" }, { "version": "3.0.0" },
        ] } });
        let good = answer("composer-private", vec![version("1.0.0", "1.0.0.0", "a")]);
        let (status, doc) = merge(vec![
            good,
            raw("composer-proxy", doc.to_string().into_bytes()),
        ]);
        assert_eq!(status, 200, "{doc}");
        let full = expand_all(
            &doc["packages"][NAME]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_object().unwrap().clone())
                .collect::<Vec<_>>(),
        );
        let versions: Vec<&str> = full
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["3.0.0", "1.0.0"]);
    }

    #[test]
    fn the_root_lists_every_members_packages_or_none() {
        let root = |names: Option<&[&str]>| {
            let mut doc = json!({
                "packages": [],
                "metadata-url": "http://registry.test/composer-all/p2/%package%.json",
            });
            if let Some(names) = names {
                doc["available-packages"] = json!(names);
            }
            raw("member", doc.to_string().into_bytes())
        };
        let hosted = || root(Some(&["acme/greeter", "acme/private"]));
        let (status, doc) = merge_at(
            "packages.json",
            vec![hosted(), root(Some(&["Acme/Greeter", "acme/public"]))],
        );
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["available-packages"],
            json!(["acme/greeter", "acme/private", "acme/public"])
        );
        assert_eq!(
            doc["metadata-url"],
            "http://registry.test/composer-all/p2/%package%.json"
        );
        // A proxy lists none: any name may be asked for.
        let (_, doc) = merge_at("packages.json", vec![hosted(), root(None)]);
        assert!(doc.get("available-packages").is_none(), "{doc}");
        let (status, doc) = merge_at(
            "packages.json",
            vec![hosted(), raw("composer-proxy", b"nope".to_vec())],
        );
        assert_eq!(status, 502, "{doc}");
    }
}
