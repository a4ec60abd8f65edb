//! A bounded YAML reader for the documents clients upload (a gem's gemspec,
//! a chart's `Chart.yaml`). Scalars keep their text (`appVersion: 1.10`
//! stays `1.10`); tags (Ruby's `!ruby/object:Gem::Version`) are dropped: a
//! tagged mapping reads as a mapping. The tree is built here from the parser's events so that the
//! input size, the nesting depth and the nodes materialized (aliases
//! included: a billion-laughs document is refused after `MAX_NODES`, not
//! expanded) are bounded.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Largest YAML document read (Chart.yaml files are a few KiB, the largest
/// gemspecs on rubygems.org ~100 KiB).
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest nesting (a Chart.yaml nests 4 levels, a gemspec 6).
pub const MAX_DEPTH: usize = 32;
/// Nodes built, alias copies included.
pub const MAX_NODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar's text, and whether it was quoted (a quoted `null` is text).
    Scalar(String, bool),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar's text; `None` for YAML's null (`~`, `null` or empty) and non-scalars.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, true) => Some(s),
            Node::Scalar(s, false)
                if !matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL") =>
            {
                Some(s)
            }
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    fn size(&self) -> usize {
        match self {
            Node::Scalar(..) => 1,
            Node::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Node::Map(pairs) => {
                1 + pairs
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }
}

enum Open {
    Seq(usize, Vec<Node>),
    Map(usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses the first document of `text`.
pub fn parse(text: &str) -> Result<Node, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("the document is larger than {MAX_BYTES} bytes"));
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        let done: Option<(Node, usize)> = match event {
            Event::StreamEnd => return Err("the document has no YAML document".into()),
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => None,
            Event::Scalar(value, style, anchor, _) => {
                let quoted = style != TScalarStyle::Plain;
                Some((Node::Scalar(value, quoted), anchor))
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .ok_or_else(|| format!("an unknown alias at line {}", mark.line()))?
                    .clone();
                nodes += node.size();
                Some((node, 0))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Open::Seq(anchor, Vec::new()));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Open::Map(anchor, Vec::new(), None));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(anchor, items)) => Some((Node::Seq(items), anchor)),
                Some(Open::Map(anchor, pairs, _)) => Some((Node::Map(pairs), anchor)),
                None => return Err("unbalanced YAML".into()),
            },
        };
        if stack.len() > MAX_DEPTH {
            return Err(format!("the document nests deeper than {MAX_DEPTH} levels"));
        }
        let Some((node, anchor)) = done else { continue };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(format!("the document has more than {MAX_NODES} nodes"));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => return Ok(node),
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, pairs, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_dropped_and_aliases_resolved() {
        let doc = "--- !ruby/object:Gem::Specification\nname: a\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\nreq: &1 x\nagain: *1\n";
        let node = parse(doc).unwrap();
        assert_eq!(node.get("name").unwrap().as_str(), Some("a"));
        assert_eq!(
            node.get("version")
                .unwrap()
                .get("version")
                .unwrap()
                .as_str(),
            Some("1.0.0")
        );
        assert_eq!(node.get("again").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            doc.push_str(&format!("b{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&doc).unwrap_err();
        assert!(err.contains("nodes"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&doc).unwrap_err().contains("deeper"));
    }
}
