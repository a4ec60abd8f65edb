//! The spec's error shape: `{"errors":[{"code","message","detail"}]}`.
//!
//! Handlers return an [`HttpError`] whose message is `CODE: text`; `render`
//! splits it back. Host decisions (401, 403, 404 of an unknown path, 413)
//! arrive without a code and get one from their status; a store outage is
//! 503 `UNAVAILABLE`, as distribution answers it.

use serde_json::json;
use wharf_sdk::types::StoreError;
use wharf_sdk::{HttpError, Response, default_message};

pub const BLOB_UNKNOWN: &str = "BLOB_UNKNOWN";
pub const BLOB_UPLOAD_UNKNOWN: &str = "BLOB_UPLOAD_UNKNOWN";
pub const DIGEST_INVALID: &str = "DIGEST_INVALID";
pub const MANIFEST_BLOB_UNKNOWN: &str = "MANIFEST_BLOB_UNKNOWN";
pub const MANIFEST_INVALID: &str = "MANIFEST_INVALID";
pub const MANIFEST_UNKNOWN: &str = "MANIFEST_UNKNOWN";
pub const NAME_INVALID: &str = "NAME_INVALID";
pub const NAME_UNKNOWN: &str = "NAME_UNKNOWN";
pub const RANGE_INVALID: &str = "RANGE_INVALID";
pub const SIZE_INVALID: &str = "SIZE_INVALID";
pub const TAG_INVALID: &str = "TAG_INVALID";
pub const UNSUPPORTED: &str = "UNSUPPORTED";

/// An error with an OCI code.
pub fn oci(status: u16, code: &str, message: impl std::fmt::Display) -> HttpError {
    HttpError::new(status, format!("{code}: {message}"))
}

/// A host store error, in OCI terms.
pub fn store(e: StoreError) -> HttpError {
    match e {
        StoreError::Forbidden(m) => HttpError::new(403, format!("DENIED: {m}")),
        StoreError::DigestMismatch(m) => oci(400, DIGEST_INVALID, m),
        StoreError::TooLarge(max) => oci(413, SIZE_INVALID, format!("larger than {max} bytes")),
        other => {
            let e = HttpError::from(other);
            HttpError::new(e.status, format!("{}: {}", code_for(e.status), e.message))
        }
    }
}

fn code_for(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        404 | 405 => UNSUPPORTED,
        413 => SIZE_INVALID,
        429 => "TOOMANYREQUESTS",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    }
}

/// Splits `CODE: text`; a message without a code takes one from the status.
fn split(status: u16, message: &str) -> (&str, &str) {
    match message.split_once(": ") {
        Some((code, text))
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            (code, text)
        }
        _ => (code_for(status), message),
    }
}

pub fn render(status: u16, message: &str) -> Response {
    let (code, text) = split(status, message);
    let text = default_message(status, text);
    let response = Response::json(
        status,
        &json!({ "errors": [{ "code": code, "message": text, "detail": null }] }),
    );
    // A bare Bearer challenge asks the host for the Docker token flow: it
    // adds the realm of its token endpoint and the scope that was missing.
    match status {
        401 => response.header("www-authenticate", "Bearer"),
        _ => response,
    }
}
