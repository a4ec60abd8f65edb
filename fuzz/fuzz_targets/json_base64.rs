//! The host's streaming JSON-base64 ingest (npm publish bodies): whatever
//! the document, the walk stays within its limit, and a document it accepts
//! is the input with each payload replaced by `{"$blob": …}` naming the
//! payload's decoded bytes.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use wharf::runtime::fuzzing::{Sink, rewrite};
use wharf::store::StoreError;

/// Keeps each payload; names it by its BLAKE3.
#[derive(Default)]
struct Kept {
    current: Vec<u8>,
    payloads: Vec<(String, Vec<u8>)>,
}

impl Sink for Kept {
    fn chunk(&mut self, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.current.extend_from_slice(&bytes);
        Ok(())
    }
    fn end(&mut self) -> Result<String, StoreError> {
        let bytes = std::mem::take(&mut self.current);
        let name = blake3::hash(&bytes).to_hex().to_string();
        self.payloads.push((name.clone(), bytes));
        Ok(name)
    }
    fn abort(&mut self, _why: StoreError) {
        self.current.clear();
    }
}

const LIMIT: u64 = 64 << 10;

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("json_base64"),
    |data: &[u8]| {
    let mut kept = Kept::default();
    let patterns = [wharf_fuzz::seeds::PAYLOADS.to_string()];
    let Ok(out) = rewrite(data, &patterns, LIMIT, &mut kept) else {
        return;
    };
    assert!(out.len() as u64 <= LIMIT + 4096, "{} bytes out", out.len());
    let mut rewritten: serde_json::Value = serde_json::from_str(&out).expect("valid JSON out");
    let mut original: serde_json::Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        // struson accepts what serde_json refuses only in number forms and
        // nesting depth; those documents have no oracle here.
        Err(_) => return,
    };
    // Put each payload back as base64: the documents must then be equal.
    if let Some(files) = rewritten.get_mut("_attachments").and_then(|a| a.as_object_mut()) {
        for file in files.values_mut() {
            let Some(name) = file.pointer("/data/$blob").and_then(|b| b.as_str()) else {
                continue;
            };
            let (_, bytes) = kept.payloads.iter().find(|(n, _)| n == name).expect("a kept payload");
            file["data"] = STANDARD.encode(bytes).into();
        }
    }
    // Base64 text may have been written with other padding or line breaks:
    // compare decoded bytes instead of the text.
    normalize(&mut original);
    normalize(&mut rewritten);
    assert_eq!(original, rewritten);
});

/// Replaces each attachment's base64 text (whitespace skipped, as the
/// walk does) by its decoded bytes' BLAKE3.
fn normalize(doc: &mut serde_json::Value) {
    if let Some(files) = doc.get_mut("_attachments").and_then(|a| a.as_object_mut()) {
        for file in files.values_mut() {
            if let Some(text) = file.get("data").and_then(|d| d.as_str())
                && let Ok(bytes) =
                    STANDARD.decode(text.replace(|c: char| c.is_ascii_whitespace(), ""))
            {
                file["data"] = blake3::hash(&bytes).to_hex().to_string().into();
            }
        }
    }
}
