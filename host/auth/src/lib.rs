//! ContextUnity tokens: `kid.payload.signature`, split at the last two dots (a kid may contain
//! dots). `payload` is standard padded base64 of the JSON claims; `signature` is standard base64
//! of an HMAC-SHA256 or Ed25519 signature over the ASCII text of `payload`, so tokens minted by
//! the existing tooling verify unchanged.
//!
//! Permissions: `worker:execute` for StartWorkflow and ExecuteCode, `worker:read` for
//! GetTaskStatus; `worker:*` and `*` grant both. `worker:admin` (starting any workflow type by
//! name with the caller's arguments, reading workflows of any tenant or of none) is never
//! granted by a wildcard: a token has it only if it names it.
//!
//! Validity: a token must carry `exp_unix`, and its lifetime (from `iat` when present, else
//! from now) may not exceed the verifier's maximum, so a leaked token is useful for a bounded
//! time. `iat` and `nbf` in the future (beyond a small clock skew) are refused.

mod claims;
mod key;
mod mint;
#[cfg(test)]
mod tests;
mod verify;

pub use claims::Claims;
pub use key::{Key, KeyError};
pub use mint::{mint_hmac, mint_unsigned};
pub use verify::{AuthError, Verifier};

pub const EXECUTE: &str = "worker:execute";
pub const READ: &str = "worker:read";
pub const ADMIN: &str = "worker:admin";
/// RegisterSchedules: recurring runs outlive the token that made them, so making them is a
/// permission of its own (the original's `worker:schedule`).
pub const SCHEDULE: &str = "worker:schedule";

/// Shortest HMAC secret accepted: 256 bits, the output size of SHA-256 (RFC 2104 §3: keys
/// shorter than the hash output weaken the MAC).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Clock difference tolerated between the minting host and this one for `iat` and `nbf`.
pub const CLOCK_SKEW_SECS: f64 = 60.0;

/// The default cap on a token's lifetime.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 24 * 3600;

/// The kid of development tokens that carry no signature.
pub const UNSIGNED_KID: &str = "unsigned";
