//! The crash test's uploads, 20 per format: the requests each sends, in
//! order, and what each request makes visible once committed. An upload is
//! rebuilt from its index whenever it is needed (it is deterministic), so no
//! body is kept around between sending and checking.

use super::formats::{cargo, maven, npm, oci, pypi};

pub const FORMATS: [&str; 5] = ["npm", "oci", "pypi", "cargo", "maven"];
pub const UPLOADS: usize = 100;
const MIB: usize = 1 << 20;

pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A read that shows whether a committed request is visible.
pub struct Check {
    pub path: String,
    pub accept: Option<&'static str>,
    pub expect: Expect,
}

pub enum Expect {
    /// Served byte for byte; absent is a 404.
    Bytes(Vec<u8>),
    /// A listing containing the text; absent is a 404 or a listing without it.
    Listed(String),
}

pub struct Step {
    pub request: Request,
    /// The status a retry of this request gets once it is committed (the
    /// format's "already exists"); `None`: the retry succeeds again.
    pub exists: Option<u16>,
    pub shows: Vec<Check>,
}

pub struct Upload {
    pub label: String,
    pub steps: Vec<Step>,
    /// The step carrying the payload: the one paced or held.
    pub big: usize,
}

/// Upload `i`: format `i % 5`, the `i / 5`th of its format.
pub fn upload(i: usize, auth: &str) -> Upload {
    let k = i / FORMATS.len();
    let data = payload(i);
    let mut upload = match FORMATS[i % FORMATS.len()] {
        "npm" => npm(k, data),
        "oci" => oci(k, data),
        "pypi" => pypi(k, data),
        "cargo" => cargo(k, data),
        _ => maven(k, data),
    };
    for step in &mut upload.steps {
        step.request
            .headers
            .push(("Authorization", auth.to_string()));
    }
    upload
}

/// 1 to 8 MiB of pseudo-random bytes, the same for the same `i`.
fn payload(i: usize) -> Vec<u8> {
    let seed = blake3::hash(format!("crash-{i}").as_bytes());
    let spread = u32::from_le_bytes(seed.as_bytes()[..4].try_into().unwrap()) as usize;
    let mut out = vec![0; MIB + spread % (7 * MIB)];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

pub fn request(method: &'static str, path: String, content_type: &str, body: Vec<u8>) -> Request {
    let headers = vec![("Content-Type", content_type.to_string())];
    Request {
        method,
        path,
        headers,
        body,
    }
}

pub fn bytes(path: String, expected: Vec<u8>) -> Check {
    Check {
        path,
        accept: None,
        expect: Expect::Bytes(expected),
    }
}

pub fn listed(path: String, text: &str) -> Check {
    Check {
        path,
        accept: None,
        expect: Expect::Listed(text.to_string()),
    }
}
