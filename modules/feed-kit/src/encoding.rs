//! Feeds arrive in the encoding their producer chose: UTF-8 with or without a BOM, windows-1251,
//! sometimes declared wrongly. Everything is decoded to UTF-8 as a stream before parsing.
//!
//! The encoding is, in order: the supplier config's `encoding` key, a byte-order mark, the XML
//! declaration (XML only), UTF-8. Two safeguards against mojibake:
//! - a single-byte encoding was declared but the bytes are valid UTF-8 with non-ASCII text:
//!   the declaration is wrong; the feed is read as UTF-8 and a warning says so;
//! - UTF-8 was declared (or assumed) but the bytes are not UTF-8: a clear `invalid-input` error
//!   naming the byte offset and suggesting the `encoding` config key. No guessing.

use std::io::{self, Read};

use contextworker_guest::{FeedReader, Location, ModuleError, ProductSink, Warning};
use encoding_rs::{CoderResult, DecoderResult, Encoding, UTF_8};

/// How far into the feed the encoding is sniffed.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Honour an `<?xml ... encoding="..."?>` declaration.
    Xml,
    /// Plain text (CSV, JSON): only a BOM or the config key decide.
    Text,
}

/// The feed as UTF-8 (BOM removed), the encoding it was read as, and notes about that choice.
pub struct Decoded {
    pub reader: Box<dyn Read>,
    pub encoding: &'static str,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("encoding", &self.encoding)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// Decode `input` to UTF-8. `config_encoding` is the supplier's `encoding` setting, if any.
pub fn decode(
    mut input: impl Read + 'static,
    kind: TextKind,
    config_encoding: Option<&str>,
) -> Result<Decoded, ModuleError> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| read_error(&e))?;
    let mut warnings = Vec::new();

    let forced = match config_encoding {
        Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            ModuleError::invalid_input(format!("config key `encoding` = {label:?} is not an encoding name (try utf-8 or windows-1251)"))
        })?),
        None => None,
    };
    let bom = Encoding::for_bom(&prefix);
    let declared = match kind {
        TextKind::Xml => xml_declared_encoding(&prefix[bom.map_or(0, |(_, n)| n)..]),
        TextKind::Text => None,
    };
    let declared_encoding = match &declared {
        Some(label) => Some(Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            ModuleError::invalid_input(format!(
                "the XML declaration names an unknown encoding {label:?}; set the config key `encoding`"
            ))
            .at_line(1, 1)
        })?),
        None => None,
    };
    let mut encoding = forced
        .or(bom.map(|(e, _)| e))
        .or(declared_encoding)
        .unwrap_or(UTF_8);
    // A single-byte declaration over bytes that are really UTF-8 would turn every letter into
    // two wrong ones. Trust the bytes when the config did not insist.
    if forced.is_none()
        && bom.is_none()
        && encoding.is_single_byte()
        && looks_like_utf8_text(&prefix)
    {
        warnings.push(Warning::new(format!(
            "the feed declares {} but its bytes are UTF-8; reading it as UTF-8 (set config `encoding` to override)",
            encoding.name()
        )));
        encoding = UTF_8;
    }
    let skip = match bom {
        Some((e, n)) if e == encoding => n,
        _ => 0,
    };
    let name = encoding.name();
    let pending_len = prefix.len();
    let mut pending = prefix;
    pending.resize(pending_len.max(SNIFF_BYTES), 0);
    let reader = DecodingReader {
        inner: Box::new(input),
        decoder: encoding.new_decoder_without_bom_handling(),
        pending_len,
        pending,
        pending_pos: skip,
        input_offset: skip as u64,
        out: Vec::new(),
        out_len: 0,
        out_pos: 0,
        eof: false,
        strict_utf8: encoding == UTF_8,
    };
    Ok(Decoded {
        reader: Box::new(reader),
        encoding: name,
        warnings,
    })
}

/// How many first bytes [`open_text`] shows to its `refuse` check.
pub const MAGIC_BYTES: usize = 64;

