//! An upstream `index.yaml`, read event by event: a public one is tens of
//! MiB, so only one chart's entries are in memory at a time (the
//! SDK's tree reader stops at 1 MiB). Depth is bounded and aliases are
//! refused (Helm's writer emits none), so memory follows the input size,
//! which the caller bounds.

use wharf_sdk::yaml::Node;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deepest nesting (an entry nests 5 levels under `entries`).
const MAX_DEPTH: usize = 32;

/// Whether to read on after a chart.
pub enum Flow {
    Continue,
    Stop,
}

/// The document's other top-level fields, kept for the proxy's own index.
#[derive(Debug, Default, PartialEq)]
pub struct Header {
    pub generated: Option<String>,
}

/// Calls `visit(name, entries)` for each chart under `entries`, in the
/// document's order, each entry a tree; returns the other fields read.
pub fn for_each_chart(
    text: &str,
    mut visit: impl FnMut(&str, Vec<Node>) -> Flow,
) -> Result<Header, String> {
    let mut events = Events(Parser::new_from_str(text));
    let mut header = Header::default();
    loop {
        match events.next()? {
            Event::StreamStart | Event::DocumentStart => {}
            Event::MappingStart(..) => break,
            _ => return Err("the index is not a mapping".into()),
        }
    }
    loop {
        let key = match events.next()? {
            Event::MappingEnd => return Ok(header),
            Event::Scalar(key, ..) => key,
            _ => return Err("the index has a key that is not text".into()),
        };
        let first = events.next()?;
        match key.as_str() {
            "entries" => {
                if let Flow::Stop = charts(&mut events, first, &mut visit)? {
                    return Ok(header);
                }
            }
            "generated" => {
                header.generated = events.tree(first, 0)?.as_str().map(str::to_string);
            }
            _ => {
                events.tree(first, 0)?;
            }
        }
    }
}

/// `entries`: chart name → list of version entries.
fn charts(
    events: &mut Events,
    first: Event,
    visit: &mut impl FnMut(&str, Vec<Node>) -> Flow,
) -> Result<Flow, String> {
    match first {
        Event::MappingStart(..) => {}
        // `entries:` with nothing (null) holds no charts.
        Event::Scalar(..) => return Ok(Flow::Continue),
        _ => return Err("`entries` is not a mapping".into()),
    }
    loop {
        let name = match events.next()? {
            Event::MappingEnd => return Ok(Flow::Continue),
            Event::Scalar(name, ..) => name,
            _ => return Err("`entries` has a key that is not text".into()),
        };
        let first = events.next()?;
        let list = events.tree(first, 2)?;
        let items = match list {
            Node::Seq(items) => items,
            _ => Vec::new(),
        };
        if let Flow::Stop = visit(&name, items) {
            return Ok(Flow::Stop);
        }
    }
}

struct Events<'a>(Parser<std::str::Chars<'a>>);

impl Events<'_> {
    fn next(&mut self) -> Result<Event, String> {
        let (event, mark) = self.0.next_token().map_err(|e| e.to_string())?;
        match event {
            Event::Alias(_) => Err(format!("an alias at line {} (not read)", mark.line())),
            Event::StreamEnd => Err("the index ends early".into()),
            event => Ok(event),
        }
    }

    /// The node that starts with `first`, read to its end.
    fn tree(&mut self, first: Event, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err(format!("the index nests deeper than {MAX_DEPTH} levels"));
        }
        match first {
            Event::Scalar(text, style, ..) => Ok(Node::Scalar(text, style != TScalarStyle::Plain)),
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Event::SequenceEnd => return Ok(Node::Seq(items)),
                        event => items.push(self.tree(event, depth + 1)?),
                    }
                }
            }
            Event::MappingStart(..) => {
                let mut pairs = Vec::new();
                loop {
                    let key = match self.next()? {
                        Event::MappingEnd => return Ok(Node::Map(pairs)),
                        event => self.tree(event, depth + 1)?,
                    };
                    let value = self.next()?;
                    pairs.push((key, self.tree(value, depth + 1)?));
                }
            }
            other => Err(format!("unexpected YAML: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charts(text: &str) -> Result<(Vec<(String, usize)>, Header), String> {
        let mut seen = Vec::new();
        let header = for_each_chart(text, |name, entries| {
            seen.push((name.to_string(), entries.len()));
            Flow::Continue
        })?;
        Ok((seen, header))
    }

    #[test]
    fn charts_are_visited_in_order_with_their_entries() {
        let text = "apiVersion: v1\nentries:\n  b:\n  - {name: b, version: 1.0.0}\n  - {name: b, version: 2.0.0}\n  a: []\ngenerated: \"2026-12-06T10:00:00Z\"\nserverInfo:\n  contextPath: /x\n";
        let (seen, header) = charts(text).unwrap();
        assert_eq!(seen, [("b".to_string(), 2), ("a".to_string(), 0)]);
        assert_eq!(header.generated.as_deref(), Some("2026-12-06T10:00:00Z"));
        assert_eq!(charts("apiVersion: v1\nentries:\n").unwrap().0, []);
        assert_eq!(charts("entries: {}\n").unwrap().0, []);
    }

    #[test]
    fn stop_ends_the_walk() {
        let text = "entries:\n  a: [{name: a}]\n  b: [{name: b}]\n";
        let mut seen = Vec::new();
        for_each_chart(text, |name, _| {
            seen.push(name.to_string());
            Flow::Stop
        })
        .unwrap();
        assert_eq!(seen, ["a"]);
    }

    #[test]
    fn aliases_depth_and_junk_are_refused() {
        let alias = "entries:\n  a: &x [{name: a}]\n  b: *x\n";
        assert!(charts(alias).unwrap_err().contains("alias"));
        let deep = format!("entries:\n  a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(charts(&deep).unwrap_err().contains("deeper"));
        assert!(charts("- a list\n").is_err());
        assert!(charts("entries: [unclosed\n").is_err());
    }
}
