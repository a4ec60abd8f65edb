//! Maven's version order (`ComparableVersion` of maven-artifact, as Maven
//! 3.8.7 and 3.9 use it to pick the highest version of a range): a version
//! is split at `.`, at `-` (which opens a sub-list) and where letters and
//! digits meet; numbers compare as numbers, known qualifiers in the order
//! alpha < beta < milestone < rc < snapshot < "" (ga, final, release) < sp,
//! unknown ones after them as text; trailing zeros and empty qualifiers do
//! not count (`1.0` = `1`, `1-ga` = `1`).

use std::cmp::Ordering;

/// One parsed component.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// Decimal digits without leading zeros (`0` for zero): any length.
    Number(String),
    /// A qualifier, lower case, aliases resolved (`cr` is `rc`, `ga` is "").
    Text(String),
    /// What follows a `-`, or a letters/digits change.
    List(Vec<Item>),
}

/// The qualifiers Maven knows, lowest first; "" is the release itself.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// The index of "" in `QUALIFIERS`, as `comparable` spells it.
const RELEASE: &str = "5";

/// Orders two versions as Maven does.
#[cfg(test)]
fn compare(a: &str, b: &str) -> Ordering {
    pairwise(&parse(a), &parse(b))
}

/// Sorts `versions` lowest first, keeping the order of versions Maven
/// holds equal (`1.0` and `1`).
pub fn sort(versions: &mut Vec<String>) {
    let mut keyed: Vec<(Vec<Item>, String)> = versions.drain(..).map(|v| (parse(&v), v)).collect();
    keyed.sort_by(|(a, _), (b, _)| pairwise(a, b));
    versions.extend(keyed.into_iter().map(|(_, v)| v));
}

/// The highest of `versions`, the first of equals.
pub fn highest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(Vec<Item>, &str)> = None;
    for v in versions {
        let parsed = parse(v);
        let higher = best
            .as_ref()
            .is_none_or(|(b, _)| pairwise(&parsed, b) == Ordering::Greater);
        if higher {
            best = Some((parsed, v));
        }
    }
    best.map(|(_, v)| v)
}

fn parse(version: &str) -> Vec<Item> {
    let chars: Vec<char> = version.to_lowercase().chars().collect();
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    // The innermost list is the last; each one below it already ends with
    // a placeholder for it, filled when the lists are closed.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let open = |stack: &mut Vec<Vec<Item>>| stack.push(Vec::new());
    let mut digits = false;
    let mut start = 0;
    for (i, &c) in chars.iter().enumerate() {
        let list = stack.last_mut().expect("the root list");
        if c == '.' || c == '-' {
            list.push(match i == start {
                true => Item::Number("0".into()),
                false => item(digits, &text(start, i)),
            });
            start = i + 1;
            if c == '-' {
                open(&mut stack);
            }
        } else if c.is_ascii_digit() {
            if !digits && i > start {
                // `1.0.0.x1` < `1.0.0-x2`: a qualifier after a dot is one after a hyphen.
                if !list.is_empty() {
                    open(&mut stack);
                }
                let qualifier = qualifier(&text(start, i), true);
                stack.last_mut().expect("a list").push(qualifier);
                start = i;
                open(&mut stack);
            }
            digits = true;
        } else {
            if digits && i > start {
                list.push(item(true, &text(start, i)));
                start = i;
                open(&mut stack);
            }
            digits = false;
        }
    }
    if chars.len() > start {
        if !digits && !stack.last().expect("a list").is_empty() {
            open(&mut stack);
        }
        let last = item(digits, &text(start, chars.len()));
        stack.last_mut().expect("a list").push(last);
    }
    // Close the lists innermost first, each normalized before its parent.
    let mut closed = stack.pop().expect("the root list");
    normalize(&mut closed);
    while let Some(mut parent) = stack.pop() {
        parent.push(Item::List(closed));
        normalize(&mut parent);
        closed = parent;
    }
    closed
}

fn item(digits: bool, text: &str) -> Item {
    match digits {
        true => {
            let trimmed = text.trim_start_matches('0');
            Item::Number(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
        }
        false => qualifier(text, false),
    }
}

/// `a1` is `alpha-1`, `b1` `beta-1`, `m1` `milestone-1`; `ga`, `final` and
/// `release` are the release, `cr` is `rc`.
fn qualifier(text: &str, followed_by_digit: bool) -> Item {
    let text = match (followed_by_digit, text) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        (_, "ga" | "final" | "release") => "",
        (_, "cr") => "rc",
        (_, other) => other,
    };
    Item::Text(text.to_string())
}

/// Drops trailing items equal to nothing (`0`, "", an empty list), looking
/// past trailing lists that are not empty.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if is_null(&list[i]) {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Number(n) => n == "0",
        Item::Text(t) => comparable(t) == RELEASE,
        Item::List(l) => l.is_empty(),
    }
}

/// A qualifier as text that sorts in Maven's order: the index of a known
/// one, else `7-` and the qualifier.
fn comparable(qualifier: &str) -> String {
    match QUALIFIERS.iter().position(|q| *q == qualifier) {
        Some(i) => i.to_string(),
        None => format!("{}-{qualifier}", QUALIFIERS.len()),
    }
}

