//! A small writer of Ruby's Marshal format 4.8, for what `gem install`
//! reads: `specs.4.8.gz` (arrays of `[name, Gem::Version, platform]`) and
//! `quick/Marshal.4.8/*.gemspec.rz` (a `Gem::Specification`). It never
//! writes links (`@`, `;`): repeated symbols are written in full, which
//! Marshal.load accepts.

pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// A UTF-8 string (`I"…` with `E: true`).
    Str(String),
    Sym(String),
    Array(Vec<Value>),
    Hash(Vec<(Value, Value)>),
    /// `U`: a class with `marshal_dump` (Gem::Version, Gem::Requirement).
    User(&'static str, Box<Value>),
    /// `u`: a class with `_dump` (Gem::Specification), its bytes.
    UserBytes(&'static str, Vec<u8>),
    /// `o`: a plain object and its instance variables.
    Object(&'static str, Vec<(&'static str, Value)>),
}

pub fn str(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// `Gem::Version.new(v)`.
pub fn version(v: &str) -> Value {
    Value::User("Gem::Version", Box::new(Value::Array(vec![str(v)])))
}

/// `Gem::Requirement` of `(op, version)` pairs.
pub fn requirement(pairs: &[(String, String)]) -> Value {
    let list = pairs
        .iter()
        .map(|(op, v)| Value::Array(vec![str(op), version(v)]))
        .collect();
    Value::User(
        "Gem::Requirement",
        Box::new(Value::Array(vec![Value::Array(list)])),
    )
}

/// The whole stream: version 4.8 and `value`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = vec![4, 8];
    write(&mut out, value);
    out
}

fn write(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Nil => out.push(b'0'),
        Value::Bool(true) => out.push(b'T'),
        Value::Bool(false) => out.push(b'F'),
        Value::Int(n) => {
            out.push(b'i');
            int(out, *n);
        }
        Value::Str(s) => {
            out.extend_from_slice(b"I\"");
            bytes(out, s.as_bytes());
            int(out, 1);
            symbol(out, "E");
            out.push(b'T');
        }
        Value::Sym(s) => symbol(out, s),
        Value::Array(items) => {
            out.push(b'[');
            int(out, items.len() as i64);
            for item in items {
                write(out, item);
            }
        }
        Value::Hash(pairs) => {
            out.push(b'{');
            int(out, pairs.len() as i64);
            for (k, v) in pairs {
                write(out, k);
                write(out, v);
            }
        }
        Value::User(class, inner) => {
            out.push(b'U');
            symbol(out, class);
            write(out, inner);
        }
        Value::UserBytes(class, data) => {
            out.push(b'u');
            symbol(out, class);
            bytes(out, data);
        }
        Value::Object(class, ivars) => {
            out.push(b'o');
            symbol(out, class);
            int(out, ivars.len() as i64);
            for (name, v) in ivars {
                symbol(out, name);
                write(out, v);
            }
        }
    }
}

fn symbol(out: &mut Vec<u8>, name: &str) {
    out.push(b':');
    bytes(out, name.as_bytes());
}

fn bytes(out: &mut Vec<u8>, data: &[u8]) {
    int(out, data.len() as i64);
    out.extend_from_slice(data);
}

/// Marshal's packed integer (`w_long`).
fn int(out: &mut Vec<u8>, n: i64) {
    match n {
        0 => out.push(0),
        1..=122 => out.push((n + 5) as u8),
        -123..=-1 => out.push(((n - 5) as i8) as u8),
        _ => {
            let mut buf = Vec::new();
            let mut x = n;
            for _ in 0..8 {
                buf.push((x & 0xff) as u8);
                x >>= 8;
                if (n >= 0 && x == 0) || (n < 0 && x == -1) {
                    break;
                }
            }
            let len = buf.len() as i8;
            out.push(if n >= 0 { len as u8 } else { (-len) as u8 });
            out.extend_from_slice(&buf);
        }
    }
}

/// A `specs.4.8` entry: name, version, platform.
pub type Tuple = (String, String, String);

/// The entries of a Marshal-dumped specs list (`[[name, Gem::Version,
/// platform], …]`), as Ruby writes it: with symbol and object links.
/// `None` for anything else, or when the strings it names add up to more
/// than `limit` bytes (an object link repeats a string for two bytes).
/// Linear in the input: every value read consumes a byte or more.
pub fn load_tuples(data: &[u8], limit: usize) -> Option<Vec<Tuple>> {
    let mut r = Reader {
        data: data.strip_prefix(b"\x04\x08")?,
        symbols: Vec::new(),
        objects: Vec::new(),
    };
    let Read::Array(list) = r.value(0)? else {
        return None;
    };
    let mut left = limit;
    let mut out = Vec::new();
    for tuple in list.iter() {
        let Read::Array(fields) = tuple else {
            return None;
        };
        let [
            Read::Str(name),
            Read::User(class, version),
            Read::Str(platform),
        ] = &fields[..]
        else {
            return None;
        };
        let Read::Array(inner) = &**version else {
            return None;
        };
        if **class != *b"Gem::Version" {
            return None;
        }
        let [Read::Str(version)] = &inner[..] else {
            return None;
        };
        left = left.checked_sub(name.len() + version.len() + platform.len())?;
        let text = |b: &Rc<[u8]>| String::from_utf8(b.to_vec()).ok();
        out.push((text(name)?, text(version)?, text(platform)?));
    }
    Some(out)
}

use std::rc::Rc;

