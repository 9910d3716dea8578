//! Pieces every feed transformer needs, written once: decoding declared encodings to UTF-8
//! without mojibake, exact decimal prices, line/column tracking for error messages,
//! availability words in the languages suppliers use, duplicate-id reporting, and a warning
//! when a field every offer needs is missing from every record.
//!
//! Plain Rust over `std::io`: it compiles natively and for wasm32 alike.

pub mod amounts;
pub mod availability;
pub mod coverage;
pub mod dedup;
pub mod encoding;
pub mod fuzz;
pub mod position;
pub mod price;
pub mod records;
pub mod settings;
pub mod xml;

pub use availability::parse_availability;
pub use coverage::{Coverage, Needed};
pub use dedup::Duplicates;
pub use encoding::{Decoded, TextKind, decode};
pub use position::{Position, Tracked};
pub use price::{Money, PriceError, parse_decimal, parse_price};
pub use records::{Element, Offers};
pub use settings::FeedSettings;
