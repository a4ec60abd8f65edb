//! Escaping text for the documents formats render (HTML simple pages, XML
//! metadata): one escaper, safe in element text and in quoted attributes;
//! and names made into relative links.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What stays as it is in a link to a name: the unreserved characters, and
/// `/` between segments. A `:` is encoded, so no name reads as a scheme.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
/// A query value: the unreserved characters only.
const QUERY_VALUE: &AsciiSet = &PATH.add(b'/');

/// A relative URL path naming `text`: a space, `#`, `?`, `%` or `:` in a
/// name stays part of the link's target. Escape it with `markup` too in HTML.
pub fn url_path(text: &str) -> String {
    utf8_percent_encode(text, PATH).to_string()
}

/// `text` as one query-string value.
pub fn url_query_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_stay_one_link_target() {
        assert_eq!(super::url_path("a b#c?d%e.txt"), "a%20b%23c%3Fd%25e.txt");
        assert_eq!(
            super::url_path("javascript:alert(1)"),
            "javascript%3Aalert%281%29"
        );
        assert_eq!(super::url_path("dir/ünï.tgz"), "dir/%C3%BCn%C3%AF.tgz");
        assert_eq!(super::url_query_value("a/b c&d"), "a%2Fb%20c%26d");
    }

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            super::markup(r#"<a href="x">O'Neil & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }
}
