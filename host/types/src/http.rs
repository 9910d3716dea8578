//! Outbound HTTP a module may make through `wasi:http`: the rules its manifest grants, as the
//! operator narrowed them, the caps on a call, and what a call spent.
//!
//! A rule is written as one line, `METHODS scheme://host[:port]/path-prefix`, for example
//! `POST https://router.internal/v1/` or `GET,HEAD http://*:*/`. `*` as the host (or port)
//! admits any: a module that talks to "the configured service" declares a wildcard, and the
//! operator's configuration names the service. A wildcard is never usable on its own: only
//! the concrete rules of an operator's narrowing admit anything through it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::as_text::serde_as_text;

/// `http` or `https`. Nothing else reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpScheme {
    Http,
    Https,
}

impl HttpScheme {
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One destination a module may call: scheme, host, port, methods and a path prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpRule {
    pub scheme: HttpScheme,
    /// Lowercase host name or IP literal (IPv6 without brackets); `None`: any host.
    pub host: Option<String>,
    /// `None`: any port.
    pub port: Option<u16>,
    /// Uppercase, sorted, never empty.
    pub methods: Vec<String>,
    /// Starts with `/`. A request's path must equal it or continue it at a `/` (or the prefix
    /// ends with `/`): `/v1` admits `/v1/chat` but not `/v1beta`.
    pub path_prefix: String,
}

/// Where one request goes, as the rules judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTarget<'a> {
    pub scheme: HttpScheme,
    /// Lowercase, IPv6 without brackets.
    pub host: &'a str,
    pub port: u16,
    pub method: &'a str,
    /// Without the query.
    pub path: &'a str,
}

/// A rule line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{rule}`: {reason} (expected `METHODS scheme://host[:port]/path`, e.g. `POST https://router.internal/v1/`)"
)]
pub struct HttpRuleError {
    pub rule: String,
    pub reason: String,
}

/// Methods a rule may name: the ones with a meaning for an API client.
const METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

impl HttpRule {
    /// Parse `METHODS scheme://host[:port]/path-prefix`.
    pub fn parse(line: &str) -> Result<Self, HttpRuleError> {
        let fail = |reason: &str| HttpRuleError {
            rule: line.to_owned(),
            reason: reason.to_owned(),
        };
        let (methods, url) = line
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| fail("no methods before the URL"))?;
        let mut parsed: Vec<String> = Vec::new();
        for m in methods.split(',') {
            let m = m.trim().to_ascii_uppercase();
            if !METHODS.contains(&m.as_str()) {
                return Err(fail(&format!(
                    "unknown method `{m}` (one of {})",
                    METHODS.join(", ")
                )));
            }
            parsed.push(m);
        }
        parsed.sort();
        parsed.dedup();
        let (scheme, rest) = url
            .trim()
            .split_once("://")
            .ok_or_else(|| fail("no `scheme://`"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => HttpScheme::Http,
            "https" => HttpScheme::Https,
            other => return Err(fail(&format!("scheme `{other}` is not http or https"))),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(fail("credentials in the URL are not allowed"));
        }
        let (host, port) = split_host_port(authority).map_err(|r| fail(&r))?;
        let port = match port {
            None => Some(scheme.default_port()),
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail(&format!("port `{p}` is not 1..=65535 or `*`")))?,
            ),
        };
        let host = match host {
            "*" => None,
            "" => return Err(fail("no host")),
            h => Some(h.to_ascii_lowercase()),
        };
        if path.contains(['?', '#']) || !is_plain_path(path) {
            return Err(fail(
                "the path prefix must be a plain path (no `..`, `.`, `%`, `\\`, query or fragment)",
            ));
        }
        Ok(Self {
            scheme,
            host,
            port,
            methods: parsed,
            path_prefix: path.to_owned(),
        })
    }

    /// Whether a wildcard (host or port) leaves this rule open.
    pub fn is_wildcard(&self) -> bool {
        self.host.is_none() || self.port.is_none()
    }

    /// Whether this rule admits the request. A path with dot segments or escapes that could
    /// smuggle a different path past the prefix is never admitted.
    pub fn admits(&self, t: &HttpTarget<'_>) -> bool {
        self.scheme == t.scheme
            && self
                .host
                .as_deref()
                .is_none_or(|h| h.eq_ignore_ascii_case(t.host))
            && self.port.is_none_or(|p| p == t.port)
            && self.methods.iter().any(|m| m == t.method)
            && is_plain_path(t.path)
            && path_within(t.path, &self.path_prefix)
    }

    /// What both rules admit, or `None` when they share nothing.
    pub fn narrow(&self, other: &Self) -> Option<Self> {
        if self.scheme != other.scheme {
            return None;
        }
        let host = match (&self.host, &other.host) {
            (Some(a), Some(b)) if a == b => Some(a.clone()),
            (Some(_), Some(_)) => return None,
            (Some(h), None) | (None, Some(h)) => Some(h.clone()),
            (None, None) => None,
        };
        let port = match (self.port, other.port) {
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(_), Some(_)) => return None,
            (Some(p), None) | (None, Some(p)) => Some(p),
            (None, None) => None,
        };
        let methods: Vec<String> = self
            .methods
            .iter()
            .filter(|m| other.methods.contains(m))
            .cloned()
            .collect();
        if methods.is_empty() {
            return None;
        }
        let path_prefix = if path_within(&self.path_prefix, &other.path_prefix) {
            self.path_prefix.clone()
        } else if path_within(&other.path_prefix, &self.path_prefix) {
            other.path_prefix.clone()
        } else {
            return None;
        };
        Some(Self {
            scheme: self.scheme,
            host,
            port,
            methods,
            path_prefix,
        })
    }
}

