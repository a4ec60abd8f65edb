//! Standard base64 (padded), decoded as it arrives: whole quanta are decoded
//! at once, the incomplete tail waits for the next input. Whitespace is
//! skipped, as a line-wrapped payload has it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Default)]
pub struct Decoder {
    /// Input not decoded yet: less than a quantum after each `push`.
    tail: Vec<u8>,
    /// A padded quantum was decoded: nothing may follow.
    ended: bool,
}

impl Decoder {
    /// Decodes what `input` completes, appending to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let start = self.tail.len();
        self.tail
            .extend(input.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        if self.ended && self.tail.len() > start {
            return Err("data after the padding".into());
        }
        let whole = self.tail.len() / 4 * 4;
        if whole == 0 {
            return Ok(());
        }
        self.ended = self.tail[whole - 1] == b'=';
        decode(&self.tail[..whole], out)?;
        self.tail.drain(..whole);
        Ok(())
    }

    /// The end of the payload: an incomplete quantum is an error.
    pub fn finish(self) -> Result<(), String> {
        match self.tail.is_empty() {
            true => Ok(()),
            false => Err("the length is not a multiple of 4".into()),
        }
    }
}

fn decode(quanta: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let at = out.len();
    out.resize(at + quanta.len() / 4 * 3, 0);
    let n = STANDARD
        .decode_slice(quanta, &mut out[at..])
        .map_err(|e| e.to_string())?;
    out.truncate(at + n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in(pieces: &[&str]) -> Result<Vec<u8>, String> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for p in pieces {
            d.push(p.as_bytes(), &mut out)?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn any_split_decodes_the_same() {
        let text = STANDARD.encode(b"hello, streaming world!");
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(
                decode_in(&[a, b]).unwrap(),
                b"hello, streaming world!",
                "{cut}"
            );
        }
        assert_eq!(decode_in(&["aGVs\nbG8=\n"]).unwrap(), b"hello");
    }

    #[test]
    fn malformed_input_is_refused() {
        assert!(decode_in(&["aGVsbG8"]).is_err());
        assert!(decode_in(&["aGk=", "aGk="]).is_err());
        assert!(decode_in(&["%%%%"]).is_err());
    }
}
