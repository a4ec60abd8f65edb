//! Why an archive was refused, and the status a plugin answers with.

use crate::http::HttpError;
use std::error::Error;
use std::fmt;
use std::io;

/// The limit an archive went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    UnpackedBytes,
    Entries,
    EntryBytes,
    Ratio,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArchiveError {
    /// Past one of the [`Limits`](super::Limits) (or a read's own maximum): 413.
    TooLarge { limit: Limit, max: u64 },
    /// Not an archive of the kind, inconsistent with itself, or with an
    /// unsafe entry name: 400.
    Malformed(String),
    /// The stored bytes could not be read: the host's error, as it came.
    Unreadable(HttpError),
}

impl ArchiveError {
    pub(crate) fn too_large(limit: Limit, max: u64) -> Self {
        ArchiveError::TooLarge { limit, max }
    }

    pub(crate) fn malformed(why: impl fmt::Display) -> Self {
        ArchiveError::Malformed(why.to_string())
    }

    pub fn status(&self) -> u16 {
        match self {
            ArchiveError::TooLarge { .. } => 413,
            ArchiveError::Malformed(_) => 400,
            ArchiveError::Unreadable(e) => e.status,
        }
    }

    /// This error as a `std::io::Error`, for a `Read` implementation; the
    /// `From<io::Error>` conversion finds it again, however deep a decoder or
    /// the tar reader wrapped it.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::TooLarge { limit, max } => match limit {
                Limit::UnpackedBytes => write!(f, "the archive unpacks to more than {max} bytes"),
                Limit::Entries => write!(f, "the archive has more than {max} entries"),
                Limit::EntryBytes => {
                    write!(f, "the archive has an entry larger than {max} bytes")
                }
                Limit::Ratio => write!(
                    f,
                    "the archive unpacks to more than {max} times its size (a compression bomb?)"
                ),
            },
            ArchiveError::Malformed(why) => write!(f, "invalid archive: {why}"),
            ArchiveError::Unreadable(e) => {
                write!(f, "the archive could not be read: {}", e.message)
            }
        }
    }
}

impl Error for ArchiveError {}

/// Recovers the refusal an I/O error carries: one of ours (a limit), or the
/// host's (a blob read); anything else is a malformed archive.
impl From<io::Error> for ArchiveError {
    fn from(e: io::Error) -> Self {
        let mut cause: Option<&(dyn Error + 'static)> = Some(&e);
        while let Some(err) = cause {
            if let Some(ours) = err.downcast_ref::<ArchiveError>() {
                return ours.clone();
            }
            if let Some(host) = err.downcast_ref::<HttpError>() {
                return ArchiveError::Unreadable(host.clone());
            }
            // An io::Error's `source` skips the error it wraps: look at it first.
            cause = match err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => Some(inner),
                None => err.source(),
            };
        }
        ArchiveError::malformed(e)
    }
}

impl From<rawzip::Error> for ArchiveError {
    fn from(e: rawzip::Error) -> Self {
        match e.into_kind() {
            rawzip::ErrorKind::IO(io) => io.into(),
            kind => ArchiveError::malformed(kind),
        }
    }
}

impl From<ArchiveError> for HttpError {
    fn from(e: ArchiveError) -> Self {
        match e {
            ArchiveError::Unreadable(host) => host,
            e => HttpError::new(e.status(), e.to_string()),
        }
    }
}
