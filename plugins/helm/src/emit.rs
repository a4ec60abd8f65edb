//! YAML out: a JSON value written as block YAML, every string double-quoted.
//!
//! Helm reads `index.yaml` with a YAML 1.1 parser, where plain scalars such
//! as `1_000`, `yes`, `2026-01-01` or `0o17` change type and a field of the
//! wrong type fails the whole index for every user of the repository.
//! Quoting every string takes the question away; escaping what YAML does
//! not allow raw (C0/C1 controls, and NEL, LS, PS, which YAML 1.1 folds as
//! line breaks) keeps every value byte for byte.

use serde_json::Value;
use std::fmt::Write;

/// The document: the map's keys in its order (callers insert them sorted,
/// so the output is the same whether or not serde_json keeps insertion order).
pub fn document(root: &serde_json::Map<String, Value>) -> String {
    let mut out = String::with_capacity(4096);
    mapping(&mut out, root, 0);
    out
}

/// One `key: value` at `level`, for a document written piece by piece (a
/// proxy's index, one chart at a time).
pub fn pair(out: &mut String, key: &str, value: &Value, level: usize) {
    indent(out, level);
    key_of(out, key);
    out.push(':');
    node(out, value, level);
}

/// `key:` at `level`, for a value written after it piece by piece.
pub fn key(out: &mut String, key: &str, level: usize) {
    indent(out, level);
    key_of(out, key);
    out.push(':');
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        key_of(out, key);
        out.push(':');
        node(out, value, level);
    }
}

/// A value after `key:` or `- `: scalars and empty collections on the same
/// line, others on the next lines (a sequence at its key's level, as Helm
/// writes it).
fn node(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, map, level + 1);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                list_item(out, item, level);
            }
        }
        _ => {
            out.push(' ');
            flow(out, value);
            out.push('\n');
        }
    }
}

/// One `- item` of a sequence whose key is at `level` (a merged index
/// writes a chart's entries one at a time).
pub fn list_item(out: &mut String, item: &Value, level: usize) {
    indent(out, level);
    out.push('-');
    match item {
        Value::Object(map) if !map.is_empty() => {
            // The first key on the dash's line, the rest aligned under it.
            let mut first = true;
            for (key, value) in map {
                if first {
                    out.push(' ');
                    first = false;
                } else {
                    indent(out, level + 1);
                }
                key_of(out, key);
                out.push(':');
                node(out, value, level + 1);
            }
        }
        // A list in a list: flow style keeps the indentation simple.
        _ => {
            out.push(' ');
            flow(out, item);
            out.push('\n');
        }
    }
}

/// A value on one line (JSON is YAML's flow style, with our quoting).
fn flow(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => quoted(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quoted(out, key);
                out.push_str(": ");
                flow(out, value);
            }
            out.push('}');
        }
    }
}

/// Keys made of letters, digits and `-` (the index's own field names)
/// stay plain; any other key (a chart name, an annotation) is quoted.
fn key_of(out: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && key.as_bytes()[0].is_ascii_alphabetic()
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        out.push_str(key);
    } else {
        quoted(out, key);
    }
}

/// A YAML double-quoted scalar.
pub fn quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push('"');
}

/// YAML's printable set, less NEL (U+0085), LS and PS (line breaks in YAML
/// 1.1) and the byte-order mark.
fn printable(c: char) -> bool {
    matches!(c,
        '\u{20}'..='\u{7e}'
        | '\u{a0}'..='\u{2027}'
        | '\u{202a}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fefe}'
        | '\u{ff00}'..='\u{fffd}'
        | '\u{10000}'..='\u{10ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use yaml_rust2::{Yaml, YamlLoader};

    /// The YAML value as JSON, to compare with what was emitted.
    fn to_json(y: &Yaml) -> Value {
        match y {
            Yaml::String(s) => json!(s),
            Yaml::Boolean(b) => json!(b),
            Yaml::Integer(i) => json!(i),
            Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_string(), to_json(v)))
                    .collect(),
            ),
            Yaml::Null => Value::Null,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn odd_strings_round_trip() {
        let odd = [
            "plain",
            "",
            " leading and trailing ",
            "key: value # not a comment",
            "\"quotes\" and 'apostrophes'",
            "back\\slash",
            "multi\nline\n\ndescription\n",
            "tab\tand\rreturn",
            "yes",
            "1_000",
            "0o17",
            "2026-12-06",
            "1.10",
            "~",
            "- dash",
            "[flow]",
            "{flow}",
            "&anchor *alias !tag %directive @at `tick`",
            "ünïcödé — 日本語 🚀",
            "nel\u{85} ls\u{2028} ps\u{2029} bom\u{feff} del\u{7f} c1\u{9b} nul\u{0}",
        ];
        let root = json!({
            "apiVersion": "v1",
            "entries": {
                "odd name: yes": [{
                    "description": odd[6],
                    "keywords": odd,
                    "annotations": odd.iter().map(|s| (s.to_string(), json!(s))).collect::<serde_json::Map<_, _>>(),
                    "maintainers": [{"name": odd[3], "email": odd[4]}, {"name": "x"}],
                    "dependencies": [{"name": "a", "import-values": ["x", {"child": "c", "parent": "p"}], "tags": []}],
                    "deprecated": true,
                    "sources": [],
                    "nested": [["a", "b"], []],
                }],
                "y": [],
            },
            "generated": "2026-12-06T10:00:00Z",
        });
        let text = document(root.as_object().unwrap());
        let parsed = YamlLoader::load_from_str(&text).expect(&text);
        assert_eq!(to_json(&parsed[0]), root, "{text}");
    }

    #[test]
    fn every_string_is_quoted() {
        let root = json!({"created": "2026-12-06", "flag": false, "version": "1.0"});
        let text = document(root.as_object().unwrap());
        assert_eq!(
            text,
            "created: \"2026-12-06\"\nflag: false\nversion: \"1.0\"\n"
        );
    }
}
