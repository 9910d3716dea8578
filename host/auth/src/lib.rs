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

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const EXECUTE: &str = "worker:execute";
pub const READ: &str = "worker:read";
pub const ADMIN: &str = "worker:admin";

/// Shortest HMAC secret accepted: 256 bits, the output size of SHA-256 (RFC 2104 §3: keys
/// shorter than the hash output weaken the MAC).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Clock difference tolerated between the minting host and this one for `iat` and `nbf`.
pub const CLOCK_SKEW_SECS: f64 = 60.0;

/// The default cap on a token's lifetime.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 24 * 3600;

/// The kid of development tokens that carry no signature.
pub const UNSIGNED_KID: &str = "unsigned";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub token_id: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Seconds since the epoch. Required: a token without it is refused.
    #[serde(default)]
    pub exp_unix: Option<f64>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<f64>,
    /// Not valid before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_id: Option<String>,
}

/// A verification key for one kid.
pub enum Key {
    Hmac(Vec<u8>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the HMAC secret is {0} bytes; at least {MIN_HMAC_SECRET_BYTES} are required (e.g. `openssl rand -base64 48`)"
    )]
    ShortSecret(usize),
}

impl Key {
    /// An HMAC-SHA256 key; refuses secrets shorter than [`MIN_HMAC_SECRET_BYTES`].
    pub fn hmac(secret: Vec<u8>) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(KeyError::ShortSecret(secret.len()));
        }
        Ok(Self::Hmac(secret))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Hmac(_) => "Hmac(<secret>)",
            Self::Ed25519(_) => "Ed25519",
        })
    }
}

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

impl Claims {
    pub fn require(&self, permission: &'static str) -> Result<(), AuthError> {
        let family = permission.split(':').next().unwrap_or("");
        let wildcards_grant = permission != ADMIN;
        let granted = self.permissions.iter().any(|p| {
            p == permission
                || (wildcards_grant
                    && (p == "*" || p.strip_suffix(":*").is_some_and(|f| f == family)))
        });
        if granted {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(permission))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.require(ADMIN).is_ok()
    }

    /// Whether the token may act for `tenant` (never for the empty tenant).
    pub fn allows_tenant(&self, tenant: &str) -> bool {
        !tenant.is_empty() && self.allowed_tenants.iter().any(|a| a == tenant || a == "*")
    }