/// The shape of every text module's start: take the feed out of the SDK's reader (decoding
/// needs an owned reader; the SDK never reads it after `transform`), let `refuse` name a feed
/// of another kind by its first [`MAGIC_BYTES`] raw bytes (a workbook, an XML feed in
/// windows-1251 would otherwise fail later as "invalid UTF-8"), then decode it to UTF-8 and hand
/// the decoder's warnings on.
pub fn open_text(
    input: &mut FeedReader,
    out: &mut ProductSink,
    encoding: Option<&str>,
    refuse: impl FnOnce(&[u8]) -> Result<(), ModuleError>,
) -> Result<Box<dyn Read>, ModuleError> {
    let mut feed = input.take();
    let mut magic = Vec::with_capacity(MAGIC_BYTES);
    Read::take(&mut feed, MAGIC_BYTES as u64)
        .read_to_end(&mut magic)
        .map_err(|e| read_error(&e))?;
    refuse(&magic)?;
    let decoded = decode(io::Cursor::new(magic).chain(feed), TextKind::Text, encoding)?;
    for warning in decoded.warnings {
        out.warn(warning);
    }
    Ok(decoded.reader)
}

fn read_error(e: &io::Error) -> ModuleError {
    ModuleError::invalid_input(format!("cannot read the feed: {e}"))
}

/// `<?xml` or a tag at the start, after a BOM and whitespace: lets the text modules name an
/// XML feed sent to them before decoding (a windows-1251 XML feed would otherwise be reported
/// as invalid UTF-8 instead of as the wrong format).
pub fn looks_like_xml(raw: &[u8]) -> bool {
    let raw = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    match &raw[start..] {
        [b'<', b'?', b'x', b'm', b'l', ..] => true,
        [b'<', next, ..] => next.is_ascii_alphabetic() || *next == b'!',
        _ => false,
    }
}

/// `encoding="..."` from an XML declaration at the very start.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head);
    let decl = text.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

/// Valid UTF-8 (a sequence cut at the end of the sample is fine) with multi-byte characters.
fn looks_like_utf8_text(sample: &[u8]) -> bool {
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    };
    valid && sample.iter().any(|b| *b >= 0x80)
}

struct DecodingReader {
    inner: Box<dyn Read>,
    decoder: encoding_rs::Decoder,
    /// Raw input; `pending_len` bytes of it are valid.
    pending: Vec<u8>,
    pending_len: usize,
    pending_pos: usize,
    input_offset: u64,
    /// Decoded output; `out_len` bytes of it are valid.
    out: Vec<u8>,
    out_len: usize,
    out_pos: usize,
    eof: bool,
    strict_utf8: bool,
}

impl DecodingReader {
    fn refill(&mut self) -> io::Result<()> {
        self.out_len = 0;
        self.out_pos = 0;
        while self.out_len == 0 && !(self.eof && self.pending_pos >= self.pending_len) {
            if self.pending_pos >= self.pending_len && !self.eof {
                // The buffers keep their size between refills: no zeroing per chunk.
                let n = self.inner.read(&mut self.pending)?;
                self.pending_len = n;
                self.pending_pos = 0;
                self.eof = n == 0;
            }
            let src = &self.pending[self.pending_pos..self.pending_len];
            let last = self.eof;
            let needed = self
                .decoder
                .max_utf8_buffer_length(src.len())
                .unwrap_or(src.len() * 3 + 16)
                .max(16);
            if self.out.len() < needed {
                self.out.resize(needed, 0);
            }
            let (read, written) = if self.strict_utf8 {
                let (result, read, written) =
                    self.decoder
                        .decode_to_utf8_without_replacement(src, &mut self.out, last);
                if let DecoderResult::Malformed(bad, _) = result {
                    let offset = self.input_offset + read as u64 - u64::from(bad);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the feed is not valid UTF-8 at byte {offset}; if it is in another encoding \
                             (windows-1251 is common), set the config key `encoding`"
                        ),
                    ));
                }
                (read, written)
            } else {
                let (result, read, written, _) =
                    self.decoder.decode_to_utf8(src, &mut self.out, last);
                debug_assert!(matches!(
                    result,
                    CoderResult::InputEmpty | CoderResult::OutputFull
                ));
                (read, written)
            };
            self.out_len = written;
            self.pending_pos += read;
            self.input_offset += read as u64;
            if self.eof && self.pending_pos >= self.pending_len {
                break;
            }
        }
        Ok(())
    }
}

