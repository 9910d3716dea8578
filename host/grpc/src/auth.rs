//! ContextUnity tokens: `kid.payload.signature`, split at the last two dots (a kid may contain
//! dots). `payload` is standard padded base64 of the JSON claims; `signature` is standard base64
//! of an HMAC-SHA256 or Ed25519 signature over the ASCII text of `payload`, so tokens minted by
//! the existing tooling verify unchanged.
//!
//! Permissions: `worker:execute` for StartWorkflow and ExecuteCode, `worker:read` for
//! GetTaskStatus; `worker:*` and `*` grant both.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const EXECUTE: &str = "worker:execute";
pub const READ: &str = "worker:read";

/// The kid of development tokens that carry no signature.
pub const UNSIGNED_KID: &str = "unsigned";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub token_id: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Seconds since the epoch; absent means no expiry.
    #[serde(default)]
    pub exp_unix: Option<f64>,
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
#[derive(Debug, Default)]
pub struct Verifier {
    keys: HashMap<String, Key>,
    allow_unsigned: bool,
}

impl Verifier {
    pub fn new(keys: HashMap<String, Key>, allow_unsigned: bool) -> Self {
        Self {
            keys,
            allow_unsigned,
        }
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
            let key = self
                .keys
                .get(kid)
                .ok_or_else(|| AuthError::UnknownKey(kid.to_owned()))?;
            let sig = STANDARD
                .decode(signature)
                .map_err(|_| AuthError::Malformed("signature is not base64"))?;
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
        if claims.exp_unix.is_some_and(|exp| exp <= now_unix) {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }
}

impl Claims {
    pub fn require(&self, permission: &'static str) -> Result<(), AuthError> {
        let family = permission.split(':').next().unwrap_or("");
        let granted = self.permissions.iter().any(|p| {
            p == permission || p == "*" || p.strip_suffix(":*").is_some_and(|f| f == family)
        });
        if granted {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(permission))
        }
    }

    /// The tenant a request acts for: the one it names, if the token allows it, else the
    /// token's first tenant.
    pub fn tenant(&self, requested: Option<&str>) -> Result<String, AuthError> {
        match requested.filter(|t| !t.is_empty()) {
            Some(t) if self.allowed_tenants.iter().any(|a| a == t || a == "*") => Ok(t.to_owned()),
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

    fn claims(exp: Option<f64>) -> Claims {
        Claims {
            token_id: "t1".into(),
            permissions: vec![EXECUTE.into()],
            allowed_tenants: vec!["acme".into(), "beta".into()],
            exp_unix: exp,
            user_id: None,
            agent_id: None,
            revocation_id: None,
        }
    }

    fn verifier(allow_unsigned: bool) -> Verifier {
        let mut keys = HashMap::new();
        keys.insert("svc.v1".to_owned(), Key::Hmac(b"secret".to_vec()));
        Verifier::new(keys, allow_unsigned)
    }

    #[test]
    fn hmac_tokens_verify_and_a_dotted_kid_splits_at_the_last_two_dots() {
        let token = mint_hmac("svc.v1", b"secret", &claims(Some(2e9)));
        let c = verifier(false).verify(&token, 1e9).expect("valid");
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
        let good = mint_hmac("svc.v1", b"secret", &claims(None));
        let wrong = mint_hmac("svc.v1", b"other", &claims(None));
        let expired = mint_hmac("svc.v1", b"secret", &claims(Some(10.0)));
        let unknown = mint_hmac("nope", b"secret", &claims(None));
        assert!(v.verify(&good, 1e9).is_ok());
        assert_eq!(v.verify(&wrong, 1e9), Err(AuthError::BadSignature));
        assert_eq!(v.verify(&expired, 1e9), Err(AuthError::Expired));
        assert_eq!(
            v.verify(&unknown, 1e9),
            Err(AuthError::UnknownKey("nope".into()))
        );
        assert!(matches!(
            v.verify("garbage", 1e9),
            Err(AuthError::Malformed(_))
        ));
        // Tampering with the payload breaks the signature even if it is valid base64 JSON.
        let (kid_payload, sig) = good.rsplit_once('.').expect("dots");
        let (kid, _) = kid_payload.rsplit_once('.').expect("dots");
        let mut c = claims(None);
        c.allowed_tenants = vec!["*".into()];
        let forged = format!(
            "{kid}.{}.{sig}",
            STANDARD.encode(serde_json::to_vec(&c).expect("json"))
        );
        assert_eq!(v.verify(&forged, 1e9), Err(AuthError::BadSignature));
    }

    #[test]
    fn unsigned_tokens_only_in_development_mode() {
        let token = mint_unsigned(&claims(None));
        assert_eq!(
            verifier(false).verify(&token, 1e9),
            Err(AuthError::UnsignedRefused)
        );
        assert!(verifier(true).verify(&token, 1e9).is_ok());
    }

    #[test]
    fn ed25519_tokens_verify_over_the_payload_text() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let payload = STANDARD.encode(serde_json::to_vec(&claims(None)).expect("json"));
        let sig = STANDARD.encode(signing.sign(payload.as_bytes()).to_bytes());
        let mut keys = HashMap::new();
        keys.insert("ed".to_owned(), Key::Ed25519(signing.verifying_key()));
        let v = Verifier::new(keys, false);
        assert!(v.verify(&format!("ed.{payload}.{sig}"), 1e9).is_ok());
        let other = STANDARD.encode([0u8; 64]);
        assert_eq!(
            v.verify(&format!("ed.{payload}.{other}"), 1e9),
            Err(AuthError::BadSignature)
        );
    }
}
