//! A group's `index.yaml`: every member's charts in one index, so `helm
//! repo update` on the group sees the versions a hosted and a proxy member
//! both hold. Members come in the group's order and the first wins a chart
//! version two hold (a private `1.0.0` shadows the public one); `generated`
//! is the newest member's. Entries' `urls` already point at the group.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use wharf_sdk::types::MemberAnswer;
use wharf_sdk::yaml::Node;
use wharf_sdk::{HttpError, Request, Response};

use crate::emit;
use crate::upstream_index::{Flow, for_each_chart};

/// One chart's entries, each written out with its version as soon as it is
/// read: a member's tree is never held beyond one chart.
#[derive(Default)]
struct Chart {
    seen: HashSet<String>,
    entries: Vec<(String, String)>,
}

/// `GET index.yaml`.
pub fn index_yaml(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let mut charts: BTreeMap<String, Chart> = BTreeMap::new();
    let mut generated: Option<((i64, u32), String)> = None;
    // Each body is dropped once read.
    for answer in answers {
        let text = std::str::from_utf8(&answer.body).map_err(|_| bad(&answer, "is not UTF-8"))?;
        let header = for_each_chart(text, |name, nodes| {
            let chart = charts.entry(name.to_string()).or_default();
            for node in &nodes {
                let Some(version) = node.get("version").and_then(Node::as_str) else {
                    continue;
                };
                if chart.seen.insert(version.to_string()) {
                    let mut entry = String::new();
                    emit::list_item(&mut entry, &value(node), 1);
                    chart.entries.push((version.to_string(), entry));
                }
            }
            Flow::Continue
        })
        .map_err(|e| bad(&answer, &e))?;
        // The newest; a time that does not parse never wins.
        if let Some(theirs) = header.generated
            && let Some(at) = instant(&theirs)
            && generated.as_ref().is_none_or(|(ours, _)| at > *ours)
        {
            generated = Some((at, theirs));
        }
    }
    let mut out = String::new();
    out.push_str("apiVersion: \"v1\"\nentries:");
    charts.retain(|_, chart| !chart.entries.is_empty());
    if charts.is_empty() {
        out.push_str(" {}");
    }
    out.push('\n');
    for (name, mut chart) in charts {
        newest_first(&mut chart.entries);
        emit::key(&mut out, &name, 1);
        out.push('\n');
        for (_, entry) in chart.entries {
            out.push_str(&entry);
        }
    }
    let generated = generated.map_or_else(|| crate::index::rfc3339(0), |(_, text)| text);
    emit::pair(&mut out, "generated", &Value::String(generated), 0);
    let body = out.into_bytes();
    Ok(Response::bytes(
        200,
        "application/yaml; charset=utf-8",
        body,
    ))
}

fn bad(answer: &MemberAnswer, what: &str) -> HttpError {
    HttpError::new(
        502,
        format!("the index.yaml of {} {what}", answer.repository),
    )
}

/// By SemVer precedence, as a member lists them (Helm's order).
fn newest_first(entries: &mut [(String, String)]) {
    let key = |v: &str| semver::Version::parse(v).ok();
    entries.sort_by(|a, b| key(&b.0).cmp(&key(&a.0)).then_with(|| b.0.cmp(&a.0)));
}

/// An entry as JSON for the emitter. Plain scalars other than null and the
/// booleans become strings, quoted on the way out: Helm's index has no
/// numeric fields, and a quoted string cannot change type in Helm's YAML
/// 1.1 reader. Keys are sorted, as members write them.
fn value(node: &Node) -> Value {
    match node {
        Node::Scalar(text, true) => Value::String(text.clone()),
        Node::Scalar(text, false) => match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Value::Null,
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            _ => Value::String(text.clone()),
        },
        Node::Seq(items) => Value::Array(items.iter().map(value).collect()),
        Node::Map(pairs) => {
            let mut pairs: Vec<(String, Value)> = pairs
                .iter()
                .filter_map(|(k, v)| match k {
                    Node::Scalar(k, _) => Some((k.clone(), value(v))),
                    _ => None,
                })
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().collect::<Map<_, _>>())
        }
    }
}

