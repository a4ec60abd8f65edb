//! A group's package documents: every member's versions in one packument,
//! so `npm install` of a name that a hosted and a proxy member both hold
//! sees all of them. Members come in the group's order and the first wins
//! a conflict: a version, a dist-tag or a time that two members hold is
//! the earlier member's (a private `latest` is not moved by the upstream).

use serde_json::{Map, Value};
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

/// `GET {pkg}`: full or abbreviated, as each member rendered it.
pub fn packuments(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let content_type = content_type(&answers[0]);
    let mut docs = objects(answers)?.into_iter();
    let mut merged = docs.next().expect("a merge has two answers");
    for doc in docs {
        for member in ["versions", "dist-tags", "time"] {
            add_missing(&mut merged, &doc, member);
        }
        // The abbreviated document's date of its latest change.
        if let (Some(Value::String(theirs)), Some(Value::String(ours))) =
            (doc.get("modified"), merged.get("modified"))
            && theirs > ours
        {
            merged.insert("modified".into(), Value::String(theirs.clone()));
        }
    }
    if let Some(Value::Object(time)) = merged.get_mut("time") {
        let latest = time
            .iter()
            .filter(|(k, _)| *k != "created" && *k != "modified")
            .filter_map(|(_, v)| v.as_str())
            .max()
            .map(str::to_string);
        if let Some(latest) = latest {
            time.insert("modified".into(), Value::String(latest));
        }
    }
    let body = serde_json::to_vec(&merged).expect("JSON value");
    Ok(Response::bytes(200, &content_type, body))
}

/// `GET -/package/{pkg}/dist-tags`: every member's tags, the first's first.
pub fn dist_tags(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut tags = Map::new();
    for doc in objects(answers)? {
        for (tag, version) in doc {
            tags.entry(tag).or_insert(version);
        }
    }
    Ok(Response::json(200, &tags))
}

fn content_type(answer: &MemberAnswer) -> String {
    answer
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map_or("application/json", |(_, value)| value)
        .to_string()
}

fn objects(answers: Vec<MemberAnswer>) -> Result<Vec<Map<String, Value>>, HttpError> {
    answers
        .into_iter()
        .map(|answer| match serde_json::from_slice(&answer.body) {
            Ok(Value::Object(doc)) => Ok(doc),
            _ => Err(HttpError::new(
                502,
                format!(
                    "{} answered with a document that is not a JSON object",
                    answer.repository
                ),
            )),
        })
        .collect()
}

/// Adds the entries of `from[member]` that `into[member]` lacks.
fn add_missing(into: &mut Map<String, Value>, from: &Map<String, Value>, member: &str) {
    let Some(Value::Object(theirs)) = from.get(member) else {
        return;
    };
    let ours = into
        .entry(member)
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(ours) = ours else {
        return;
    };
    for (key, value) in theirs {
        ours.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wharf_sdk::mock::TestRequest;
    use wharf_sdk::types::Method;

    fn answer(repository: &str, doc: Value) -> MemberAnswer {
        MemberAnswer {
            repository: repository.into(),
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: doc.to_string().into_bytes(),
        }
    }

    fn merge(path: &str, answers: Vec<MemberAnswer>) -> (u16, Value) {
        let merged = TestRequest::new(Method::Get, path).merge::<crate::Npm>(answers);
        (merged.status, serde_json::from_slice(&merged.body).unwrap())
    }

    fn packument(versions: &[&str], latest: &str, tarball_of: &str) -> Value {
        let version = |v: &&str| {
            let tarball =
                format!("http://registry.test/npm-all/shared/-/shared-{v}.tgz#{tarball_of}");
            (
                v.to_string(),
                json!({ "version": v, "dist": { "tarball": tarball } }),
            )
        };
        let time = |v: &&str| {
            (
                v.to_string(),
                json!(format!("2026-0{}-01T00:00:00.000Z", v.len())),
            )
        };
        json!({
            "name": "shared",
            "dist-tags": { "latest": latest },
            "versions": versions.iter().map(version).collect::<Map<_, _>>(),
            "time": versions.iter().map(time).collect::<Map<_, _>>(),
        })
    }

    #[test]
    fn versions_of_every_member_are_listed_and_the_first_wins_a_conflict() {
        let private = answer(
            "npm",
            packument(&["1.0.0", "2.0.0-private"], "2.0.0-private", "npm"),
        );
        let public = answer(
            "npm-proxy",
            packument(&["1.0.0", "1.5.0"], "1.5.0", "proxy"),
        );
        let (status, doc) = merge("shared", vec![private, public]);
        assert_eq!(status, 200);
        let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
        assert_eq!(versions.len(), 3, "{doc}");
        assert!(
            doc["versions"]["1.0.0"]["dist"]["tarball"]
                .as_str()
                .unwrap()
                .ends_with("#npm")
        );
        assert!(
            doc["versions"]["1.5.0"]["dist"]["tarball"]
                .as_str()
                .unwrap()
                .ends_with("#proxy")
        );
        assert_eq!(doc["dist-tags"]["latest"], "2.0.0-private");
        assert!(doc["time"]["1.5.0"].is_string());
    }

    #[test]
    fn dist_tags_merge_with_the_first_members_first() {
        let a = answer("npm", json!({ "latest": "2.0.0", "beta": "3.0.0-b" }));
        let b = answer(
            "npm-proxy",
            json!({ "latest": "1.5.0", "next": "1.6.0-rc" }),
        );
        let (_, tags) = merge("-/package/shared/dist-tags", vec![a, b]);
        assert_eq!(
            tags,
            json!({ "latest": "2.0.0", "beta": "3.0.0-b", "next": "1.6.0-rc" })
        );
    }

    #[test]
    fn a_member_answer_that_is_not_json_is_a_bad_gateway_in_npm_shape() {
        let good = answer("npm", packument(&["1.0.0"], "1.0.0", "npm"));
        let mut bad = answer("npm-proxy", json!({}));
        bad.body = b"<html>".to_vec();
        let (status, doc) = merge("shared", vec![good, bad]);
        assert_eq!(status, 502);
        assert!(
            doc["error"].as_str().unwrap().contains("npm-proxy"),
            "{doc}"
        );
    }
}
