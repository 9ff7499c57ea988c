//! The little JSON the bridge needs, on text, without a tree: a validating scanner
//! that finds where a value ends (so an envelope keeps its payload as a borrowed slice
//! of the frame), string decoding for the envelope's few string fields, and string
//! escaping for the frames it writes (byte for byte what `serde_json` writes).
//!
//! The scanner accepts exactly RFC 8259 JSON (what `serde_json` accepts, nesting up to
//! [`MAX_DEPTH`] like its recursion limit), with one difference: number magnitudes are
//! not checked (`1e400` is well-formed here; the contract that parses the payload
//! refuses it).

use std::borrow::Cow;

/// Nesting limit of arrays and objects (`serde_json`'s recursion limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// A scan position in one JSON text. Errors are short texts naming what was expected
/// and the byte offset.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

pub(crate) type R<T> = Result<T, String>;

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, i: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.i).copied()
    }

    /// The text from the cursor on (`get`, not indexing: no str-slicing panic path in
    /// the wasm module; the cursor is always on a character boundary).
    fn rest(&self) -> &'a str {
        self.text.get(self.i..).unwrap_or("")
    }

    pub(crate) fn err<T>(&self, what: &str) -> R<T> {
        Err(format!("{what} at byte {}", self.i))
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Skips whitespace, then consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.i += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, b: u8, what: &str) -> R<()> {
        if self.eat(b) {
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// Skips whitespace, then consumes `null` if it is next.
    pub(crate) fn eat_null(&mut self) -> bool {
        self.ws();
        if self.rest().starts_with("null") {
            self.i += 4;
            return true;
        }
        false
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> R<()> {
        self.ws();
        if self.i == self.text.len() {
            Ok(())
        } else {
            self.err("trailing characters")
        }
    }

    /// Skips one value (checking it) and returns its text.
    pub(crate) fn value(&mut self, depth: usize) -> R<&'a str> {
        self.ws();
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                self.string_span()?;
            }
            Some(b'{') => {
                self.object(depth, |c, _| c.value(depth + 1).map(drop))?;
            }
            Some(b'[') => {
                self.array(depth, |c| c.value(depth + 1).map(drop))?;
            }
            Some(b't') => self.literal("true")?,
            Some(b'f') => self.literal("false")?,
            Some(b'n') => self.literal("null")?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return self.err("expected value"),
        }
        Ok(self.text.get(start..self.i).unwrap_or(""))
    }

    fn literal(&mut self, word: &str) -> R<()> {
        if self.rest().starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.err("expected value")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> R<()> {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }

    /// `{ "key": value, ... }`: calls `member(cursor, key)` with the cursor before each
    /// value; `member` must consume it.
    pub(crate) fn object(&mut self, depth: usize, mut member: impl FnMut(&mut Self, Cow<'a, str>) -> R<()>) -> R<()> {
        if depth + 1 >= MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.expect(b'{', "expected `{`")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return self.err("expected a string key");
            }
            let key = self.string()?;
            self.expect(b':', "expected `:`")?;
            member(self, key)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',', "expected `,` or `}`")?;
        }
    }

    /// `[ value, ... ]`: calls `element(cursor)` before each element; it must consume it.
    pub(crate) fn array(&mut self, depth: usize, mut element: impl FnMut(&mut Self) -> R<()>) -> R<()> {
        if depth + 1 >= MAX_DEPTH {
            return self.err("recursion limit exceeded");
        }
        self.expect(b'[', "expected `[`")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            element(self)?;
            if self.eat(b']') {
                return Ok(());
            }
            self.expect(b',', "expected `,` or `]`")?;
        }
    }

    /// Scans a string (cursor at its `"`); whether it has escapes.
    fn string_span(&mut self) -> R<bool> {
        self.i += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return self.err("EOF while parsing a string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            let u = self.hex4()?;
                            if (0xD800..0xDC00).contains(&u) {
                                if !self.rest().starts_with("\\u") {
                                    return self.err("lone leading surrogate in hex escape");
                                }
                                self.i += 2;
                                if !(0xDC00..0xE000).contains(&self.hex4()?) {
                                    return self.err("lone leading surrogate in hex escape");
                                }
                            } else if (0xDC00..0xE000).contains(&u) {
                                return self.err("lone trailing surrogate in hex escape");
                            }
                        }
                        _ => return self.err("invalid escape"),
                    }
                }
                Some(0..=0x1f) => return self.err("control character in a string"),
                Some(_) => self.i += 1,
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        // By hand, not `u32::from_str_radix` (~0.5 KB of wasm for 4 digits).
        let hex = |h: &[u8]| h.iter().try_fold(0u32, |u, &b| Some(u << 4 | char::from(b).to_digit(16)?));
        match self.bytes().get(self.i..self.i + 4).and_then(hex) {
            Some(u) => {
                self.i += 4;
                Ok(u)
            }
            None => self.err("invalid escape"),
        }
    }

    /// A string value (cursor before it, whitespace allowed), decoded; borrowed when
    /// it has no escapes.
    pub(crate) fn string(&mut self) -> R<Cow<'a, str>> {
        self.ws();
        if self.peek() != Some(b'"') {
            return self.err("expected a string");
        }
        let start = self.i;
        let escaped = self.string_span()?;
        let inner = self.text.get(start + 1..self.i - 1).unwrap_or("");
        Ok(if escaped { Cow::Owned(unescape(inner)) } else { Cow::Borrowed(inner) })
    }
}

