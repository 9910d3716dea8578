//! A `BufRead` that knows where it is: byte offset, line and column of everything consumed,
//! so parse errors can say "line 812, column 14" instead of "somewhere".

use std::io::{self, BufRead, Read};

use contextworker_guest::Location;

const BUFFER: usize = 64 * 1024;

/// Below this many bytes a consumed run is scanned byte by byte (see `consume`).
const SHORT_RUN: usize = 32;

/// A place in the input: byte offset, line, character column (both from 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub fn location(self) -> Location {
        Location {
            byte_offset: Some(self.offset),
            line: Some(self.line),
            column: Some(self.column),
            ..Location::default()
        }
    }
}

pub struct Tracked<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    offset: u64,
    line: u32,
    /// Characters since the last newline.
    column: u32,
    line_start: u64,
}

impl<R> std::fmt::Debug for Tracked<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("offset", &self.offset)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Tracked<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; BUFFER],
            pos: 0,
            filled: 0,
            offset: 0,
            line: 1,
            column: 0,
            line_start: 0,
        }
    }

    /// Where the next unconsumed byte is.
    pub fn location(&self) -> Location {
        self.position().location()
    }

    /// [`Tracked::location`] as a small copyable value: a parser takes one per event and turns
    /// it into a [`Location`] only for the few it reports.
    #[inline]
    pub fn position(&self) -> Position {
        Position {
            offset: self.offset,
            line: self.line,
            column: self.column + 1,
        }
    }

    /// Best effort for an earlier offset (a parser's error position): exact line and byte
    /// column on the current line, byte offset only before it.
    pub fn location_at(&self, offset: u64) -> Location {
        if offset >= self.line_start && offset <= self.offset {
            Location {
                byte_offset: Some(offset),
                line: Some(self.line),
                column: Some(u32::try_from(offset - self.line_start).unwrap_or(u32::MAX) + 1),
                ..Location::default()
            }
        } else {
            Location {
                byte_offset: Some(offset),
                ..Location::default()
            }
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.filled - self.pos);
        let consumed = &self.buf[self.pos..self.pos + amt];
        // quick-xml consumes a few bytes at a time (about eight on average in a YML feed), too
        // few for vectorised searches to pay for their set-up: short runs take one plain pass.
        if consumed.len() < SHORT_RUN {
            for (i, b) in consumed.iter().enumerate() {
                if *b == b'\n' {
                    self.line = self.line.saturating_add(1);
                    self.column = 0;
                    self.line_start = self.offset + i as u64 + 1;
                } else if b.cast_signed() >= -64 {
                    self.column = self.column.saturating_add(1);
                }
            }
        } else {
            let mut tail_start = None;
            for i in memchr::memchr_iter(b'\n', consumed) {
                self.line = self.line.saturating_add(1);
                tail_start = Some(i + 1);
            }
            if let Some(start) = tail_start {
                self.column = 0;
                self.line_start = self.offset + start as u64;
            }
            let tail = &consumed[tail_start.unwrap_or(0)..];
            self.column = self
                .column
                .saturating_add(u32::try_from(count_chars(tail)).unwrap_or(u32::MAX));
        }
        self.pos += amt;
        self.offset += amt as u64;
    }
}

/// Characters, not bytes: every byte but a UTF-8 continuation byte (`0b10xx_xxxx`, which as an
/// `i8` is below -64) starts one. Summed in `u8` lanes over blocks short enough not to
/// overflow, which the compiler turns into SIMD, for the long runs (text) where that pays.
fn count_chars(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| {
            let starts = block
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b.cast_signed() >= -64));
            usize::from(starts)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_lines_and_character_columns() {
        let mut t = Tracked::new(io::Cursor::new("ab\nцін\nx".as_bytes().to_vec()));
        let mut line = String::new();
        t.read_line(&mut line).expect("read");
        t.read_line(&mut line).expect("read");
        let mut one = [0u8; 1];
        t.read_exact(&mut one).expect("read");
        let l = t.location();
        assert_eq!(
            (l.line, l.column, l.byte_offset),
            (Some(3), Some(2), Some(11))
        );
        assert_eq!(t.location_at(10).column, Some(1));
        assert_eq!(t.location_at(2).line, None);
    }

    #[test]
    fn counts_characters_across_blocks() {
        // Lengths around the 255-byte block, with 2-, 3- and 4-byte characters straddling it.
        for n in [0, 1, 127, 254, 255, 256, 509, 510, 511, 1000] {
            let text: String = "aц€😀".chars().cycle().take(n).collect();
            assert_eq!(count_chars(text.as_bytes()), n, "{n} characters");
        }
    }

    #[test]
    fn short_and_long_runs_count_alike() {
        // Consumed in steps on both sides of SHORT_RUN, the position must not depend on how the
        // input was cut: lines, character columns and the line's start all agree.
        let text = "<a>ц\n€€ x\n\n😀<b attr=\"ü\"/>\n".repeat(40);
        let bytes = text.as_bytes();
        let lines = 1 + u32::try_from(text.matches('\n').count()).expect("small");
        let after_last = text.rfind('\n').expect("has newlines") + 1;
        let column = 1 + u32::try_from(text[after_last..].chars().count()).expect("small");
        for step in [
            1,
            5,
            SHORT_RUN - 1,
            SHORT_RUN,
            SHORT_RUN + 1,
            200,
            bytes.len(),
        ] {
            let mut t = Tracked::new(io::Cursor::new(bytes.to_vec()));
            loop {
                let n = t.fill_buf().expect("read").len().min(step);
                if n == 0 {
                    break;
                }
                t.consume(n);
            }
            let p = t.position();
            assert_eq!((p.line, p.column), (lines, column), "steps of {step} bytes");
            assert_eq!(t.line_start, after_last as u64, "steps of {step} bytes");
        }
    }
}
