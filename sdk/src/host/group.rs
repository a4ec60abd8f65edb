//! A group's other answers, read by a merge whose document is made of them
//! (a Debian `Release` lists the digests of the merged `Packages` it names).
//! Only during `merge`; the host bounds how many paths one request reads
//! and how deep reads nest.

use super::imp::raw_group as raw;
use crate::types::GroupAnswer;

/// The group's answer to `GET <path>` (below the repository, no query), as
/// the client of the merged request would get it; an error outside a merge,
/// beyond the host's bounds, or for a path the caller may not read.
pub fn read(path: &str) -> Result<GroupAnswer, String> {
    raw::read(path)
}

/// The body of a 200 answer to `GET <path>`; `None` for a 404 or 410 (no
/// member has it), an error for anything else.
pub fn read_found(path: &str) -> Result<Option<Vec<u8>>, String> {
    let answer = read(path)?;
    match answer.status {
        200 => Ok(Some(answer.body)),
        404 | 410 => Ok(None),
        status => Err(format!("the group answered {status} for {path}")),
    }
}
