//! The checksum database paths a client may ask for, parsed strictly and
//! written back canonically: only what `golang.org/x/mod/sumdb/tlog`'s
//! `Tile.Path` and the go command's lookup paths can be is sent upstream,
//! rebuilt from numbers and a checked module path, never from the
//! request's bytes.

use crate::module::{self, Version};

/// Tile heights accepted: the go command and sum.golang.org use 8; a
/// higher tile would be larger than any client needs (2^H hashes).
const MAX_HEIGHT: u64 = 8;
/// Highest hash level: 64 bits of leaves at height 1.
const MAX_LEVEL: u64 = 63;
/// Bytes of one hash in a hash tile.
const HASH_SIZE: usize = 32;
/// Bytes of one record in a data tile, at most: its id line and two go.sum
/// lines, each a module path (`module::MAX_PATH`), a version and a hash.
const MAX_RECORD: usize = 8 << 10;

/// `tile/H/L/NNN[.p/W]` (`L` is `data` for the records themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    height: u64,
    /// `None` for a data tile.
    level: Option<u64>,
    index: u64,
    width: u64,
}

impl Tile {
    /// The tile of `rest`, the path after `tile/`, if `rest` is exactly
    /// how the tile is written.
    pub fn parse(rest: &str) -> Result<Tile, String> {
        let bad = || format!("malformed tile path \"tile/{rest}\"");
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let parts: Vec<&str> = rest.split('/').collect();
        let [height, level, elements @ ..] = &parts[..] else {
            return Err(bad());
        };
        let height = number(height)?;
        if !(1..=MAX_HEIGHT).contains(&height) {
            return Err(bad());
        }
        let level = match *level {
            "data" => None,
            l => Some(number(l)?).filter(|l| *l <= MAX_LEVEL),
        };
        if level.is_none() && parts[1] != "data" {
            return Err(bad());
        }
        let full = 1 << height;
        let (elements, width) = match elements {
            [front @ .., last, w] if last.ends_with(".p") => {
                let mut elements = front.to_vec();
                elements.extend(last.strip_suffix(".p"));
                (elements, number(w)?)
            }
            _ => (elements.to_vec(), full),
        };
        // 1000^7 passes 2^63: no index needs more elements.
        if elements.is_empty() || elements.len() > 7 || !(1..=full).contains(&width) {
            return Err(bad());
        }
        let mut index: u64 = 0;
        for element in elements {
            let digits = number(element.strip_prefix('x').unwrap_or(element))?;
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(digits))
                .ok_or_else(bad)?;
        }
        let tile = Tile {
            height,
            level,
            index,
            width,
        };
        // Leading zeros, a `+`, an `x` missing or misplaced, a `.p/256` at
        // height 8: each writes differently.
        match tile.path() == format!("tile/{rest}") {
            true => Ok(tile),
            false => Err(bad()),
        }
    }

    /// `Tile.Path`: the index in 3-digit elements, all but the last with
    /// an `x`; `.p/W` when partial.
    pub fn path(&self) -> String {
        let mut elements = vec![format!("{:03}", self.index % 1000)];
        let mut n = self.index;
        while n >= 1000 {
            n /= 1000;
            elements.push(format!("x{:03}", n % 1000));
        }
        elements.reverse();
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "data".into(),
        };
        let partial = match self.is_partial() {
            true => format!(".p/{}", self.width),
            false => String::new(),
        };
        format!(
            "tile/{}/{level}/{}{partial}",
            self.height,
            elements.join("/")
        )
    }

    /// Fewer than 2^H entries: the tree has not filled it yet.
    pub fn is_partial(&self) -> bool {
        self.width < 1 << self.height
    }

    pub fn is_data(&self) -> bool {
        self.level.is_none()
    }

    /// Whether `len` bytes can be this tile: exactly `W` hashes, or up to
    /// `W` records.
    pub fn fits(&self, len: usize) -> bool {
        match self.is_data() {
            true => len <= self.max_bytes(),
            false => len == self.max_bytes(),
        }
    }

    /// The most bytes this tile can have.
    pub fn max_bytes(&self) -> usize {
        let per_entry = match self.is_data() {
            true => MAX_RECORD,
            false => HASH_SIZE,
        };
        self.width as usize * per_entry
    }
}

/// `lookup/{module}@{version}`, both case-encoded as the go command sends
/// them: the module path checked as the checksum database checks it, the
/// version canonical. Returns the path written back (it is the request's
/// whenever it is valid).
pub fn lookup_key(key: &str) -> Result<String, String> {
    let (escaped_path, escaped_version) = key
        .split_once('@')
        .ok_or_else(|| format!("malformed module@version {key:?}"))?;
    let path = module::unescape(escaped_path)?;
    module::check_sumdb_path(&path).map_err(|e| format!("malformed module path {path:?}: {e}"))?;
    let version: Version = module::unescape_version(escaped_version)?;
    let canonical = format!(
        "{}@{}",
        module::escape(&path),
        module::escape(&version.to_string())
    );
    match canonical == key {
        true => Ok(canonical),
        false => Err(format!("malformed module@version {key:?}")),
    }
}
