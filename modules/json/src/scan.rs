//! A pull reader for JSON over a stream: it walks to the product array without building the
//! document, then parses one element at a time into a small value tree.
//!
//! Why not `serde_json::Value` for the elements: it turns numbers into `f64`, and prices must
//! stay exact decimals. Here a number keeps its source text. `serde_json` still decodes
//! strings with escapes, so `\uD83D\uDE00` and friends are handled by the reference decoder.

use std::io::{BufRead, Read};

use contextworker_guest::{Location, ModuleError};
use feed_kit::Tracked;

/// Nesting deeper than this is refused: recursion in the guest must not reach the wasm stack
/// limit, and no product is that deep.
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written (`79.99`, `1e3`): validated, never converted.
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Members in document order; a repeated key keeps both (lookups take the first).
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Text of a scalar: strings as they are, numbers as written, booleans as `true`/`false`.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::Number(s) => Some(s),
            Self::Bool(true) => Some("true"),
            Self::Bool(false) => Some("false"),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }
}

pub struct Scanner<R> {
    input: Tracked<R>,
}

impl<R: Read> Scanner<R> {
    pub fn new(input: R) -> Self {
        Self {
            input: Tracked::new(input),
        }
    }

    pub fn location(&self) -> Location {
        self.input.location()
    }

    pub fn error(&self, message: impl Into<String>) -> ModuleError {
        ModuleError::invalid_input(message).at(self.location())
    }

    pub fn peek(&mut self) -> Result<Option<u8>, ModuleError> {
        match self.input.fill_buf() {
            Ok(buf) => Ok(buf.first().copied()),
            Err(e) => Err(read_error(&e)),
        }
    }

    fn bump(&mut self) {
        self.input.consume(1);
    }

