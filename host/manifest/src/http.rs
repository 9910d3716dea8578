//! `[http]`: the outbound HTTP a module asks for, checked into an [`HttpGrant`].

use std::time::Duration;

use contextworker_types::{HttpCaps, HttpGrant, HttpRule, World};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpToml {
    /// `METHODS scheme://host[:port]/path-prefix` lines.
    allow: Vec<String>,
    max_requests: Option<u32>,
    max_concurrent: Option<u32>,
    max_request_kb: Option<u64>,
    max_response_kb: Option<u64>,
    network_timeout_ms: Option<u64>,
}

/// Each cap's range: enough for an API client, small enough that one module cannot hold the
/// host's sockets or memory.
const MAX_REQUESTS: u32 = 1000;
const MAX_CONCURRENT: u32 = 64;
const MAX_REQUEST_KB: u64 = 16 * 1024;
const MAX_RESPONSE_KB: u64 = 64 * 1024;
const MAX_NETWORK_MS: u64 = 600_000;

pub(crate) fn resolve(raw: &HttpToml, world: World) -> Result<HttpGrant, (String, String)> {
    if world == World::Code {
        return Err((
            "http".into(),
            "code modules never reach the network (their code comes from callers)".into(),
        ));
    }
    if raw.allow.is_empty() {
        return Err((
            "http.allow".into(),
            "names no destination; leave `[http]` out for a module without network".into(),
        ));
    }
    let rules = raw
        .allow
        .iter()
        .enumerate()
        .map(|(i, line)| {
            HttpRule::parse(line).map_err(|e| (format!("http.allow[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut caps = HttpCaps::default();
    let range = |field: &str, value: u64, max: u64| -> Result<u64, (String, String)> {
        if (1..=max).contains(&value) {
            Ok(value)
        } else {
            Err((
                format!("http.{field}"),
                format!("{value} is outside 1..={max}"),
            ))
        }
    };
    if let Some(n) = raw.max_requests {
        caps.max_requests = range("max_requests", n.into(), MAX_REQUESTS.into())? as u32;
    }
    if let Some(n) = raw.max_concurrent {
        caps.max_concurrent = range("max_concurrent", n.into(), MAX_CONCURRENT.into())? as u32;
    }
    if let Some(kb) = raw.max_request_kb {
        caps.max_request_bytes = range("max_request_kb", kb, MAX_REQUEST_KB)? * 1024;
    }
    if let Some(kb) = raw.max_response_kb {
        caps.max_response_bytes = range("max_response_kb", kb, MAX_RESPONSE_KB)? * 1024;
    }
    if let Some(ms) = raw.network_timeout_ms {
        caps.network_time = Duration::from_millis(range("network_timeout_ms", ms, MAX_NETWORK_MS)?);
    }
    Ok(HttpGrant { rules, caps })
}