/// Decodes the escapes of a string the scanner accepted.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    // The scanner checked the 4 digits.
    let hex = |c: &mut core::str::Chars<'_>| -> u32 { c.by_ref().take(4).fold(0, |u, d| u << 4 | d.to_digit(16).unwrap_or(0)) };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let d = match chars.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let u = hex(&mut chars);
                let u = if (0xD800..0xDC00).contains(&u) {
                    chars.nth(1); // `\u` of the trailing surrogate (checked by the scanner)
                    0x10000 + ((u - 0xD800) << 10) + (hex(&mut chars) - 0xDC00)
                } else {
                    u
                };
                char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            Some(other) => other,
            None => break,
        };
        out.push(d);
    }
    out
}

/// Checks that `text` is one JSON value (whitespace around it allowed).
pub(crate) fn validate(text: &str) -> R<()> {
    let mut c = Cursor::new(text);
    c.value(0)?;
    c.end()
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it (`"`, `\`, and
/// control characters: the short forms where JSON has one, else `\u00XX`).
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(from..i).unwrap_or(""));
        from = i + 1;
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push_str(esc);
        }
    }
    out.push_str(s.get(from..).unwrap_or(""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_serde_json_accepts() {
        let texts = [
            "0", "-0", "1.5", "-1.5e10", "1E+2", "1e-2", "01", "1.", ".5", "-", "+1", "1e", "--1", "true", "tru",
            "false", "null", "nul", "\"\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
            "\"\\ude00\"", "\"\\ud83dx\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\nb\"", "\"a\u{7f}é\"",
            "[]", "[1,]", "[,1]", "[1 2]", "[1,[2,[3]]]", "{}", "{\"a\":1}", "{\"a\":1,}", "{a:1}", "{\"a\" 1}",
            "{\"a\":{\"b\":[null,true,{}]}}", " \t\n[ 1 , 2 ]\r\n", "[1] x", "", "   ", "\"abc", "[1", "{\"a\":",
            "{\"\\u0074ype\":1}", "[\"\\/\\b\\f\\n\\r\\t\"]",
        ];
        for t in texts {
            let theirs = serde_json::from_str::<serde_json::Value>(t).is_ok();
            assert_eq!(validate(t).is_ok(), theirs, "{t:?}");
        }
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for n in MAX_DEPTH - 2..MAX_DEPTH + 2 {
            assert_eq!(validate(&deep(n)).is_ok(), serde_json::from_str::<serde_json::Value>(&deep(n)).is_ok(), "{n}");
        }
        assert!(validate(&deep(100_000)).is_err(), "no stack overflow");
    }

    #[test]
    fn strings_decode_like_serde_json() {
        for t in [r#""plain""#, r#""a\"b\\c\/d""#, r#""\u00e9\n\t\b\f\r""#, r#""\ud83d\ude00 x""#, r#""é€""#] {
            let ours = Cursor::new(t).string().unwrap();
            assert_eq!(ours, serde_json::from_str::<String>(t).unwrap(), "{t}");
        }
        assert!(matches!(Cursor::new(r#""no escapes""#).string().unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn strings_are_written_like_serde_json() {
        for s in ["", "a/b", "q\"uote\\", "\n\r\t\u{8}\u{c}\u{1}\u{1f}", "é€😀", "\u{7f}", "x\u{0}y"] {
            let mut ours = String::new();
            push_str(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