    /// The next non-whitespace byte, not consumed.
    pub fn peek_token(&mut self) -> Result<Option<u8>, ModuleError> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.bump(),
                other => return Ok(other),
            }
        }
    }

    /// Consume `expected` (after whitespace) or fail saying what was there instead.
    pub fn expect(&mut self, expected: u8, context: &str) -> Result<(), ModuleError> {
        match self.peek_token()? {
            Some(b) if b == expected => {
                self.bump();
                Ok(())
            }
            found => Err(self.unexpected(found, &format!("`{}` {context}", expected as char))),
        }
    }

    pub fn unexpected(&self, found: Option<u8>, wanted: &str) -> ModuleError {
        match found {
            None => self.error(format!(
                "the document ends where {wanted} was expected: the file looks truncated"
            )),
            Some(b) => self.error(format!("expected {wanted}, found {}", show(b))),
        }
    }

    /// After an element or member: `true` if another follows (`,` consumed), `false` at `close`.
    pub fn more(&mut self, close: u8, what: &str) -> Result<bool, ModuleError> {
        match self.peek_token()? {
            Some(b',') => {
                self.bump();
                Ok(true)
            }
            Some(b) if b == close => {
                self.bump();
                Ok(false)
            }
            found => {
                Err(self.unexpected(found, &format!("`,` or `{}` after {what}", close as char)))
            }
        }
    }

    /// Opening of an object member list: `true` if a member follows, `false` for `{}`.
    pub fn first_member(&mut self) -> Result<bool, ModuleError> {
        if self.peek_token()? == Some(b'}') {
            self.bump();
            return Ok(false);
        }
        Ok(true)
    }

    pub fn first_element(&mut self) -> Result<bool, ModuleError> {
        if self.peek_token()? == Some(b']') {
            self.bump();
            return Ok(false);
        }
        Ok(true)
    }

    /// A member's key and the `:` after it.
    pub fn key(&mut self) -> Result<String, ModuleError> {
        match self.peek_token()? {
            Some(b'"') => {}
            found => return Err(self.unexpected(found, "an object key in quotes")),
        }
        let key = self.string()?;
        self.expect(b':', "after an object key")?;
        Ok(key)
    }

    pub fn value(&mut self, depth: usize) -> Result<Value, ModuleError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match self.peek_token()? {
            Some(b'{') => {
                self.bump();
                let mut members = Vec::new();
                if self.first_member()? {
                    loop {
                        let key = self.key()?;
                        let value = self.value(depth + 1)?;
                        members.push((key, value));
                        if !self.more(b'}', "an object member")? {
                            break;
                        }
                    }
                }
                Ok(Value::Object(members))
            }
            Some(b'[') => {
                self.bump();
                let mut items = Vec::new();
                if self.first_element()? {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if !self.more(b']', "an array element")? {
                            break;
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Number(self.number()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            found => Err(self.unexpected(found, "a value")),
        }
    }

    /// Read past a value without keeping it (the parts of the document that are not products).
    pub fn skip(&mut self, depth: usize) -> Result<(), ModuleError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match self.peek_token()? {
            Some(b'{') => {
                self.bump();
                if self.first_member()? {
                    loop {
                        self.key()?;
                        self.skip(depth + 1)?;
                        if !self.more(b'}', "an object member")? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Some(b'[') => {
                self.bump();
                if self.first_element()? {
                    loop {
                        self.skip(depth + 1)?;
                        if !self.more(b']', "an array element")? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            _ => self.value(depth).map(drop),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ModuleError> {
        for expected in word.bytes() {
            match self.peek()? {
                Some(b) if b == expected => self.bump(),
                found => return Err(self.unexpected(found, &format!("`{word}`"))),
            }
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<String, ModuleError> {
        let start = self.location();
        let mut text = String::new();
        while let Some(b) = self.peek()? {
            if !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                break;
            }
            text.push(b as char);
            self.bump();
        }
        if valid_number(&text) {
            Ok(text)
        } else {
            Err(ModuleError::invalid_input(format!("{text:?} is not a JSON number")).at(start))
        }
    }

    /// A string token, opening quote included; escapes are left to `serde_json`.
    fn string(&mut self) -> Result<String, ModuleError> {
        let start = self.location();
        self.bump();
        let mut raw = vec![b'"'];
        let mut escaped = false;
        let mut has_escape = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) => return Err(read_error(&e)),
            };
            if buf.is_empty() {
                return Err(ModuleError::invalid_input(
                    "a string never ends: the file looks truncated",
                )
                .at(start));
            }
            let mut taken = 0;
            let mut closed = false;
            for &b in buf {
                taken += 1;
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                    has_escape = true;
                } else if b == b'"' {
                    closed = true;
                    break;
                } else if b < 0x20 {
                    let at = taken - 1;
                    self.input.consume(at);
                    return Err(self.error(format!(
                        "a raw control character {} inside a string (it must be escaped)",
                        show(b)
                    )));
                }
            }
            raw.extend_from_slice(&buf[..taken]);
            self.input.consume(taken);
            if closed {
                break;
            }
        }
        if !has_escape {
            raw.pop();
            return String::from_utf8(raw.split_off(1))
                .map_err(|_| ModuleError::invalid_input("a string is not valid UTF-8").at(start));
        }
        serde_json::from_slice::<String>(&raw).map_err(|e| {
            ModuleError::invalid_input(format!("bad escape in a string: {e}")).at(start)
        })
    }
}

/// A read failure (invalid UTF-8 found by the decoder) happens a buffer ahead of the token being
/// parsed, so the scanner's position would mislead; the message carries the byte offset.
fn read_error(e: &std::io::Error) -> ModuleError {
    ModuleError::invalid_input(e.to_string())
}

fn valid_number(text: &str) -> bool {
    let s = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let (int, fraction) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let int_ok = digits(int) && (int == "0" || !int.starts_with('0'));
    let fraction_ok = fraction.is_none_or(digits);
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    int_ok && fraction_ok && exponent_ok
}

fn show(b: u8) -> String {
    match b {
        b' '..=b'~' => format!("`{}`", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, ModuleError> {
        Scanner::new(std::io::Cursor::new(text.as_bytes().to_vec())).value(0)
    }

    #[test]
    fn numbers_keep_their_text() {
        let v = parse(r#"{"a": 79.99, "b": [1e3, -0.50, 12345678901234567890.12]}"#).expect("ok");
        assert_eq!(v.get("a"), Some(&Value::Number("79.99".into())));
        assert_eq!(
            v.get("b"),
            Some(&Value::Array(vec![
                Value::Number("1e3".into()),
                Value::Number("-0.50".into()),
                Value::Number("12345678901234567890.12".into())
            ]))
        );
        for bad in ["01", "1."] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.to_string()
                    .contains(&format!("{bad:?} is not a JSON number")),
                "{err}"
            );
        }
    }

    #[test]
    fn strings_and_escapes() {
        let v = parse(r#""ціна \"з\" \u00e9\ud83d\ude00\n""#).expect("ok");
        assert_eq!(v, Value::String("ціна \"з\" é😀\n".into()));
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse("{\n  \"a\": [1, 2,,]\n}").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("line 2, column 14"), "{text}");
        let err = parse("{\"a\": \"unterminated").expect_err("truncated");
        assert!(err.to_string().contains("truncated"), "{err}");
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(
            parse(&deep)
                .expect_err("deep")
                .to_string()
                .contains("nesting")
        );
    }
}
