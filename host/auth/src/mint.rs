//! Making tokens: the `token` command, and tests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Claims, UNSIGNED_KID};

/// Mint an HMAC-signed token (the `token` command, and tests).
pub fn mint_hmac(kid: &str, secret: &[u8], claims: &Claims) -> String {
    let payload = STANDARD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{kid}.{payload}.{signature}")
}

/// An unsigned development token.
pub fn mint_unsigned(claims: &Claims) -> String {
    let payload = STANDARD.encode(serde_json::to_vec(claims).unwrap_or_default());
    format!("{UNSIGNED_KID}.{payload}.")
}
