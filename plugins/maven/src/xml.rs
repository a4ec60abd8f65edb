//! Just enough XML to read `maven-metadata.xml`: elements, their text
//! (character references and CDATA decoded), comments, processing
//! instructions and a DOCTYPE skipped. Attributes are skipped too (the
//! document's meaning is in its elements), and names lose their namespace
//! prefix. Nesting is bounded; no entity is ever expanded beyond the five
//! predefined ones and character references.

/// An element: its local name, its child elements and its own text.
#[derive(Debug, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, when not empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }
}

/// Deeper documents are refused: `maven-metadata.xml` is four levels deep.
const MAX_DEPTH: usize = 32;

/// The document's root element.
pub fn parse(doc: &str) -> Result<Element, String> {
    let mut reader = Reader {
        doc,
        at: doc.strip_prefix('\u{feff}').map_or(0, |_| 3),
    };
    reader.misc()?;
    if !reader.rest().starts_with('<') {
        return Err("no root element".into());
    }
    let root = reader.element(0)?;
    reader.misc()?;
    match reader.rest().is_empty() {
        true => Ok(root),
        false => Err("content after the root element".into()),
    }
}

struct Reader<'a> {
    doc: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.doc[self.at..]
    }

    /// Skips past `end`, which must come.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<&'a str, String> {
        let rest = self.rest();
        let found = rest.find(end).ok_or_else(|| format!("unclosed {what}"))?;
        self.at += found + end.len();
        Ok(&rest[..found])
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Whitespace, comments, processing instructions and a DOCTYPE.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_space();
            let rest = self.rest();
            if rest.starts_with("<?") {
                self.skip_past("?>", "processing instruction")?;
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if rest.starts_with("<!DOCTYPE") {
                self.doctype()?;
            } else {
                return Ok(());
            }
        }
    }

    /// Skips a DOCTYPE, its internal subset included.
    fn doctype(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (i, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '[') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, '>') if depth == 0 => {
                    self.at += i + 1;
                    return Ok(());
                }
                _ => {}
            }
        }
        Err("unclosed DOCTYPE".into())
    }

    /// The element starting at `<`.
    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if depth >= MAX_DEPTH {
            return Err("elements nested too deep".into());
        }
        self.at += 1;
        let name = self.name()?;
        let empty = self.attributes()?;
        let mut element = Element {
            name: local(name).to_string(),
            ..Element::default()
        };
        if empty {
            return Ok(element);
        }
        loop {
            let rest = self.rest();
            let text_end = rest.find('<').ok_or_else(|| format!("unclosed <{name}>"))?;
            element.text.push_str(&unescape(&rest[..text_end])?);
            self.at += text_end;
            let rest = self.rest();
            if let Some(closing) = rest.strip_prefix("</") {
                let end = closing
                    .find('>')
                    .ok_or_else(|| format!("unclosed </{name}"))?;
                if closing[..end].trim_end() != name {
                    return Err(format!("<{name}> closed by </{}>", &closing[..end]));
                }
                self.at += 2 + end + 1;
                return Ok(element);
            } else if rest.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if rest.starts_with("<![CDATA[") {
                self.at += "<![CDATA[".len();
                let data = self.skip_past("]]>", "CDATA section")?;
                element.text.push_str(data);
            } else if rest.starts_with("<?") {
                self.skip_past("?>", "processing instruction")?;
            } else if rest.starts_with("<!") {
                return Err("a declaration inside an element".into());
            } else {
                element.children.push(self.element(depth + 1)?);
            }
        }
    }

    fn name(&mut self) -> Result<&'a str, String> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        if end == 0 {
            return Err("an element without a name".into());
        }
        self.at += end;
        Ok(&rest[..end])
    }

    /// Skips the attributes; whether the tag closes itself (`/>`).
    fn attributes(&mut self) -> Result<bool, String> {
        let mut quote: Option<char> = None;
        let mut slash = false;
        for (i, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    self.at += i + 1;
                    return Ok(slash);
                }
                (None, c) => slash = c == '/',
            }
            if quote.is_some() {
                slash = false;
            }
        }
        Err("unclosed tag".into())
    }
}

/// `maven:version` → `version`.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Text with the predefined entities and character references decoded.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        let semi = rest
            .find(';')
            .filter(|&s| s <= 10)
            .ok_or("a bare & in text")?;
        let entity = &rest[..semi];
        let decoded = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32)
                .ok_or_else(|| format!("unknown entity &{entity};"))?,
        };
        out.push(decoded);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_as_maven_central_writes_it_is_read() {
        let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <!DOCTYPE metadata [ <!ENTITY x \"]>\"> ]>\n\
            <!-- generated -->\n\
            <metadata xmlns=\"http://maven.apache.org/METADATA/1.1.0\" modelVersion='1.1.0'>\n\
              <groupId>org.example</groupId>\n\
              <m:artifactId xmlns:m=\"x\">a&amp;b &#x41;&#66;</m:artifactId>\n\
              <versioning>\n\
                <versions><version>1.0</version><!-- c --><version><![CDATA[2.0<]]></version></versions>\n\
                <lastUpdated/>\n\
              </versioning>\n\
            </metadata>\n";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "metadata");
        assert_eq!(root.text_of("groupId"), Some("org.example"));
        assert_eq!(root.text_of("artifactId"), Some("a&b AB"));
        let versioning = root.child("versioning").unwrap();
        let versions: Vec<&str> = versioning
            .child("versions")
            .unwrap()
            .all("version")
            .map(|v| v.text.as_str())
            .collect();
        assert_eq!(versions, ["1.0", "2.0<"]);
        assert_eq!(versioning.text_of("lastUpdated"), None);
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for doc in [
            "",
            "text",
            "<a>",
            "<a></b>",
            "<a><b></a>",
            "<a>&bogus;</a>",
            "<a>&</a>",
            "<a x=\"1></a>",
            "<a/><b/>",
            "<!DOCTYPE a [",
            "<a><![CDATA[x</a>",
            "<a><!-- x</a>",
            "<>",
            "<a>&#xffffffff;</a>",
        ] {
            assert!(parse(doc).is_err(), "{doc:?}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&deep).is_err());
        assert!(parse("<a/>").is_ok());
        assert!(parse("<a x='/'>t</a>").is_ok_and(|a| a.text == "t"));
    }

    /// Documents of XML's own characters in random order: any outcome but
    /// a panic.
    #[test]
    fn random_markup_never_panics() {
        const PIECES: [&str; 24] = [
            "<",
            ">",
            "/",
            "!",
            "?",
            "[",
            "]",
            "-",
            "&",
            ";",
            "#x",
            "#",
            "\"",
            "'",
            "=",
            " ",
            "a",
            "é",
            "CDATA[",
            "--",
            "<a>",
            "</a>",
            "<!DOCTYPE",
            "&amp;",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut doc = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                doc.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            let _ = parse(&doc);
        }
    }
}
