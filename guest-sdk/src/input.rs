//! The feed as a `std::io::Read`: in wasm it pulls chunks from the host, natively it wraps any reader.

use std::io::{self, BufReader, Read};

/// Bytes the host pulls per `feed.read` call: large enough that the call overhead vanishes,
/// small enough that a chunk is a rounding error next to the guest's memory limit.
#[cfg(guest_bindings)]
pub(crate) const CHUNK_BYTES: u32 = 256 * 1024;

/// The feed being transformed. Implements [`Read`]; wrap it with [`FeedReader::buffered`] for
/// parsers that want [`std::io::BufRead`].
pub struct FeedReader {
    source: Source,
    consumed: u64,
}

enum Source {
    #[cfg(guest_bindings)]
    #[cfg_attr(not(feature = "transformer"), allow(dead_code))]
    Host {
        pending: Vec<u8>,
        pos: usize,
        done: bool,
    },
    Native(Box<dyn Read>),
}

impl std::fmt::Debug for FeedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedReader")
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl FeedReader {
    /// A feed read from any native reader (tests, benchmarks, the native twin of a module).
    pub fn from_reader(reader: impl Read + 'static) -> Self {
        Self {
            source: Source::Native(Box::new(reader)),
            consumed: 0,
        }
    }

    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::from_reader(io::Cursor::new(bytes.into()))
    }

    #[cfg(guest_bindings)]
    #[cfg_attr(not(feature = "transformer"), allow(dead_code))]
    pub(crate) fn host() -> Self {
        Self {
            source: Source::Host {
                pending: Vec::new(),
                pos: 0,
                done: false,
            },
            consumed: 0,
        }
    }

    /// Bytes handed out so far: the byte offset parsers report in errors.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The feed's size when the host knows it (to pre-size buffers or report progress).
    pub fn size_hint(&self) -> Option<u64> {
        match &self.source {
            #[cfg(guest_bindings)]
            Source::Host { .. } => feed_size_hint(),
            Source::Native(_) => None,
        }
    }

    /// Move the feed out, leaving an empty one: for parsers that need an owned `'static`
    /// reader (a decoding adapter, a boxed stream). The SDK never reads `input` after
    /// `transform` returns, so nothing is lost.
    #[must_use]
    pub fn take(&mut self) -> FeedReader {
        std::mem::replace(self, FeedReader::from_bytes(Vec::new()))
    }

    /// A buffered view for line- or token-oriented parsers.
    pub fn buffered(&mut self) -> BufReader<&mut Self> {
        BufReader::with_capacity(64 * 1024, self)
    }
}

#[cfg(all(guest_bindings, feature = "transformer"))]
fn feed_size_hint() -> Option<u64> {
    crate::bindings::active::contextworker::module::feed::size_hint()
}

#[cfg(all(guest_bindings, not(feature = "transformer")))]
fn feed_size_hint() -> Option<u64> {
    None
}

impl Read for FeedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            #[cfg(guest_bindings)]
            Source::Host { pending, pos, done } => {
                if *pos >= pending.len() && !*done {
                    *pending = host_read(CHUNK_BYTES);
                    *pos = 0;
                    *done = pending.is_empty();
                }
                let n = buf.len().min(pending.len() - *pos);
                buf[..n].copy_from_slice(&pending[*pos..*pos + n]);
                *pos += n;
                n
            }
            Source::Native(reader) => reader.read(buf)?,
        };
        self.consumed += n as u64;
        Ok(n)
    }
}

#[cfg(all(guest_bindings, feature = "transformer"))]
fn host_read(max: u32) -> Vec<u8> {
    crate::bindings::active::contextworker::module::feed::read(max)
}

#[cfg(all(guest_bindings, not(feature = "transformer")))]
fn host_read(_max: u32) -> Vec<u8> {
    Vec::new()
}