/// An RFC 3339 time as (seconds since the epoch, nanoseconds), to compare
/// times written with different offsets and precisions.
fn instant(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(digits).ok()?.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        for (i, c) in b[at..at + digits].iter().take(9).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        at += digits;
    }
    let offset = match b.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 6 && b[at + 3] == b':' => {
            let minutes = num(at + 1, 2)? * 60 + num(at + 4, 2)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset * 60;
    Some((seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::Method;
    use yaml_rust2::{Yaml, YamlLoader};

    fn answer(repository: &str, body: &str) -> MemberAnswer {
        mock::member_answer(repository, "application/yaml; charset=utf-8", body)
    }

    /// An index as a member writes it: charts with their versions, each
    /// entry's description naming the member.
    fn index(charts: &[(&str, &[&str])], from: &str, generated: &str) -> String {
        let entry = |chart: &str, v: &str| {
            serde_json::json!({
                "apiVersion": "v2",
                "created": generated,
                "deprecated": false,
                "description": from,
                "digest": "0".repeat(64),
                "name": chart,
                "urls": [format!("charts/{chart}-{v}.tgz")],
                "version": v,
            })
        };
        let entries: Map<String, Value> = charts
            .iter()
            .map(|(chart, versions)| {
                let list = versions.iter().map(|v| entry(chart, v)).collect();
                (chart.to_string(), Value::Array(list))
            })
            .collect();
        let mut root = Map::new();
        root.insert("apiVersion".into(), "v1".into());
        root.insert("entries".into(), Value::Object(entries));
        root.insert("generated".into(), generated.into());
        emit::document(&root)
    }

    fn merge(answers: Vec<MemberAnswer>) -> (u16, Vec<u8>) {
        let merged = TestRequest::new(Method::Get, "index.yaml").merge::<crate::Helm>(answers);
        (merged.status, merged.body)
    }

    fn parsed(body: &[u8]) -> Yaml {
        let text = std::str::from_utf8(body).unwrap();
        YamlLoader::load_from_str(text).expect(text).remove(0)
    }

    /// (version, description) of a chart's entries, in order.
    fn listed(doc: &Yaml, chart: &str) -> Vec<(String, String)> {
        doc["entries"][chart]
            .as_vec()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["version"].as_str().unwrap().to_string(),
                    e["description"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn versions_of_every_member_are_listed_and_the_first_wins() {
        let private = index(
            &[("app", &["1.0.0", "0.9.0"])],
            "private",
            "2026-01-02T00:00:00.000Z",
        );
        // A version and a chart only the second member has.
        let public = index(
            &[("app", &["1.1.0", "1.0.0"]), ("other", &["2.0.0"])],
            "public",
            "2026-03-01T01:00:00+01:00",
        );
        let (status, body) = merge(vec![
            answer("helm-private", &private),
            answer("helm-proxy", &public),
        ]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let doc = parsed(&body);
        assert_eq!(
            listed(&doc, "app"),
            [
                ("1.1.0".to_string(), "public".to_string()),
                ("1.0.0".into(), "private".into()),
                ("0.9.0".into(), "private".into()),
            ]
        );
        assert_eq!(listed(&doc, "other"), [("2.0.0".into(), "public".into())]);
        // The newest member's time.
        assert_eq!(doc["generated"].as_str(), Some("2026-03-01T01:00:00+01:00"));
        assert_eq!(
            doc["entries"]["app"][0]["deprecated"].as_bool(),
            Some(false)
        );
        assert_eq!(
            doc["entries"]["app"][0]["urls"][0].as_str(),
            Some("charts/app-1.1.0.tgz")
        );
    }

    #[test]
    fn generated_is_the_newest_instant_not_the_largest_text() {
        let a = instant("2026-03-01T00:30:00Z").unwrap();
        let b = instant("2026-03-01T01:00:00+01:00").unwrap();
        assert!(a > b);
        assert!(
            instant("2026-03-01T00:00:00.5Z").unwrap() > instant("2026-03-01T00:00:00Z").unwrap()
        );
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        for junk in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-03-01T00:00:00",
            "2026-03-01T00:00:00+0100",
            "２０２６",
        ] {
            assert_eq!(instant(junk), None, "{junk}");
        }
        let early = index(&[("app", &["1.0.0"])], "first", "2026-03-01T01:00:00+01:00");
        let late = index(&[("app", &["2.0.0"])], "second", "2026-03-01T00:30:00Z");
        let (_, body) = merge(vec![answer("a", &early), answer("b", &late)]);
        assert_eq!(
            parsed(&body)["generated"].as_str(),
            Some("2026-03-01T00:30:00Z")
        );
    }

    #[test]
    fn an_empty_member_and_odd_values_merge() {
        let empty = "apiVersion: \"v1\"\nentries: {}\ngenerated: \"1970-01-01T00:00:00.000Z\"\n";
        let odd = "apiVersion: v1\nentries:\n  \"odd: name\":\n  - {name: \"odd: name\", version: 1.0.0, description: yes, annotations: {a: \"b\"}, keywords: [k], home: ~}\n  - {name: x}\n";
        let (status, body) = merge(vec![answer("a", empty), answer("b", odd)]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let doc = parsed(&body);
        let entries = doc["entries"]["odd: name"].as_vec().unwrap();
        // The entry with no version is left out; plain `yes` stays text.
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["description"].as_str(), Some("yes"));
        assert_eq!(entries[0]["annotations"]["a"].as_str(), Some("b"));
        assert_eq!(doc["generated"].as_str(), Some("1970-01-01T00:00:00.000Z"));
        let (_, body) = merge(vec![answer("a", empty), answer("b", empty)]);
        assert_eq!(parsed(&body)["entries"].as_hash().map(|h| h.len()), Some(0));
    }

    #[test]
    fn a_member_answer_that_is_not_an_index_is_a_bad_gateway_in_helm_shape() {
        let good = index(&[("app", &["1.0.0"])], "private", "2026-01-02T00:00:00Z");
        let deep = format!("entries:\n  a: {}{}\n", "[".repeat(100), "]".repeat(100));
        let bombs = "entries:\n  a: &x [{name: a}]\n  b: *x\n";
        for junk in [
            "<html>",
            "- a list\n",
            "entries: [unclosed\n",
            &deep,
            bombs,
            "\u{0}\u{1}",
        ] {
            let (status, body) = merge(vec![
                answer("helm-private", &good),
                answer("helm-proxy", junk),
            ]);
            assert_eq!(status, 502, "{junk}: {}", String::from_utf8_lossy(&body));
            let doc: Value = serde_json::from_slice(&body).unwrap();
            assert!(
                doc["error"].as_str().unwrap().contains("helm-proxy"),
                "{doc}"
            );
        }
        let not_utf8 = MemberAnswer {
            body: vec![0xff, 0xfe],
            ..answer("helm-proxy", "")
        };
        let (status, _) = merge(vec![answer("helm-private", &good), not_utf8]);
        assert_eq!(status, 502);
    }
}
