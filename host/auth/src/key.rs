//! Verification keys, and reading them from the operator's configuration: an HMAC secret from
//! an environment variable, an Ed25519 public key as base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::MIN_HMAC_SECRET_BYTES;

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
    #[error("environment variable {0} is not set")]
    SecretUnset(String),
    #[error("not base64 of a 32-byte key")]
    NotEd25519Base64,
    #[error("not an Ed25519 public key: {0}")]
    InvalidEd25519(String),
}

impl Key {
    /// An HMAC-SHA256 key; refuses secrets shorter than [`MIN_HMAC_SECRET_BYTES`].
    pub fn hmac(secret: Vec<u8>) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(KeyError::ShortSecret(secret.len()));
        }
        Ok(Self::Hmac(secret))
    }

    /// An HMAC key whose secret is in the environment variable `var` (the secret never
    /// appears on a command line or in a config file).
    pub fn hmac_from_env(var: &str) -> Result<Self, KeyError> {
        let secret = std::env::var(var).map_err(|_| KeyError::SecretUnset(var.to_owned()))?;
        Self::hmac(secret.into_bytes())
    }

    /// An Ed25519 public key given as standard base64 of its 32 bytes.
    pub fn ed25519_base64(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::NotEd25519Base64)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self::Ed25519)
            .map_err(|e| KeyError::InvalidEd25519(e.to_string()))
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
