//! Debian version numbers: `[epoch:]upstream[-revision]`, compared as
//! `dpkg --compare-versions` does (deb-version(7)): epochs as numbers, then
//! upstream and revision by alternating non-digit and digit runs, where `~`
//! sorts before everything, even the end of the string, and letters before
//! other characters.

use std::cmp::Ordering;

/// Whether `version` is a valid Debian version (policy 5.6.12).
pub fn is_valid(version: &str) -> bool {
    let (epoch, rest) = match version.split_once(':') {
        Some((e, rest)) => (Some(e), rest),
        None => (None, version),
    };
    if epoch.is_some_and(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    let allowed = |b: u8, extra: &[u8]| b.is_ascii_alphanumeric() || extra.contains(&b);
    let upstream_ok = upstream.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && upstream
            .bytes()
            .all(|b| allowed(b, b".+~-") || (b == b':' && epoch.is_some()));
    let revision_ok =
        revision.is_none_or(|r| !r.is_empty() && r.bytes().all(|b| allowed(b, b".+~")));
    version.len() <= 256 && upstream_ok && revision_ok
}

/// The version without its epoch: how pool file names spell it.
pub fn without_epoch(version: &str) -> &str {
    version.split_once(':').map_or(version, |(_, rest)| rest)
}

/// Compares two valid versions as dpkg does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

/// (epoch, upstream, revision); a missing revision is "", as in dpkg.
fn split(version: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match version.split_once(':') {
        Some((e, rest)) => (e.parse().unwrap_or(0), rest),
        None => (0, version),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// The weight of a character in a non-digit run: `~` first (below the end
/// of the run), then the end, then letters, then everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // The non-digit runs, character by character.
        let (na, ra) = split_run(a, |c| !c.is_ascii_digit());
        let (nb, rb) = split_run(b, |c| !c.is_ascii_digit());
        for i in 0..na.len().max(nb.len()) {
            let order = weight(na.get(i).copied()).cmp(&weight(nb.get(i).copied()));
            if order != Ordering::Equal {
                return order;
            }
        }
        // The digit runs, as numbers (of any length).
        let (da, ra) = split_run(ra, |c| c.is_ascii_digit());
        let (db, rb) = split_run(rb, |c| c.is_ascii_digit());
        let order = compare_numbers(da, db);
        if order != Ordering::Equal {
            return order;
        }
        (a, b) = (ra, rb);
    }
    Ordering::Equal
}

fn split_run(s: &[u8], f: impl Fn(&u8) -> bool) -> (&[u8], &[u8]) {
    let end = s.iter().position(|c| !f(c)).unwrap_or(s.len());
    s.split_at(end)
}

fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| -> usize { s.iter().position(|&c| c != b'0').unwrap_or(s.len()) };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_dpkg_does() {
        // Each pair: a < b (from deb-version(7) and dpkg's own test suite).
        let ascending = [
            ("1.0~rc1", "1.0"),
            ("1.0~~", "1.0~"),
            ("1.0~", "1.0"),
            ("1.0", "1.0a"),
            ("1.0a", "1.0+"),
            ("1.0", "1.0.1"),
            ("1.0-1", "1.0-2"),
            ("1.0-2", "1.0-10"),
            ("1.9", "1.10"),
            ("2.0", "1:0.1"),
            ("1:1.0", "2:0.1"),
            ("1.0", "1.0-0.1"),
            ("0.9-1", "1.0"),
            ("1.2.3", "1.2.3-1"),
            ("7.6-0", "7.6p2-4"),
            ("1.0-1", "1.0.3-3"),
            ("1.2.2-2", "1.3"),
            ("1.2.2", "1.3"),
            ("a", "b"),
            ("1.0-1~bpo1", "1.0-1"),
            ("00001", "2"),
        ];
        for (a, b) in ascending {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.01", "1.1"), Ordering::Equal);
    }

    #[test]
    fn validates_policy_syntax() {
        for good in [
            "1.0",
            "1:2.3-4",
            "2.30+dfsg-1~bpo12+1",
            "1.0-1-2",
            "0",
            "1:2:3-1",
        ] {
            assert!(is_valid(good), "{good}");
        }
        for bad in [
            "", "a1.0", "1.0-", ":1.0", "x:1.0", "1.0 1", "1.0_1", "1.0-a_b", "1:",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert_eq!(without_epoch("1:2.0-1"), "2.0-1");
        assert_eq!(without_epoch("2.0-1"), "2.0-1");
    }
}
