//! The blocking half: reads the JSON document with a streaming tokenizer
//! (struson), copies it to the rewritten document as it goes, and hands
//! each payload string, decoded, to a sink without ever holding it whole.
//!
//! struson, because its `next_string_reader` reads one string value as a
//! `Read`, so a payload of any size passes through a fixed buffer, and its
//! `transfer_to` copies the rest of the document value by value, strings
//! streamed too. (actson, the other candidate, is push-based, which suits
//! async input, but hands out each string whole.) What struson still
//! buffers whole, member names, is bounded by the meter: the document
//! outside its payloads may not exceed the limit, in or out.

use super::decode::Decoder;
use crate::store::StoreError;
use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use struson::reader::{
    JsonReader, JsonStreamReader, ReaderError, ReaderSettings, TransferError, ValueType,
};
use struson::writer::{JsonStreamWriter, JsonWriter};

/// Slack for what struson reads ahead of the value it returns.
const READ_AHEAD: u64 = 4 << 10;
/// Payload text read at a time: decodes to 192 KiB.
const PAYLOAD_READ: usize = 256 << 10;

/// Receives the payloads: `chunk` for each decoded piece, then `end`, which
/// names the stored blob; `abort` when the payload turned out invalid.
pub trait Sink {
    fn chunk(&mut self, bytes: Vec<u8>) -> Result<(), StoreError>;
    fn end(&mut self) -> Result<String, StoreError>;
    fn abort(&mut self, why: StoreError);
}

/// Bytes of the document outside its payloads, read and written.
struct Meter {
    limit: u64,
    /// Whether a payload's text is being read.
    in_payload: Cell<bool>,
    read: Cell<u64>,
    written: Cell<u64>,
    over: Cell<bool>,
}

impl Meter {
    fn new(limit: u64) -> Rc<Meter> {
        Rc::new(Meter {
            limit,
            in_payload: Cell::new(false),
            read: Cell::new(0),
            written: Cell::new(0),
            over: Cell::new(false),
        })
    }

    fn check(&self, outside: u64) -> std::io::Result<()> {
        if outside > self.limit {
            self.over.set(true);
            return Err(std::io::Error::other("the document is too large"));
        }
        Ok(())
    }
}

/// The body's bytes, counted unless they are read as payload text. What
/// the tokenizer reads ahead across a payload's ends is the slack.
struct Metered<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let m = &self.meter;
        if !m.in_payload.get() {
            m.read.set(m.read.get() + n as u64);
            m.check(m.read.get().saturating_sub(READ_AHEAD))?;
        }
        Ok(n)
    }
}

impl<W: Write> Write for Metered<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let m = &self.meter;
        m.written.set(m.written.get() + buf.len() as u64);
        m.check(m.written.get())?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads the document from `input` and returns it rewritten, each payload
/// (a string at a location `patterns` match) replaced by `{"$blob": …}`.
pub fn rewrite<R: Read>(
    input: R,
    patterns: &[String],
    limit: u64,
    sink: &mut impl Sink,
) -> Result<String, StoreError> {
    let meter = Meter::new(limit);
    let settings = ReaderSettings {
        // Paths hold every member name on the way: not worth their memory.
        track_path: false,
        ..ReaderSettings::default()
    };
    let input = Metered {
        inner: input,
        meter: meter.clone(),
    };
    let mut reader = JsonStreamReader::new_custom(input, settings);
    let output = Metered {
        inner: Vec::new(),
        meter: meter.clone(),
    };
    let mut writer = JsonStreamWriter::new(output);
    let patterns: Vec<Vec<&str>> = patterns
        .iter()
        .map(|p| p.split('/').skip(1).collect())
        .collect();
    let active: Vec<&[&str]> = patterns.iter().map(Vec::as_slice).collect();
    let mut walk = Walk {
        reader: &mut reader,
        writer: &mut writer,
        meter: &meter,
        sink,
        at: String::new(),
    };
    let done = walk.value(&active).and_then(|()| {
        reader.consume_trailing_whitespace()?;
        Ok(writer.finish_document()?.inner)
    });
    let doc = done.map_err(|e| match meter.over.get() {
        true => StoreError::TooLarge(limit),
        false => e.into(),
    })?;
    String::from_utf8(doc).map_err(|_| StoreError::Invalid("the document is not UTF-8".into()))
}

