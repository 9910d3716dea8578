//! Checking a token: its signature against the key its kid names, then its times.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    CLOCK_SKEW_SECS, Claims, DEFAULT_MAX_LIFETIME_SECS, Key, MIN_HMAC_SECRET_BYTES, UNSIGNED_KID,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no token: send `authorization: Bearer <token>` or `x-context-token`")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token key id {0:?} is not known to this server")]
    UnknownKey(String),
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("the token carries no expiry (exp_unix); tokens without one are refused")]
    NoExpiry,
    #[error("the token's lifetime of {0} s is over this server's maximum of {1} s")]
    LifetimeTooLong(u64, u64),
    #[error("the token is not valid yet (iat or nbf is in the future)")]
    NotYetValid,
    #[error(
        "unsigned tokens are refused (the server was not started with --allow-unsigned-tokens)"
    )]
    UnsignedRefused,
    #[error("the token lacks the permission {0}")]
    PermissionDenied(&'static str),
    #[error("{}", if .0.is_empty() { "the token names no default tenant: give tenant_id".to_owned() } else { format!("the token does not allow tenant {:?}", .0) })]
    TenantDenied(String),
}

impl AuthError {
    /// Authentication failures (the RPC cannot answer) vs authorization failures (a unit
    /// with `permission_denied`).
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(self, Self::PermissionDenied(_) | Self::TenantDenied(_))
    }
}

/// Verifies tokens with configured keys.
#[derive(Debug)]
pub struct Verifier {
    keys: HashMap<String, Key>,
    allow_unsigned: bool,
    max_lifetime_secs: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(HashMap::new(), false)
    }
}

/// Compared against on an unknown kid, so an unknown key costs the same work as a known one
/// and the answer's timing does not tell an unauthenticated caller which kids exist.
const DECOY_KEY: [u8; MIN_HMAC_SECRET_BYTES] = [0x5c; MIN_HMAC_SECRET_BYTES];

impl Verifier {
    pub fn new(keys: HashMap<String, Key>, allow_unsigned: bool) -> Self {
        Self {
            keys,
            allow_unsigned,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
        }
    }

    /// Refuse tokens valid for longer than `secs` (from `iat`, or from now without one).
    #[must_use]
    pub fn with_max_lifetime(mut self, secs: u64) -> Self {
        self.max_lifetime_secs = secs;
        self
    }

    pub fn allows_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    pub fn verify(&self, token: &str, now_unix: f64) -> Result<Claims, AuthError> {
        let token = token.trim();
        let (rest, signature) = token
            .rsplit_once('.')
            .ok_or(AuthError::Malformed("expected kid.payload.signature"))?;
        let (kid, payload) = rest
            .rsplit_once('.')
            .ok_or(AuthError::Malformed("expected kid.payload.signature"))?;
        if kid.is_empty() || payload.is_empty() {
            return Err(AuthError::Malformed("empty key id or payload"));
        }
        if kid == UNSIGNED_KID {
            if !self.allow_unsigned {
                return Err(AuthError::UnsignedRefused);
            }
            if !signature.is_empty() {
                return Err(AuthError::Malformed(
                    "an unsigned token has an empty signature",
                ));
            }
        } else {
            let sig = STANDARD
                .decode(signature)
                .map_err(|_| AuthError::Malformed("signature is not base64"))?;
            let Some(key) = self.keys.get(kid) else {
                let mut decoy = Hmac::<Sha256>::new_from_slice(&DECOY_KEY)
                    .map_err(|_| AuthError::UnknownKey(kid.to_owned()))?;
                decoy.update(payload.as_bytes());
                let _ = decoy.verify_slice(&sig);
                return Err(AuthError::UnknownKey(kid.to_owned()));
            };
            match key {
                Key::Hmac(secret) => {
                    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
                        .map_err(|_| AuthError::BadSignature)?;
                    mac.update(payload.as_bytes());
                    // verify_slice compares in constant time.
                    mac.verify_slice(&sig)
                        .map_err(|_| AuthError::BadSignature)?;
                }
                Key::Ed25519(public) => {
                    let sig = ed25519_dalek::Signature::from_slice(&sig)
                        .map_err(|_| AuthError::BadSignature)?;
                    public
                        .verify_strict(payload.as_bytes(), &sig)
                        .map_err(|_| AuthError::BadSignature)?;
                }
            }
        }
        let json = STANDARD
            .decode(payload)
            .map_err(|_| AuthError::Malformed("payload is not base64"))?;
        let claims: Claims = serde_json::from_slice(&json)
            .map_err(|_| AuthError::Malformed("payload is not the JSON claims"))?;
        self.check_validity(&claims, now_unix)?;
        Ok(claims)
    }

    fn check_validity(&self, claims: &Claims, now: f64) -> Result<(), AuthError> {
        // NaN compares false with everything: without the finiteness check a NaN expiry
        // would never expire.
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        if !(finite(claims.exp_unix) && finite(claims.iat) && finite(claims.nbf)) {
            return Err(AuthError::Malformed("a time claim is not a finite number"));
        }
        let exp = claims.exp_unix.ok_or(AuthError::NoExpiry)?;
        if exp <= now {
            return Err(AuthError::Expired);
        }
        let future = |t: Option<f64>| t.is_some_and(|t| t > now + CLOCK_SKEW_SECS);
        if future(claims.iat) || future(claims.nbf) {
            return Err(AuthError::NotYetValid);
        }
        #[allow(clippy::cast_precision_loss)]
        let max = self.max_lifetime_secs as f64;
        let lifetime = exp - claims.iat.unwrap_or(now).min(now);
        if lifetime > max + CLOCK_SKEW_SECS {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Err(AuthError::LifetimeTooLong(
                lifetime as u64,
                self.max_lifetime_secs,
            ));
        }
        Ok(())
    }
}
