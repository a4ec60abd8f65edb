//! `multipart/form-data` bodies (PyPI's upload form): text fields come back to
//! the plugin, file parts stream into the blob store.
//!
//! Nothing a client sends is buffered without a bound. multer's size limits
//! are per field name, not per kind of part, so the limits are applied here:
//! a text field is read chunk by chunk up to `max_form_field_bytes` and
//! charged to the plugin's read budget as it arrives; a form has at most
//! `max_form_parts` parts; file parts stream to the store under the body's
//! own limit. multer buffers a part's headers (and anything before the first
//! boundary) until they end, with no limit of its own: the body is fed to it
//! in pieces, one per poll, and the bytes it takes while looking for the
//! next part are counted (`Paced`).

use super::body::IncomingBody;
use super::capability::RequestScope;
use crate::store::StoreError;
use crate::store::digest::{BlobInfo, Want};
use bytes::Bytes;
use futures::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

/// Bytes of part headers (or preamble) multer may gather for one part.
pub const MAX_PART_HEAD: u64 = 16 << 10;
/// Largest piece handed to multer at once.
const PIECE: usize = 16 << 10;

/// One part of the form, as the plugin receives it.
pub enum Part {
    Field(String, String),
    File {
        name: String,
        filename: String,
        content_type: Option<String>,
        blob: BlobInfo,
    },
}

/// The operator's bounds on a form.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    pub max_parts: u64,
    pub max_field_bytes: u64,
}

/// Where a form's parts go: the request's scope here, a counter in the
/// fuzz targets. (Both call it with a concrete type, whose future's `Send`
/// is known.)
#[allow(async_fn_in_trait)]
pub trait FormSink {
    /// Charges text and part descriptions to the plugin's read budget.
    fn charge(&mut self, n: usize) -> Result<(), StoreError>;
    /// Stores one file part.
    async fn file(&mut self, field: multer::Field<'_>) -> Result<BlobInfo, StoreError>;
}

pub async fn ingest(
    scope: &mut RequestScope,
    body: &mut IncomingBody,
    want: Want,
) -> Result<Vec<Part>, StoreError> {
    let content_type = body.content_type.clone().unwrap_or_default();
    let settings = &scope.services.settings;
    let limits = FormLimits {
        max_parts: settings.max_form_parts.into(),
        max_field_bytes: settings.max_form_field_bytes,
    };
    let mut sink = ScopeSink { scope, want };
    read_form(body.take(None), &content_type, limits, &mut sink).await
}

struct ScopeSink<'a> {
    scope: &'a mut RequestScope,
    want: Want,
}

impl FormSink for ScopeSink<'_> {
    fn charge(&mut self, n: usize) -> Result<(), StoreError> {
        self.scope.charge(n)
    }

    async fn file(&mut self, field: multer::Field<'_>) -> Result<BlobInfo, StoreError> {
        let services = self.scope.services.clone();
        let max = services.settings.max_body_bytes;
        let info = services.blobs.ingest(field, self.want, None, max).await?;
        Ok(self.scope.stored(info))
    }
}

/// Reads a form: text fields come back, file parts go to `sink`.
pub async fn read_form<'r, B>(
    body: B,
    content_type: &str,
    limits: FormLimits,
    sink: &mut impl FormSink,
) -> Result<Vec<Part>, StoreError>
where
    B: Stream<Item = Result<Bytes, StoreError>> + Unpin + Send + 'r,
{
    let invalid = |e: multer::Error| StoreError::Invalid(format!("invalid multipart body: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(invalid)?;
    let meter = Arc::new(HeadMeter::default());
    let mut form = multer::Multipart::new(Paced::new(body, meter.clone()), boundary);
    // A head past the limit surfaces as multer's read error.
    let head_error = |e: multer::Error| match meter.exceeded() {
        true => StoreError::Invalid(format!("a part's headers exceed {MAX_PART_HEAD} bytes")),
        false => invalid(e),
    };
    let mut parts = Vec::new();
    loop {
        meter.start();
        let Some(mut field) = form.next_field().await.map_err(head_error)? else {
            break;
        };
        meter.stop();
        if parts.len() as u64 >= limits.max_parts {
            let most = limits.max_parts;
            return Err(StoreError::Invalid(format!(
                "a form may have at most {most} parts"
            )));
        }
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let described = name.len() + filename.as_ref().map_or(0, String::len);
        sink.charge(described + content_type.as_ref().map_or(0, String::len))?;
        let Some(filename) = filename else {
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(invalid)? {
                if (text.len() + chunk.len()) as u64 > limits.max_field_bytes {
                    return Err(StoreError::TooLarge(limits.max_field_bytes));
                }
                sink.charge(chunk.len())?;
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            parts.push(Part::Field(name, text));
            continue;
        };
        let blob = sink.file(field).await?;
        parts.push(Part::File {
            name,
            filename,
            content_type,
            blob,
        });
    }
    Ok(parts)
}

/// Counts the bytes multer takes while it looks for the next part.
#[derive(Default)]
struct HeadMeter {
    counting: AtomicBool,
    taken: AtomicU64,
}

impl HeadMeter {
    fn start(&self) {
        self.taken.store(0, Ordering::Relaxed);
        self.counting.store(true, Ordering::Relaxed);
    }

    fn stop(&self) {
        self.counting.store(false, Ordering::Relaxed);
    }

    /// The last piece may run past the head into the part: one piece of
    /// slack.
    fn exceeded(&self) -> bool {
        self.taken.load(Ordering::Relaxed) > MAX_PART_HEAD + PIECE as u64
    }
}

/// The body as multer sees it. While multer looks for a part, it gets
/// pieces of at most `PIECE` bytes, one per poll (its buffer takes every
/// item that is ready, so a chunk handed whole could run far past a part's
/// headers), and past `MAX_PART_HEAD` bytes the body fails. Inside a part,
/// chunks go through as they are.
struct Paced<S> {
    inner: S,
    rest: Bytes,
    meter: Arc<HeadMeter>,
    /// Whether the last poll handed a counted piece: the next one yields.
    handed: bool,
}

impl<S> Paced<S> {
    fn new(inner: S, meter: Arc<HeadMeter>) -> Self {
        Paced {
            inner,
            rest: Bytes::new(),
            meter,
            handed: false,
        }
    }
}

impl<S> Stream for Paced<S>
where
    S: Stream<Item = Result<Bytes, StoreError>> + Unpin,
{
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if std::mem::take(&mut this.handed) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if this.rest.is_empty() {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.rest = chunk,
                other => return other,
            }
        }
        if !this.meter.counting.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.rest))));
        }
        let piece = this.rest.split_to(this.rest.len().min(PIECE));
        this.meter
            .taken
            .fetch_add(piece.len() as u64, Ordering::Relaxed);
        if this.meter.exceeded() {
            let e = format!("a part's headers exceed {MAX_PART_HEAD} bytes");
            return Poll::Ready(Some(Err(StoreError::Invalid(e))));
        }
        this.handed = true;
        Poll::Ready(Some(Ok(piece)))
    }
}