/// What the reader keeps of a value: shared, so a link costs no copy.
#[derive(Clone)]
enum Read {
    Other,
    Str(Rc<[u8]>),
    Array(Rc<Vec<Read>>),
    User(Rc<[u8]>, Rc<Read>),
}

struct Reader<'a> {
    data: &'a [u8],
    symbols: Vec<Rc<[u8]>>,
    objects: Vec<Read>,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// `w_long`'s packed integer.
    fn int(&mut self) -> Option<i64> {
        let c = self.byte()? as i8 as i64;
        Some(match c {
            0 => 0,
            5..=127 => c - 5,
            -128..=-5 => c + 5,
            1..=4 => (0..c).try_fold(0i64, |n, i| Some(n | (self.byte()? as i64) << (8 * i)))?,
            _ => {
                let n =
                    (0..-c).try_fold(0i64, |n, i| Some(n | (self.byte()? as i64) << (8 * i)))?;
                n - (1i64 << (8 * -c))
            }
        })
    }

    fn bytes(&mut self) -> Option<Rc<[u8]>> {
        let len = usize::try_from(self.int()?).ok()?;
        let (head, rest) = self.data.split_at_checked(len)?;
        self.data = rest;
        Some(head.into())
    }

    fn symbol(&mut self) -> Option<Rc<[u8]>> {
        match self.byte()? {
            b':' => {
                let s = self.bytes()?;
                self.symbols.push(s.clone());
                Some(s)
            }
            b';' => {
                let at = usize::try_from(self.int()?).ok()?;
                self.symbols.get(at).cloned()
            }
            _ => None,
        }
    }

    /// One value; objects are numbered as Ruby numbers them (an array and
    /// a `U` before what they hold), for `@` links.
    fn value(&mut self, depth: u8) -> Option<Read> {
        if depth > 8 {
            return None;
        }
        Some(match self.byte()? {
            b'0' | b'T' | b'F' => Read::Other,
            b'i' => {
                self.int()?;
                Read::Other
            }
            b':' => {
                let s = self.bytes()?;
                self.symbols.push(s);
                Read::Other
            }
            b';' => {
                self.int()?;
                Read::Other
            }
            b'"' => {
                let s = Read::Str(self.bytes()?);
                self.objects.push(s.clone());
                s
            }
            b'I' => {
                let v = self.value(depth + 1)?;
                for _ in 0..self.int()? {
                    self.symbol()?;
                    self.value(depth + 1)?;
                }
                v
            }
            b'[' => {
                let at = self.objects.len();
                self.objects.push(Read::Other);
                let mut items = Vec::new();
                for _ in 0..self.int()? {
                    items.push(self.value(depth + 1)?);
                }
                let v = Read::Array(Rc::new(items));
                self.objects[at] = v.clone();
                v
            }
            b'U' => {
                let class = self.symbol()?;
                let at = self.objects.len();
                self.objects.push(Read::Other);
                let v = Read::User(class, Rc::new(self.value(depth + 1)?));
                self.objects[at] = v.clone();
                v
            }
            b'@' => {
                let at = usize::try_from(self.int()?).ok()?;
                self.objects.get(at)?.clone()
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ruby() {
        // Marshal.dump([1, 300, -2, "a", :b, nil, true])
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Int(300),
            Value::Int(-2),
            str("a"),
            Value::Sym("b".into()),
            Value::Nil,
            Value::Bool(true),
        ]);
        assert_eq!(
            dump(&v),
            b"\x04\x08[\x0ci\x06i\x02,\x01i\xf9I\"\x06a\x06:\x06ET:\x06b0T".to_vec()
        );
        // Marshal.dump(Gem::Version.new("1.0"))
        assert_eq!(
            dump(&version("1.0")),
            b"\x04\x08U:\x11Gem::Version[\x06I\"\x081.0\x06:\x06ET".to_vec()
        );
    }

    #[test]
    fn reads_a_specs_list_as_ruby_writes_it() {
        // Marshal.dump([["a", Gem::Version.new("1.0"), "ruby"],
        //               ["b", Gem::Version.new("2.0"), ruby]]) with one
        // "ruby" String object: symbol links and an object link.
        let data = b"\x04\x08[\x07[\x08I\"\x06a\x06:\x06ETU:\x11Gem::Version[\x06I\"\x081.0\x06;\x00TI\"\x09ruby\x06;\x00T\
                     [\x08I\"\x06b\x06;\x00TU;\x06[\x06I\"\x082.0\x06;\x00T@\x0b";
        let tuples = load_tuples(data, 1 << 20).unwrap();
        let t = |n: &str, v: &str| (n.to_string(), v.to_string(), "ruby".to_string());
        assert_eq!(tuples, vec![t("a", "1.0"), t("b", "2.0")]);
        // Our own dump reads back.
        let ours = dump(&Value::Array(vec![Value::Array(vec![
            str("c"),
            version("3.0"),
            str("java"),
        ])]));
        assert_eq!(load_tuples(&ours, 1 << 20).unwrap()[0].2, "java");
        // Links that repeat a string past the limit, junk, deep nesting.
        assert!(load_tuples(data, 6).is_none());
        assert!(load_tuples(b"\x04\x08[\x06i\x06", 100).is_none());
        assert!(load_tuples(&[b'[', 0x7f].repeat(1000), 100).is_none());
        let mut deep = b"\x04\x08".to_vec();
        deep.extend([b'[', 0x06].repeat(100_000));
        assert!(load_tuples(&deep, 100).is_none());
    }
}
