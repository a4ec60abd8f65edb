//! `ar` archives (a `.deb`'s outer layer): a magic line, then members, each
//! a 60-byte text header and its bytes padded to an even length. The
//! members are listed once, their sizes checked against the archive's own,
//! and read in place: nothing is unpacked, so there is no ratio to watch.

use super::{ArchiveError, Limit, Limits, check_name};
use std::io::{Read, Seek, SeekFrom};

const MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER: u64 = 60;

/// One member: where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArMember {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// An `ar` archive whose members were listed.
pub struct Ar<R> {
    reader: R,
    members: Vec<ArMember>,
}

impl<R: Read + Seek> Ar<R> {
    /// Lists the members: at most `limits.max_entries`, each no larger than
    /// `limits.max_entry_bytes`, all inside the archive, with safe unique
    /// names (GNU's trailing `/` removed; long-name tables refused, as
    /// `dpkg` writes none).
    pub fn open(mut reader: R, limits: Limits) -> Result<Self, ArchiveError> {
        let total = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(0))?;
        let mut magic = [0u8; 8];
        read_exact(&mut reader, &mut magic, "its magic")?;
        if &magic != MAGIC {
            return Err(ArchiveError::malformed("not an ar archive"));
        }
        let mut members: Vec<ArMember> = Vec::new();
        let mut at = MAGIC.len() as u64;
        while at < total {
            if members.len() as u64 >= limits.max_entries {
                return Err(ArchiveError::too_large(Limit::Entries, limits.max_entries));
            }
            let mut header = [0u8; HEADER as usize];
            reader.seek(SeekFrom::Start(at))?;
            read_exact(&mut reader, &mut header, "a member header")?;
            let member = parse_header(&header, at + HEADER)?;
            if member.size > total - member.offset {
                return Err(ArchiveError::malformed(format!(
                    "member {:?} claims {} bytes past the archive's end",
                    member.name, member.size
                )));
            }
            if member.size > limits.max_entry_bytes {
                return Err(ArchiveError::too_large(
                    Limit::EntryBytes,
                    limits.max_entry_bytes,
                ));
            }
            if members.iter().any(|m| m.name == member.name) {
                return Err(ArchiveError::malformed(format!(
                    "member {:?} appears twice",
                    member.name
                )));
            }
            at = member.offset + member.size + member.size % 2;
            members.push(member);
        }
        Ok(Ar { reader, members })
    }

    /// The members, in archive order.
    pub fn members(&self) -> &[ArMember] {
        &self.members
    }

    /// The bytes of member `name` as a reader, or `None` if there is none.
    pub fn member(&mut self, name: &str) -> Result<Option<impl Read + '_>, ArchiveError> {
        let Some(member) = self.members.iter().find(|m| m.name == name) else {
            return Ok(None);
        };
        self.reader.seek(SeekFrom::Start(member.offset))?;
        Ok(Some((&mut self.reader).take(member.size)))
    }

    /// The whole of member `name`, refused if larger than `max` bytes.
    pub fn read(&mut self, name: &str, max: u64) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some(size) = self.members.iter().find(|m| m.name == name).map(|m| m.size) else {
            return Ok(None);
        };
        if size > max {
            return Err(ArchiveError::too_large(Limit::EntryBytes, max));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        if let Some(mut member) = self.member(name)? {
            member.read_to_end(&mut bytes)?;
        }
        if bytes.len() as u64 != size {
            return Err(ArchiveError::malformed(format!(
                "member {name:?} is cut short"
            )));
        }
        Ok(Some(bytes))
    }
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), ArchiveError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            ArchiveError::malformed(format!("the archive ends inside {what}"))
        }
        _ => e.into(),
    })
}

/// `name[16] mtime[12] uid[6] gid[6] mode[8] size[10] "`\n"`, ASCII.
fn parse_header(header: &[u8; HEADER as usize], offset: u64) -> Result<ArMember, ArchiveError> {
    if &header[58..60] != b"`\n" {
        return Err(ArchiveError::malformed("a member header is damaged"));
    }
    let field = |range: std::ops::Range<usize>| {
        std::str::from_utf8(&header[range])
            .map(str::trim_end)
            .map_err(|_| ArchiveError::malformed("a member header is not ASCII"))
    };
    let raw_name = field(0..16)?;
    if raw_name.starts_with('/') {
        return Err(ArchiveError::malformed(
            "the archive has a symbol or long-name table",
        ));
    }
    let name = raw_name.strip_suffix('/').unwrap_or(raw_name).to_string();
    check_name(&name)?;
    let size = field(48..58)?;
    let size = size
        .parse::<u64>()
        .ok()
        .filter(|_| size.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ArchiveError::malformed(format!("member {name:?} has no valid size")))?;
    Ok(ArMember { name, offset, size })
}
