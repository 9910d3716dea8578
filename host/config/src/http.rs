//! `[http.<module>]` and `[[http_secret]]`: the operator's say over modules' outbound HTTP.
//! A module's manifest asks; these narrow what it asked for and attach the credentials the
//! host (never the guest) sends.

use std::collections::BTreeMap;
use std::path::Path;

use contextworker_types::{HttpRule, HttpScheme};
use serde::Deserialize;

use crate::error::ConfigError;

/// `[http.<module>]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpNarrowToml {
    /// `METHODS scheme://host[:port]/path-prefix` lines; the module may call only what both
    /// these and its manifest admit.
    pub allow: Vec<String>,
}

/// `[[http_secret]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSecretToml {
    /// `scheme://host[:port]`: the only destination the header is sent to.
    pub origin: String,
    pub header: String,
    /// The environment variable holding the secret.
    pub env: String,
    /// Written before the secret (`"Bearer "`).
    #[serde(default)]
    pub prefix: String,
}

/// A secret header by reference: the value is read from `env` when the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSecret {
    pub scheme: HttpScheme,
    pub host: String,
    pub port: u16,
    /// Lowercase.
    pub header: String,
    pub env: String,
    pub prefix: String,
}

pub(crate) fn resolve_narrowing(
    path: &Path,
    file: BTreeMap<String, HttpNarrowToml>,
) -> Result<BTreeMap<String, Vec<HttpRule>>, ConfigError> {
    file.into_iter()
        .map(|(module, table)| {
            let rules = table
                .allow
                .iter()
                .map(|line| HttpRule::parse(line))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "http.<module>.allow",
                    value: format!("{module:?}"),
                    reason: e.to_string(),
                })?;
            Ok((module, rules))
        })
        .collect()
}

pub(crate) fn resolve_secrets(
    path: &Path,
    file: Vec<HttpSecretToml>,
) -> Result<Vec<HttpSecret>, ConfigError> {
    file.into_iter()
        .map(|t| {
            let invalid = |key: &'static str, value: &str, reason: &str| ConfigError::Invalid {
                path: path.to_path_buf(),
                key,
                value: format!("{value:?}"),
                reason: reason.to_owned(),
            };
            // One parser for destinations: an origin is a rule's URL without a path.
            let rule = HttpRule::parse(&format!("GET {}", t.origin))
                .map_err(|e| invalid("http_secret.origin", &t.origin, &e.reason))?;
            let Some(host) = rule.host else {
                return Err(invalid(
                    "http_secret.origin",
                    &t.origin,
                    "name one host: `scheme://host[:port]`, no `*`",
                ));
            };
            let Some(port) = rule.port else {
                return Err(invalid(
                    "http_secret.origin",
                    &t.origin,
                    "name one port, or none for the scheme's default; not `*`",
                ));
            };
            if rule.path_prefix != "/" {
                return Err(invalid(
                    "http_secret.origin",
                    &t.origin,
                    "an origin has no path",
                ));
            }
            let header = t.header.to_ascii_lowercase();
            if header.is_empty()
                || !header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "http_secret.header",
                    &t.header,
                    "not a header name",
                ));
            }
            if t.env.is_empty()
                || !t
                    .env
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(
                    "http_secret.env",
                    &t.env,
                    "names use A-Z, 0-9 and _",
                ));
            }
            Ok(HttpSecret {
                scheme: rule.scheme,
                host,
                port,
                header,
                env: t.env,
                prefix: t.prefix,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(origin: &str) -> Result<HttpSecret, String> {
        resolve_secrets(
            Path::new("host.toml"),
            vec![HttpSecretToml {
                origin: origin.into(),
                header: "Authorization".into(),
                env: "ROUTER_API_KEY".into(),
                prefix: "Bearer ".into(),
            }],
        )
        .map(|mut v| v.remove(0))
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_secret_names_one_origin() {
        let s = secret("https://Router.internal").expect("valid");
        assert_eq!(
            (s.host.as_str(), s.port, s.header.as_str()),
            ("router.internal", 443, "authorization")
        );
        assert_eq!(secret("http://127.0.0.1:8080").expect("valid").port, 8080);
        for bad in [
            "https://*",
            "https://router:*",
            "https://router/v1",
            "router.internal",
        ] {
            let e = secret(bad).unwrap_err();
            assert!(e.contains("http_secret.origin"), "{bad}: {e}");
        }
    }
}