    /// The tenant a request acts for: the one it names, if the token allows it, else the
    /// token's first tenant.
    pub fn tenant(&self, requested: Option<&str>) -> Result<String, AuthError> {
        match requested.filter(|t| !t.is_empty()) {
            Some(t) if self.allows_tenant(t) => Ok(t.to_owned()),
            Some(t) => Err(AuthError::TenantDenied(t.to_owned())),
            None => self
                .allowed_tenants
                .first()
                .filter(|t| t.as_str() != "*")
                .cloned()
                .ok_or_else(|| AuthError::TenantDenied(String::new())),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;

    const SECRET: &[u8] = b"a-secret-of-at-least-thirty-two-bytes";

    fn claims(exp: Option<f64>) -> Claims {
        Claims {
            token_id: "t1".into(),
            permissions: vec![EXECUTE.into()],
            allowed_tenants: vec!["acme".into(), "beta".into()],
            exp_unix: exp,
            iat: None,
            nbf: None,
            user_id: None,
            agent_id: None,
            revocation_id: None,
        }
    }

    fn verifier(allow_unsigned: bool) -> Verifier {
        let mut keys = HashMap::new();
        keys.insert("svc.v1".to_owned(), Key::Hmac(SECRET.to_vec()));
        Verifier::new(keys, allow_unsigned)
    }

    const NOW: f64 = 1e9;
    const HOUR_LATER: Option<f64> = Some(NOW + 3600.0);

    #[test]
    fn hmac_tokens_verify_and_a_dotted_kid_splits_at_the_last_two_dots() {
        let token = mint_hmac("svc.v1", SECRET, &claims(HOUR_LATER));
        let c = verifier(false).verify(&token, NOW).expect("valid");
        assert_eq!(c.token_id, "t1");
        assert_eq!(c.tenant(None).expect("first"), "acme");
        assert_eq!(c.tenant(Some("beta")).expect("allowed"), "beta");
        assert_eq!(
            c.tenant(Some("gamma")),
            Err(AuthError::TenantDenied("gamma".into()))
        );
        assert!(c.require(EXECUTE).is_ok());
        assert_eq!(c.require(READ), Err(AuthError::PermissionDenied(READ)));
    }

    #[test]
    fn bad_tokens_are_refused_with_their_reason() {
        let v = verifier(false);
        let good = mint_hmac("svc.v1", SECRET, &claims(HOUR_LATER));
        let wrong = mint_hmac(
            "svc.v1",
            b"another-secret-of-thirty-two-bytes!",
            &claims(HOUR_LATER),
        );
        let expired = mint_hmac("svc.v1", SECRET, &claims(Some(10.0)));
        let unknown = mint_hmac("nope", SECRET, &claims(HOUR_LATER));
        assert!(v.verify(&good, NOW).is_ok());
        assert_eq!(v.verify(&wrong, NOW), Err(AuthError::BadSignature));
        assert_eq!(v.verify(&expired, NOW), Err(AuthError::Expired));
        assert_eq!(
            v.verify(&unknown, NOW),
            Err(AuthError::UnknownKey("nope".into()))
        );
        assert!(matches!(
            v.verify("garbage", NOW),
            Err(AuthError::Malformed(_))
        ));
        // Tampering with the payload breaks the signature even if it is valid base64 JSON.
        let (kid_payload, sig) = good.rsplit_once('.').expect("dots");
        let (kid, _) = kid_payload.rsplit_once('.').expect("dots");
        let mut c = claims(HOUR_LATER);
        c.allowed_tenants = vec!["*".into()];
        let forged = format!(
            "{kid}.{}.{sig}",
            STANDARD.encode(serde_json::to_vec(&c).expect("json"))
        );
        assert_eq!(v.verify(&forged, NOW), Err(AuthError::BadSignature));
    }

    #[test]
    fn validity_needs_an_expiry_within_the_lifetime_and_no_future_issue_time() {
        let v = verifier(false).with_max_lifetime(7200);
        let mint = |c: &Claims| mint_hmac("svc.v1", SECRET, c);
        assert_eq!(
            v.verify(&mint(&claims(None)), NOW),
            Err(AuthError::NoExpiry)
        );
        assert!(matches!(
            v.verify(&mint(&claims(Some(NOW + 30.0 * 86400.0))), NOW),
            Err(AuthError::LifetimeTooLong(..))
        ));
        let mut c = claims(HOUR_LATER);
        c.iat = Some(NOW - 86_400.0);
        // Issued a day ago, valid for 25 hours in all: over the 2-hour cap.
        c.exp_unix = Some(NOW + 3600.0);
        assert!(matches!(
            v.verify(&mint(&c), NOW),
            Err(AuthError::LifetimeTooLong(..))
        ));
        let mut c = claims(HOUR_LATER);
        c.iat = Some(NOW + 3600.0);
        assert_eq!(v.verify(&mint(&c), NOW), Err(AuthError::NotYetValid));
        let mut c = claims(HOUR_LATER);
        c.nbf = Some(NOW + 30.0);
        assert!(v.verify(&mint(&c), NOW).is_ok(), "within the clock skew");
        c.nbf = Some(NOW + 600.0);
        assert_eq!(v.verify(&mint(&c), NOW), Err(AuthError::NotYetValid));
        // A NaN expiry must not read as "never expires".
        let text =
            r#"{"token_id":"t","permissions":["*"],"allowed_tenants":["a"],"exp_unix":1e999}"#;
        let token = {
            let payload = STANDARD.encode(text.as_bytes());
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("key");
            mac.update(payload.as_bytes());
            format!(
                "svc.v1.{payload}.{}",
                STANDARD.encode(mac.finalize().into_bytes())
            )
        };
        assert!(v.verify(&token, NOW).is_err());
    }

    #[test]
    fn short_hmac_secrets_are_refused_and_admin_is_never_a_wildcard() {
        assert_eq!(
            Key::hmac(b"secret".to_vec()).err(),
            Some(KeyError::ShortSecret(6))
        );
        assert!(Key::hmac(SECRET.to_vec()).is_ok());
        let mut c = claims(HOUR_LATER);
        c.permissions = vec!["*".into(), "worker:*".into()];
        assert!(c.require(EXECUTE).is_ok() && c.require(READ).is_ok());
        assert!(!c.is_admin());
        c.permissions.push(ADMIN.into());
        assert!(c.is_admin());
        assert!(!c.allows_tenant(""), "the empty tenant is nobody's");
    }

    #[test]
    fn unsigned_tokens_only_in_development_mode() {
        let token = mint_unsigned(&claims(HOUR_LATER));
        assert_eq!(
            verifier(false).verify(&token, NOW),
            Err(AuthError::UnsignedRefused)
        );
        assert!(verifier(true).verify(&token, NOW).is_ok());
    }

    #[test]
    fn ed25519_tokens_verify_over_the_payload_text() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let payload = STANDARD.encode(serde_json::to_vec(&claims(HOUR_LATER)).expect("json"));
        let sig = STANDARD.encode(signing.sign(payload.as_bytes()).to_bytes());
        let mut keys = HashMap::new();
        keys.insert("ed".to_owned(), Key::Ed25519(signing.verifying_key()));
        let v = Verifier::new(keys, false);
        assert!(v.verify(&format!("ed.{payload}.{sig}"), NOW).is_ok());
        let other = STANDARD.encode([0u8; 64]);
        assert_eq!(
            v.verify(&format!("ed.{payload}.{other}"), NOW),
            Err(AuthError::BadSignature)
        );
    }
}
