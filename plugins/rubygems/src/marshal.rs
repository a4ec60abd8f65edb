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
}