struct Walk<'a, R: Read, W: Write, S> {
    reader: &'a mut JsonStreamReader<Metered<R>>,
    writer: &'a mut JsonStreamWriter<Metered<W>>,
    meter: &'a Meter,
    sink: &'a mut S,
    /// The pointer of the value being read, for messages.
    at: String,
}

impl<R: Read, W: Write, S: Sink> Walk<'_, R, W, S> {
    /// Copies the next value, descending where patterns still match.
    fn value(&mut self, patterns: &[&[&str]]) -> Result<(), Error> {
        let kind = self.reader.peek()?;
        if kind == ValueType::String && patterns.iter().any(|p| p.is_empty()) {
            let blake3 = self.payload()?;
            self.writer.begin_object()?;
            self.writer.name("$blob")?;
            self.writer.string_value(&blake3)?;
            self.writer.end_object()?;
            return Ok(());
        }
        let deeper: Vec<&[&str]> = patterns.iter().copied().filter(|p| !p.is_empty()).collect();
        if kind != ValueType::Object || deeper.is_empty() {
            return Ok(self.reader.transfer_to(self.writer)?);
        }
        self.reader.begin_object()?;
        self.writer.begin_object()?;
        while self.reader.has_next()? {
            let name = self.reader.next_name_owned()?;
            self.writer.name(&name)?;
            let matching: Vec<&[&str]> = deeper
                .iter()
                .filter(|p| p[0] == "*" || unescape(p[0]) == name)
                .map(|p| &p[1..])
                .collect();
            let len = self.at.len();
            self.at.push('/');
            self.at.push_str(&escape(&name));
            self.value(&matching)?;
            self.at.truncate(len);
        }
        self.reader.end_object()?;
        self.writer.end_object()?;
        Ok(())
    }

    /// Streams one payload string, decoded, into the sink.
    fn payload(&mut self) -> Result<String, Error> {
        self.meter.in_payload.set(true);
        let blake3 = self.payload_text();
        self.meter.in_payload.set(false);
        blake3
    }

    fn payload_text(&mut self) -> Result<String, Error> {
        let mut text = self.reader.next_string_reader()?;
        let mut decoder = Decoder::default();
        let mut buf = vec![0; PAYLOAD_READ];
        let invalid = |at: &str, e: String| {
            let at = if at.is_empty() { "the document" } else { at };
            StoreError::Invalid(format!("{at} is not valid base64: {e}"))
        };
        loop {
            let n = match text.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let e = StoreError::from(Error::Io(e));
                    self.sink.abort(e.clone());
                    return Err(e.into());
                }
            };
            let mut out = Vec::with_capacity(n / 4 * 3 + 3);
            if let Err(e) = decoder.push(&buf[..n], &mut out) {
                let e = invalid(&self.at, e);
                self.sink.abort(e.clone());
                return Err(e.into());
            }
            if !out.is_empty() {
                self.sink.chunk(out)?;
            }
        }
        if let Err(e) = decoder.finish() {
            let e = invalid(&self.at, e);
            self.sink.abort(e.clone());
            return Err(e.into());
        }
        Ok(self.sink.end()?)
    }
}

/// What stops the walk.
enum Error {
    Json(ReaderError),
    Io(std::io::Error),
    Store(StoreError),
}