/// Java's `String.compareTo`: by UTF-16 code units.
fn java_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn compare_numbers(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `a` against `b`, or against nothing (the shorter side of a list).
fn compare_items(a: &Item, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Number(n), None) => match n == "0" {
            true => Ordering::Equal,
            false => Ordering::Greater,
        },
        (Item::Number(x), Some(Item::Number(y))) => compare_numbers(x, y),
        (Item::Number(_), Some(_)) => Ordering::Greater,
        (Item::Text(t), None) => java_order(&comparable(t), RELEASE),
        (Item::Text(_), Some(Item::Number(_) | Item::List(_))) => Ordering::Less,
        (Item::Text(x), Some(Item::Text(y))) => java_order(&comparable(x), &comparable(y)),
        (Item::List(l), b) => compare_lists(l, b),
    }
}

fn compare_lists(list: &[Item], other: Option<&Item>) -> Ordering {
    match other {
        // Every item against nothing, the first that differs decides.
        None => list
            .iter()
            .map(|i| compare_items(i, None))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
        Some(Item::Number(_)) => Ordering::Less,
        Some(Item::Text(_)) => Ordering::Greater,
        Some(Item::List(other)) => pairwise(list, other),
    }
}

/// Two lists item by item, the shorter one padded with nothing.
fn pairwise(list: &[Item], other: &[Item]) -> Ordering {
    let mut left = list.iter();
    let mut right = other.iter();
    loop {
        let order = match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (Some(l), r) => compare_items(l, r),
            (None, Some(r)) => compare_items(r, None).reverse(),
        };
        if order.is_ne() {
            return order;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ascending, as `ComparableVersion` of Debian's Maven 3.8.7 orders them
    /// (checked with its `main`); neighbours joined by `=` are equal.
    const ORDERED: &[&str] = &[
        "1-alpha-1 = 1.0a1 = 1.0-alpha-1 = 1.0.alpha1",
        "1.0-alpha-2",
        "1.0-beta",
        "1.0-b2 = 1.0-beta-2",
        "1.0-m1 = 1.0-milestone-1",
        "1.0-rc1 = 1.0-cr1 = 1.0.RC1",
        "1.0-RC2",
        "1.0-SNAPSHOT",
        "1 = 1.0 = 1.0.0 = 1-ga = 1.0-final = 1.0.release = 1-0",
        "1-sp = 1.0-sp",
        "1.0-sp1",
        "1.0-abc",
        "1.0.0.x1",
        "1.0-x2",
        "1.0-xyz",
        "1-0.1",
        "1-1 = 1-01",
        "1.0.1",
        "1.0.2-SNAPSHOT",
        "1.0.2",
        "1.1",
        "1.2",
        "1.9",
        "1.10",
        "2.0.0-alpha",
        "2.0",
        "2.0.1-xyz = 2.0.1.xyz",
        "10",
        "123456789012",
        "123456789012345678901234567890",
    ];

    fn groups() -> Vec<Vec<&'static str>> {
        ORDERED
            .iter()
            .map(|group| group.split(" = ").collect())
            .collect()
    }

    #[test]
    fn versions_order_as_maven_orders_them() {
        let groups = groups();
        for (i, group) in groups.iter().enumerate() {
            for a in group {
                for b in group {
                    assert_eq!(compare(a, b), Ordering::Equal, "{a} = {b}");
                }
                for (j, other) in groups.iter().enumerate() {
                    for b in other.iter().filter(|_| j != i) {
                        assert_eq!(compare(a, b), i.cmp(&j), "{a} against {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn sorting_is_stable_and_highest_is_the_first_of_equals() {
        let mut versions: Vec<String> = ["1.10", "1.0", "1.9", "1", "1.0-SNAPSHOT", "1.9-rc1"]
            .map(String::from)
            .to_vec();
        sort(&mut versions);
        assert_eq!(
            versions,
            ["1.0-SNAPSHOT", "1.0", "1", "1.9-rc1", "1.9", "1.10"]
        );
        assert_eq!(highest(["1.0", "1.10", "1.9"]), Some("1.10"));
        assert_eq!(highest(["2.0", "2"]), Some("2.0"));
        assert_eq!(highest([]), None);
    }

    #[test]
    fn odd_versions_do_not_panic() {
        for v in [
            "", ".", "-", "--", "..1", "a", "1-", "-1", "1..a-", "é1ß", "0000", "1.0-",
        ] {
            let _ = compare(v, "1.0");
            let _ = compare("1.0", v);
            let _ = compare(v, v);
        }
        assert_eq!(compare("", "0"), Ordering::Equal);
        // Random strings of separators, digits and letters: a total order
        // that never panics (antisymmetric on every pair tried).
        const PIECES: [&str; 12] = [".", "-", "0", "1", "9", "a", "b", "m", "rc", "sp", "x", "É"];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let mut one = || -> String {
                let n = next() % 8;
                (0..n).map(|_| PIECES[(next() % 12) as usize]).collect()
            };
            let (a, b) = (one(), one());
            assert_eq!(compare(&a, &b), compare(&b, &a).reverse(), "{a} {b}");
        }
    }
}
