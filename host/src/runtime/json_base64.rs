//! Finds base64 payloads inside a JSON document (npm's publish body carries
//! the tarball in `_attachments.<file>.data`).
//!
//! Patterns are RFC 6901 pointers where a `*` segment matches any key. The
//! decoded payloads leave the document so the plugin only receives the small
//! rewritten JSON. The body is parsed in memory, bounded by the host's body
//! limit; a streaming tokenizer can replace this without changing the WIT.

use crate::store::StoreError;
use base64::Engine;
use serde_json::Value;

/// Decoded payloads with the concrete pointer each came from.
pub type Payloads = Vec<(String, Vec<u8>)>;

pub fn extract(raw: &[u8], patterns: &[String]) -> Result<(Value, Payloads), StoreError> {
    let doc: Value = serde_json::from_slice(raw)
        .map_err(|e| StoreError::Invalid(format!("invalid JSON body: {e}")))?;
    let mut found = Vec::new();
    for pattern in patterns {
        let segments: Vec<&str> = pattern.split('/').skip(1).collect();
        collect(&doc, &segments, String::new(), &mut found)?;
    }
    Ok((doc, found))
}

fn collect(
    v: &Value,
    segments: &[&str],
    at: String,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), StoreError> {
    let Some((first, rest)) = segments.split_first() else {
        if let Some(text) = v.as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| StoreError::Invalid(format!("{at} is not valid base64: {e}")))?;
            out.push((at, bytes));
        }
        return Ok(());
    };
    if let Value::Object(map) = v {
        for (key, child) in map {
            let wanted = unescape(first);
            if *first == "*" || *key == wanted {
                collect(child, rest, format!("{at}/{}", escape(key)), out)?;
            }
        }
    }
    Ok(())
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_payloads_under_any_key() {
        let body = br#"{"name":"a","_attachments":{"a/b-1.0.0.tgz":{"data":"aGVsbG8="},"x.tgz":{"data":"d29ybGQ="}}}"#;
        let (mut doc, found) = extract(body, &["/_attachments/*/data".into()]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0],
            (
                "/_attachments/a~1b-1.0.0.tgz/data".to_string(),
                b"hello".to_vec()
            )
        );
        assert!(doc.pointer_mut(&found[0].0).is_some());
    }

    #[test]
    fn bad_base64_and_bad_json_are_invalid() {
        assert!(matches!(
            extract(br#"{"a":{"data":"%%%"}}"#, &["/a/data".into()]),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(extract(b"{", &[]), Err(StoreError::Invalid(_))));
    }
}