impl From<ReaderError> for Error {
    fn from(e: ReaderError) -> Self {
        Error::Json(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<TransferError> for Error {
    fn from(e: TransferError) -> Self {
        match e {
            TransferError::ReaderError(e) => Error::Json(e),
            TransferError::WriterError(e) => Error::Io(e),
        }
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(e) => e,
            Error::Json(ReaderError::IoError { error, .. }) | Error::Io(error) => {
                StoreError::Invalid(format!("invalid JSON body: {error}"))
            }
            Error::Json(e) => StoreError::Invalid(format!("invalid JSON body: {e}")),
        }
    }
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
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    /// Keeps each payload; names it by its BLAKE3.
    #[derive(Default)]
    struct Kept {
        current: Vec<u8>,
        payloads: Vec<Vec<u8>>,
        aborted: usize,
    }

    impl Sink for Kept {
        fn chunk(&mut self, bytes: Vec<u8>) -> Result<(), StoreError> {
            self.current.extend(bytes);
            Ok(())
        }
        fn end(&mut self) -> Result<String, StoreError> {
            let bytes = std::mem::take(&mut self.current);
            let name = blake3::hash(&bytes).to_hex().to_string();
            self.payloads.push(bytes);
            Ok(name)
        }
        fn abort(&mut self, _: StoreError) {
            self.current.clear();
            self.aborted += 1;
        }
    }

    fn run(doc: &str, patterns: &[&str], limit: u64) -> (Result<String, StoreError>, Kept) {
        let mut kept = Kept::default();
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        (rewrite(doc.as_bytes(), &patterns, limit, &mut kept), kept)
    }

    #[test]
    fn payloads_leave_the_document_under_any_key() {
        let body = r#"{"name":"a","_attachments":{"a/b-1.0.0.tgz":{"data":"aGVsbG8=","length":5},"x.tgz":{"data":"d29y\/w=="}},"data":"kept"}"#;
        let (doc, kept) = run(body, &["/_attachments/*/data"], 1 << 20);
        let doc: serde_json::Value = serde_json::from_str(&doc.unwrap()).unwrap();
        assert_eq!(kept.payloads[0], b"hello");
        assert_eq!(kept.payloads[1], STANDARD.decode("d29y/w==").unwrap());
        let hello = blake3::hash(b"hello").to_hex().to_string();
        assert_eq!(doc["_attachments"]["a/b-1.0.0.tgz"]["data"]["$blob"], hello);
        assert_eq!(doc["_attachments"]["a/b-1.0.0.tgz"]["length"], 5);
        assert_eq!(doc["data"], "kept");
        assert_eq!(doc["name"], "a");
    }

    #[test]
    fn bad_base64_and_bad_json_are_invalid() {
        let (r, kept) = run(r#"{"a":{"data":"%%%"}}"#, &["/a/data"], 1 << 20);
        assert!(matches!(r, Err(StoreError::Invalid(m)) if m.contains("/a/data")));
        assert_eq!(kept.aborted, 1);
        assert!(matches!(
            run("{", &[], 1 << 20).0,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            run("{} x", &[], 1 << 20).0,
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn the_document_outside_payloads_is_bounded() {
        let payload = STANDARD.encode(vec![7u8; 300_000]);
        let small =
            format!(r#"{{"readme":"short","_attachments":{{"t":{{"data":"{payload}"}}}}}}"#);
        let (doc, kept) = run(&small, &["/_attachments/*/data"], 8 << 10);
        assert!(doc.is_ok());
        assert_eq!(kept.payloads[0].len(), 300_000);
        let long_name = format!(r#"{{"{}":1}}"#, "n".repeat(100_000));
        assert_eq!(
            run(&long_name, &[], 8 << 10).0,
            Err(StoreError::TooLarge(8 << 10))
        );
        let long_text = format!(r#"{{"readme":"{}"}}"#, "r".repeat(100_000));
        assert_eq!(
            run(&long_text, &[], 8 << 10).0,
            Err(StoreError::TooLarge(8 << 10))
        );
    }
}
