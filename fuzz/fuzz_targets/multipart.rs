//! The host's multipart reader (PyPI uploads): whatever the body, and in
//! whatever pieces it arrives, text fields and the part count stay within
//! their limits and every byte of text is charged to the read budget.
//! Input: one byte of piece size, then the body (boundary `fuzzb0undary`).
#![no_main]

use bytes::Bytes;
use futures::StreamExt;
use wharf::runtime::fuzzing::{FormLimits, FormSink, Part, read_form};
use wharf::store::StoreError;
use wharf::store::digest::BlobInfo;

const LIMITS: FormLimits = FormLimits {
    max_parts: 8,
    max_field_bytes: 1024,
};

/// Counts what the reader charges and the file bytes it hands over.
#[derive(Default)]
struct Counted {
    charged: usize,
    file_bytes: usize,
}

impl FormSink for Counted {
    fn charge(&mut self, n: usize) -> Result<(), StoreError> {
        self.charged += n;
        Ok(())
    }

    async fn file(&mut self, mut field: multer::Field<'_>) -> Result<BlobInfo, StoreError> {
        let mut size = 0;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| StoreError::Invalid(e.to_string()))?
        {
            size += chunk.len();
        }
        self.file_bytes += size;
        Ok(BlobInfo {
            size: size as u64,
            ..BlobInfo::default()
        })
    }
}

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("multipart"),
    |data: &[u8]| {
    let Some((&piece, body)) = data.split_first() else {
        return;
    };
    let pieces: Vec<Result<Bytes, StoreError>> = body
        .chunks(usize::from(piece).max(1) * 64)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let content_type = format!("multipart/form-data; boundary={}", wharf_fuzz::seeds::BOUNDARY);
    let mut sink = Counted::default();
    let stream = futures::stream::iter(pieces).boxed();
    let read = futures::executor::block_on(read_form(stream, &content_type, LIMITS, &mut sink));
    let Ok(parts) = read else {
        return;
    };
    assert!(parts.len() as u64 <= LIMITS.max_parts);
    // Text that was valid UTF-8 arrived byte for byte, and was charged.
    let mut text = 0;
    for part in &parts {
        if let Part::Field(name, value) = part {
            assert!(value.len() as u64 <= 3 * LIMITS.max_field_bytes, "lossy UTF-8 grows 3x at most");
            if !value.contains('\u{FFFD}') {
                text += name.len() + value.len();
            }
        }
    }
    assert!(sink.charged >= text, "{} charged for {text} bytes of text", sink.charged);
    assert!(sink.file_bytes <= body.len());
});
