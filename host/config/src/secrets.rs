//! Which environment variables an activity may read as a secret.
//!
//! Supplier files name the variables that hold their credentials, and the fetch activity reads
//! them on the worker. But an activity's input can come from any Temporal client of the
//! namespace, so a name in an input is a request, not a grant: without this policy a client
//! could make a worker send `DATABASE_URL` or `TEMPORAL_API_KEY` to a URL of its choice. The
//! operator says which variables are secrets for suppliers (a prefix, or a list); the host's
//! own settings are never readable this way, whatever the operator allows.

/// Variables the host itself is configured by (or that carry its own credentials). Never
/// handed to a fetch, even when an operator's prefix would match them.
const HOST_OWN: &[&str] = &[
    "DATABASE_URL",
    "TEMPORAL_",
    "WORKER_",
    "CONTEXTWORKER_",
    "AWS_",
    "OTEL_",
    "RUST_LOG",
    "PATH",
    "HOME",
];

/// The default prefix for supplier credentials.
pub const DEFAULT_SECRET_PREFIX: &str = "SUPPLIER_";

/// Why a variable may not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefusal {
    #[error(
        "environment variable {name} holds the host's own settings and is never read as a supplier secret"
    )]
    HostOwn { name: String },
    #[error(
        "environment variable {name} is not allowed as a secret on this host (allowed: {allowed}; the operator sets [secrets] env_prefixes or env_vars)"
    )]
    NotAllowed { name: String, allowed: String },
}

/// The operator's allow-list of secret variables, plus the host's own deny-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPolicy {
    prefixes: Vec<String>,
    names: Vec<String>,
    /// Exact names that are the host's own for this configuration (the HMAC key variables).
    host_names: Vec<String>,
}

impl Default for SecretPolicy {
    fn default() -> Self {
        Self::new(
            vec![DEFAULT_SECRET_PREFIX.to_owned()],
            Vec::new(),
            Vec::new(),
        )
    }
}

impl SecretPolicy {
    /// `host_names`: variables this configuration itself reads for its own secrets (token
    /// keys), refused like the built-in list.
    pub fn new(prefixes: Vec<String>, names: Vec<String>, host_names: Vec<String>) -> Self {
        Self {
            prefixes,
            names,
            host_names,
        }
    }

    /// Whether an activity may read `name` as a secret.
    pub fn check(&self, name: &str) -> Result<(), SecretRefusal> {
        let host_own = HOST_OWN.iter().any(|p| {
            if p.ends_with('_') {
                name.starts_with(p)
            } else {
                name == *p
            }
        }) || self.host_names.iter().any(|n| n == name);
        if host_own {
            return Err(SecretRefusal::HostOwn {
                name: name.to_owned(),
            });
        }
        let allowed = self.names.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()));
        if allowed {
            Ok(())
        } else {
            Err(SecretRefusal::NotAllowed {
                name: name.to_owned(),
                allowed: self.describe(),
            })
        }
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = self.prefixes.iter().map(|p| format!("{p}*")).collect();
        parts.extend(self.names.iter().cloned());
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_names_pass_and_the_hosts_own_never_do() {
        let policy = SecretPolicy::new(
            vec!["SUPPLIER_".into(), "".into()],
            vec!["ACME_TOKEN".into()],
            vec!["GRPC_HMAC_SECRET".into()],
        );
        // An empty prefix admits everything but the host's own settings.
        assert!(policy.check("ANYTHING").is_ok());
        for own in [
            "DATABASE_URL",
            "TEMPORAL_API_KEY",
            "WORKER_GRPC_TLS_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GRPC_HMAC_SECRET",
        ] {
            assert!(
                matches!(policy.check(own), Err(SecretRefusal::HostOwn { .. })),
                "{own}"
            );
        }
        let strict = SecretPolicy::default();
        assert!(strict.check("SUPPLIER_ACME_TOKEN").is_ok());
        let err = strict.check("ACME_TOKEN").expect_err("not allowed");
        assert!(err.to_string().contains("SUPPLIER_*"), "{err}");
    }
}