impl Read for DecodingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos >= self.out_len {
            self.refill()?;
        }
        let n = buf.len().min(self.out_len - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Turn an I/O error from a decoded reader into a module error at `location`.
pub fn io_error(e: &io::Error, location: Location) -> ModuleError {
    ModuleError::invalid_input(e.to_string()).at(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        bytes: &[u8],
        kind: TextKind,
        config: Option<&str>,
    ) -> Result<(String, &'static str, usize), String> {
        let decoded =
            decode(io::Cursor::new(bytes.to_vec()), kind, config).map_err(|e| e.to_string())?;
        let mut out = String::new();
        let mut reader = decoded.reader;
        reader.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok((out, decoded.encoding, decoded.warnings.len()))
    }

    #[test]
    fn declared_windows_1251_is_decoded() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><a>".to_vec();
        bytes.extend_from_slice(&[0xcf, 0xf0, 0xe8, 0xe2, 0xb3, 0xf2]); // "Привіт"
        bytes.extend_from_slice(b"</a>");
        let (text, encoding, warnings) = read_all(&bytes, TextKind::Xml, None).expect("decodes");
        assert!(text.contains("<a>Привіт</a>"), "{text}");
        assert_eq!((encoding, warnings), ("windows-1251", 0));
    }

    #[test]
    fn a_wrong_single_byte_declaration_falls_back_to_utf8_with_a_warning() {
        let bytes = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><a>Привіт</a>".as_bytes();
        let (text, encoding, warnings) = read_all(bytes, TextKind::Xml, None).expect("decodes");
        assert!(text.contains("Привіт"));
        assert_eq!((encoding, warnings), ("UTF-8", 1));
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_offset() {
        let mut bytes = b"name;price\nabc;".to_vec();
        bytes.push(0xcf);
        bytes.extend_from_slice(b"xyz\n");
        let err = read_all(&bytes, TextKind::Text, None).expect_err("refused");
        assert!(
            err.contains("not valid UTF-8 at byte 15") && err.contains("`encoding`"),
            "{err}"
        );
        let (text, _, _) =
            read_all(&bytes, TextKind::Text, Some("windows-1251")).expect("config wins");
        assert!(text.contains("abc;Пxyz"), "{text}");
    }

    #[test]
    fn a_bom_is_removed_and_long_input_streams() {
        let mut bytes = vec![0xef, 0xbb, 0xbf];
        let body = "ціна;1\n".repeat(50_000);
        bytes.extend_from_slice(body.as_bytes());
        let (text, encoding, _) = read_all(&bytes, TextKind::Text, None).expect("decodes");
        assert_eq!(encoding, "UTF-8");
        assert_eq!(text, body);
    }

    /// Hands out one byte per read: every multi-byte character is split across reads.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn split_characters_and_empty_feeds_decode() {
        let text = "ціна;ß;€;😀\n".repeat(20_000);
        let decoded =
            decode(Trickle(text.as_bytes().to_vec(), 0), TextKind::Text, None).expect("decodes");
        let mut out = String::new();
        let mut reader = decoded.reader;
        reader.read_to_string(&mut out).expect("reads");
        assert_eq!(out, text);
        let (empty, _, _) =
            read_all(b"", TextKind::Xml, None).expect("an empty feed decodes to nothing");
        assert!(empty.is_empty());
    }

    #[test]
    fn unknown_encoding_names_are_refused() {
        let err = read_all(b"x", TextKind::Text, Some("klingon")).expect_err("refused");
        assert!(err.contains("klingon"), "{err}");
    }
}