impl fmt::Display for HttpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.host.as_deref().unwrap_or("*");
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let port = self.port.map_or_else(|| "*".to_owned(), |p| p.to_string());
        write!(
            f,
            "{} {}://{host}:{port}{}",
            self.methods.join(","),
            self.scheme.as_str(),
            self.path_prefix
        )
    }
}

impl FromStr for HttpRule {
    type Err = HttpRuleError;
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        Self::parse(line)
    }
}

serde_as_text!(HttpRule);

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "an unclosed `[` in the host".to_owned())?;
        return match after {
            "" => Ok((host, None)),
            p => p
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or_else(|| format!("`{after}` after the host")),
        };
    }
    match authority.split_once(':') {
        // An IPv6 address is written in brackets; a second colon is never a host.
        Some((_, port)) if port.contains(':') => {
            Err("an IPv6 host goes in brackets, and a host has one port".to_owned())
        }
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// A path without dot segments, percent escapes or backslashes: what a server sees is what the
/// rule was checked against (`/v1/../admin` or `/v1/%2e%2e/admin` never pass as `/v1/`).
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['%', '\\'])
        && path
            .split('/')
            .all(|segment| segment != ".." && segment != ".")
}

fn path_within(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && (prefix.ends_with('/') || path.as_bytes().get(prefix.len()) == Some(&b'/')))
}

/// Caps on one module's outbound HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCaps {
    /// Requests one call may make (refused ones included).
    pub max_requests: u32,
    /// Requests in flight at once for the module, across all of its calls on this host.
    pub max_concurrent: u32,
    pub max_request_bytes: u64,
    pub max_response_bytes: u64,
    /// Time one call's requests may spend waiting on the network, in total. It is budgeted
    /// apart from the call's own timeout, which then counts only time not spent waiting.
    pub network_time: Duration,
}

impl Default for HttpCaps {
    fn default() -> Self {
        Self {
            max_requests: 16,
            max_concurrent: 4,
            max_request_bytes: 1 << 20,
            max_response_bytes: 4 << 20,
            network_time: Duration::from_secs(60),
        }
    }
}

/// What a module may reach: its rules (as narrowed by the operator) and its caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGrant {
    pub rules: Vec<HttpRule>,
    pub caps: HttpCaps,
}

impl HttpGrant {
    /// The grant an operator's rules leave: each pair's common part. Without operator rules
    /// the manifest's concrete rules stand and its wildcard ones admit nothing.
    pub fn narrowed(&self, operator: Option<&[HttpRule]>) -> Self {
        let rules = match operator {
            Some(operator) => self
                .rules
                .iter()
                .flat_map(|m| operator.iter().filter_map(move |o| m.narrow(o)))
                .filter(|r| !r.is_wildcard())
                .collect(),
            None => self
                .rules
                .iter()
                .filter(|r| !r.is_wildcard())
                .cloned()
                .collect(),
        };
        Self {
            rules,
            caps: self.caps.clone(),
        }
    }

    pub fn admits(&self, target: &HttpTarget<'_>) -> bool {
        self.rules.iter().any(|r| r.admits(target))
    }
}

/// What a call's outbound HTTP spent, as its receipt records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpUsage {
    /// Requests sent (whatever their status).
    pub requests: u32,
    /// Requests the host refused: not granted, over a cap, or to a forbidden address.
    pub refused: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// LLM tokens the replies reported in `usage` (OpenAI-compatible services).
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl HttpUsage {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

#[cfg(test)]
mod tests;
