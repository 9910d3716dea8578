//! Where the Temporal server is and how to reach it, validated before any connection so the
//! message says what to fix.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TEMPORAL_ADDRESS` (or `TEMPORAL_HOST`, the original worker's name) | `host:port` | `localhost:7233` |
//! | `TEMPORAL_NAMESPACE` | namespace | `default` |
//! | `TEMPORAL_API_KEY` | Temporal Cloud API key; implies TLS | none |
//! | `TEMPORAL_TLS_CERT`, `TEMPORAL_TLS_KEY` | client certificate and key (PEM files) for mTLS | none |

use std::path::PathBuf;

use contextworker_types::defaults::{DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS};

/// Raw values from flags, environment or the config file's `[temporal]`; one type for every
/// source, so a setting added here is read from each of them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemporalInput {
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub api_key: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// How to authenticate to the server.
#[derive(Clone, PartialEq, Eq)]
pub enum TemporalAuth {
    /// Plain connection (a local or in-cluster server).
    None,
    /// Temporal Cloud API key over TLS.
    ApiKey(String),
    /// Mutual TLS with a client certificate.
    MutualTls { cert: PathBuf, key: PathBuf },
}

impl std::fmt::Debug for TemporalAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            // Never print the key itself.
            Self::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Self::MutualTls { cert, key } => f
                .debug_struct("MutualTls")
                .field("cert", cert)
                .field("key", key)
                .finish(),
        }
    }
}

/// Validated connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporalSettings {
    pub address: String,
    pub namespace: String,
    pub auth: TemporalAuth,
}

/// Why the settings cannot work. Each message says what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemporalConfigError {
    #[error("TEMPORAL_ADDRESS {0:?} is not host:port (for example localhost:7233)")]
    Address(String),
    #[error(
        "both an API key and a client certificate are set: use TEMPORAL_API_KEY for Temporal Cloud or TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY for mTLS, not both"
    )]
    ApiKeyAndMtls,
    #[error(
        "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mTLS needs the certificate and its private key"
    )]
    CertWithoutKey,
    #[error(
        "TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mTLS needs the certificate and its private key"
    )]
    KeyWithoutCert,
    #[error("{which} file {} does not exist", path.display())]
    FileNotFound { which: &'static str, path: PathBuf },
    #[error("TEMPORAL_NAMESPACE is empty")]
    Namespace,
}

impl TemporalInput {
    /// Each value of `self` (flags and environment), else the one `fallback` (the file) gives.
    pub(crate) fn or(self, fallback: Self) -> Self {
        Self {
            address: self.address.or(fallback.address),
            namespace: self.namespace.or(fallback.namespace),
            api_key: self.api_key.or(fallback.api_key),
            tls_cert: self.tls_cert.or(fallback.tls_cert),
            tls_key: self.tls_key.or(fallback.tls_key),
        }
    }

    pub fn resolve(self) -> Result<TemporalSettings, TemporalConfigError> {
        let address = self
            .address
            .map(|a| a.trim().to_owned())
            .unwrap_or_else(|| DEFAULT_TEMPORAL_ADDRESS.to_owned());
        let address = address
            .strip_prefix("http://")
            .or_else(|| address.strip_prefix("https://"))
            .unwrap_or(&address)
            .to_owned();
        let valid_port = address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid_port {
            return Err(TemporalConfigError::Address(address));
        }
        let namespace = self
            .namespace
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        if namespace.trim().is_empty() {
            return Err(TemporalConfigError::Namespace);
        }
        let api_key = self.api_key.filter(|k| !k.trim().is_empty());
        let auth = match (api_key, self.tls_cert, self.tls_key) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(TemporalConfigError::ApiKeyAndMtls);
            }
            (Some(key), None, None) => TemporalAuth::ApiKey(key),
            (None, Some(_), None) => return Err(TemporalConfigError::CertWithoutKey),
            (None, None, Some(_)) => return Err(TemporalConfigError::KeyWithoutCert),
            (None, Some(cert), Some(key)) => {
                for (which, path) in [("TEMPORAL_TLS_CERT", &cert), ("TEMPORAL_TLS_KEY", &key)] {
                    if !path.is_file() {
                        return Err(TemporalConfigError::FileNotFound {
                            which,
                            path: path.clone(),
                        });
                    }
                }
                TemporalAuth::MutualTls { cert, key }
            }
            (None, None, None) => TemporalAuth::None,
        };
        Ok(TemporalSettings {
            address,
            namespace,
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_a_local_server() {
        let s = TemporalInput::default().resolve().expect("valid");
        assert_eq!(
            (s.address.as_str(), s.namespace.as_str(), &s.auth),
            ("localhost:7233", "default", &TemporalAuth::None)
        );
    }

    #[test]
    fn contradictions_and_gaps_are_named() {
        let cert = Some(PathBuf::from("/nonexistent/client.pem"));
        let key = Some(PathBuf::from("/nonexistent/client.key"));
        let cases = [
            (
                TemporalInput {
                    api_key: Some("k".into()),
                    tls_cert: cert.clone(),
                    tls_key: key.clone(),
                    ..Default::default()
                },
                TemporalConfigError::ApiKeyAndMtls,
            ),
            (
                TemporalInput {
                    tls_cert: cert.clone(),
                    ..Default::default()
                },
                TemporalConfigError::CertWithoutKey,
            ),
            (
                TemporalInput {
                    tls_key: key.clone(),
                    ..Default::default()
                },
                TemporalConfigError::KeyWithoutCert,
            ),
            (
                TemporalInput {
                    tls_cert: cert.clone(),
                    tls_key: key,
                    ..Default::default()
                },
                TemporalConfigError::FileNotFound {
                    which: "TEMPORAL_TLS_CERT",
                    path: PathBuf::from("/nonexistent/client.pem"),
                },
            ),
            (
                TemporalInput {
                    address: Some("localhost".into()),
                    ..Default::default()
                },
                TemporalConfigError::Address("localhost".into()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(input.resolve().expect_err("refused"), expected);
        }
    }

    #[test]
    fn api_keys_are_never_printed() {
        let s = TemporalInput {
            api_key: Some("very-secret".into()),
            ..Default::default()
        }
        .resolve()
        .expect("valid");
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
