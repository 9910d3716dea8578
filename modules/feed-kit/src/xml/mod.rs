//! The XML plumbing every XML transformer shares (yml, hotline, google-merchant, dealer-xml):
//! decoding, a quick-xml pull reader with positions, the security policy, lenient recovery and
//! errors that name line, column and byte offset.
//!
//! The security policy lives here and only here: no external entity or DTD is ever fetched, no
//! entity is ever expanded (only XML's five predefined ones and character references resolve),
//! nesting is bounded ([`MAX_DEPTH`]) and so is a run of text without markup
//! ([`MAX_TEXT_BYTES`]), so a hostile feed fails with a reason instead of exhausting the guest.

mod markup;
mod reader;
mod tag;

pub use markup::{
    module_for_root, push_end_markup, push_start_markup, unescape_twice_escaped, wrong_format,
};
pub use reader::{MAX_DEPTH, MAX_TEXT_BYTES, Node, Rules, Xml};
pub use tag::{OwnedTag, Tag, local_name};

#[cfg(test)]
mod tests;
