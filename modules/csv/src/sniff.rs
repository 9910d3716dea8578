//! Looking at the feed before parsing it: binary files and other formats are named instead of
//! failing as bad CSV, the delimiter is guessed, and the end of the file is watched.

use std::io::{self, Read};

use contextworker_guest::ModuleError;

/// Spreadsheets and archives arrive as "price.csv" more often than one would hope; name them
/// instead of reporting invalid UTF-8 at byte 2.
pub(crate) fn refuse_binary(magic: &[u8]) -> Result<(), ModuleError> {
    let what = if magic.starts_with(b"PK\x03\x04") {
        "a ZIP archive (an .xlsx/.ods workbook?)"
    } else if magic.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]) {
        "an OLE2 file (an .xls workbook?)"
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        "gzip-compressed data"
    } else if magic.starts_with(b"%PDF") {
        "a PDF document"
    } else if feed_kit::encoding::looks_like_xml(magic) {
        // Checked before decoding: a windows-1251 XML feed would otherwise be reported as
        // invalid UTF-8 instead of as the wrong format.
        return Err(ModuleError::unsupported(
            "the feed is XML, not delimited text; use the yml, google-merchant or hotline \
             module, or export the spreadsheet as CSV",
        ));
    } else {
        return Ok(());
    };
    Err(ModuleError::unsupported(format!(
        "the feed is {what}, not delimited text; export it as CSV first"
    )))
}

pub(crate) fn refuse_other_formats(sample: &[u8]) -> Result<(), ModuleError> {
    let text = String::from_utf8_lossy(&sample[..sample.len().min(512)]);
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let shown: String = start.chars().take(40).collect();
    let after = |prefix: char| start[prefix.len_utf8()..].trim_start().chars().next();
    if start.starts_with("<?xml")
        || (start.starts_with('<') && after('<').is_some_and(|c| c.is_alphabetic() || c == '!'))
    {
        return Err(ModuleError::unsupported(format!(
            "the feed is XML, not delimited text (it starts with {shown:?}); use the yml, \
             google-merchant or hotline module, or export the spreadsheet as CSV"
        )));
    }
    if start.starts_with('{') && after('{').is_some_and(|c| c == '"' || c == '}')
        || start.starts_with('[') && after('[').is_some_and(|c| matches!(c, '{' | '[' | ']'))
    {
        return Err(ModuleError::unsupported(format!(
            "the feed is JSON, not delimited text (it starts with {shown:?}); use the json module"
        )));
    }
    if sample.contains(&0) {
        return Err(ModuleError::unsupported(
            "the feed contains NUL bytes: binary data or UTF-16 text, not delimited text \
             (set `encoding = \"utf-16le\"` if it is UTF-16)",
        ));
    }
    Ok(())
}

/// The candidate that occurs most often outside quotes in the first lines after `skip_rows`
/// (up to 10 non-blank ones, so a title row above the header cannot decide alone); ties go to
/// the earlier of `,` `;` `\t` `|`.
pub(crate) fn detect_delimiter(sample: &[u8], skip_rows: usize) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let lines = sample
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .skip(skip_rows)
        .take(10);
    for line in lines {
        let mut quoted = false;
        for b in line {
            if *b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = CANDIDATES.iter().position(|c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// Remembers what the csv reader could not tell us: the file's last byte, whether it ended,
/// and the quote count, to tell a truncated file from a complete one.
pub(crate) struct Tail<R> {
    pub(crate) inner: R,
    pub(crate) last: Option<u8>,
    pub(crate) quotes: u64,
    pub(crate) quote: u8,
    pub(crate) eof: bool,
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = true;
        } else {
            self.last = Some(buf[n - 1]);
            if self.quote != 0 {
                self.quotes += buf[..n].iter().filter(|b| **b == self.quote).count() as u64;
            }
        }
        Ok(n)
    }
}
