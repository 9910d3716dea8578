//! Outbound HTTP for modules whose manifest grants it, through the standard `wasi:http`
//! outgoing handler: guests use ordinary wasip2 HTTP clients, and every request passes here.
//!
//! Each request is checked before anything leaves the host: the module's grant (its manifest's
//! rules as the operator narrowed them), the per-call request cap and network-time budget, and
//! the outbound policy's address rules (IP literals here, resolved names at connect time by the
//! policy's resolver). A refusal is `HttpRequestDenied` to the guest and a warning in the
//! host's log. Redirects are never followed: the guest sees the 3xx, and the next hop is a new
//! request checked like the first. Secrets never enter the guest: the operator's secret
//! headers are set here, over whatever the guest put in them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use contextworker_outbound::{OutboundPolicy, find_refusal};
use contextworker_types::{HttpGrant, HttpRule, HttpScheme, HttpTarget, HttpUsage};
use http_body_util::{BodyExt, Full, Limited};
use tokio::sync::Semaphore;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpHooks,
};

/// What the operator configures for modules' outbound HTTP.
#[derive(Debug, Clone, Default)]
pub struct HttpHostConfig {
    /// Networks admitted although not public (the fetcher's `[outbound] allow`).
    pub outbound_allow: Vec<String>,
    /// Module name → the operator's rules; a module's grant is narrowed to them.
    pub narrowing: BTreeMap<String, Vec<HttpRule>>,
    pub secrets: Vec<SecretHeader>,
}

/// A header the host sets on every request to one origin, from a secret the guest never sees.
#[derive(Clone)]
pub struct SecretHeader {
    pub scheme: HttpScheme,
    pub host: String,
    pub port: u16,
    pub header: http::HeaderName,
    pub value: http::HeaderValue,
}

impl std::fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHeader")
            .field(
                "origin",
                &format_args!("{}://{}:{}", self.scheme.as_str(), self.host, self.port),
            )
            .field("header", &self.header)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl SecretHeader {
    fn applies_to(&self, scheme: HttpScheme, host: &str, port: u16) -> bool {
        self.scheme == scheme && self.host.eq_ignore_ascii_case(host) && self.port == port
    }
}

/// The process-wide part: one connection pool behind the outbound policy.
#[derive(Debug)]
pub(crate) struct HttpHost {
    client: reqwest::Client,
    policy: OutboundPolicy,
    narrowing: BTreeMap<String, Vec<HttpRule>>,
    secrets: Vec<SecretHeader>,
}

impl HttpHost {
    pub(crate) fn new(config: &HttpHostConfig) -> Result<Self, String> {
        let policy = OutboundPolicy::from_allow_list(&config.outbound_allow)
            .map_err(|e| format!("outbound allow list: {e}"))?;
        let client = policy
            .client_builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            policy,
            narrowing: config.narrowing.clone(),
            secrets: config.secrets.clone(),
        })
    }

    /// A loaded module's effective grant: its manifest's, narrowed by the operator.
    pub(crate) fn module(&self, module: &str, grant: &HttpGrant) -> ModuleHttp {
        let grant = grant.narrowed(self.narrowing.get(module).map(Vec::as_slice));
        if grant.rules.is_empty() {
            // The normal state of a generic client (a `*` grant) the operator has not pointed
            // anywhere yet: worth a line, not a warning.
            tracing::info!(%module, "the module's [http] grant admits no destination until the host config names one ([http.{module}] allow); its requests are refused");
        }
        ModuleHttp {
            slots: Arc::new(Semaphore::new(grant.caps.max_concurrent as usize)),
            grant,
        }
    }
}

/// One loaded module's grant and its concurrency slots (shared by all its calls).
#[derive(Debug)]
pub(crate) struct ModuleHttp {
    pub(crate) grant: HttpGrant,
    slots: Arc<Semaphore>,
}

/// Time a call's requests spent on the network, read by the call's epoch deadline.
#[derive(Debug, Default)]
pub(crate) struct NetworkClock(AtomicU64);

impl NetworkClock {
    pub(crate) fn spent(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    fn add(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.0.fetch_add(micros, Ordering::Relaxed);
    }
}

/// One call's `wasi:http` state.
pub(crate) struct CallHttp {
    pub(crate) ctx: WasiHttpCtx,
    pub(crate) hooks: Hooks,
}

impl CallHttp {
    pub(crate) fn new(
        module: String,
        host: Option<Arc<HttpHost>>,
        grant: Option<Arc<ModuleHttp>>,
    ) -> Self {
        Self {
            ctx: WasiHttpCtx::new(),
            hooks: Hooks {
                module,
                host,
                grant,
                attempts: 0,
                usage: Arc::default(),
                clock: Arc::default(),
            },
        }
    }

    pub(crate) fn usage(&self) -> HttpUsage {
        *lock(&self.hooks.usage)
    }

    pub(crate) fn clock(&self) -> Arc<NetworkClock> {
        self.hooks.clock.clone()
    }
}

pub(crate) struct Hooks {
    module: String,
    host: Option<Arc<HttpHost>>,
    grant: Option<Arc<ModuleHttp>>,
    attempts: u32,
    usage: Arc<Mutex<HttpUsage>>,
    clock: Arc<NetworkClock>,
}

fn lock(usage: &Mutex<HttpUsage>) -> std::sync::MutexGuard<'_, HttpUsage> {
    usage
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request that passed the checks made before sending.
struct Cleared {
    host: Arc<HttpHost>,
    grant: Arc<ModuleHttp>,
    url: url::Url,
    scheme: HttpScheme,
    host_name: String,
    port: u16,
    remaining: Duration,
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl Hooks {
    fn refuse(&self, what: &str, why: &str) -> HttpError {
        lock(&self.usage).refused += 1;
        tracing::warn!(module = %self.module, request = %what, "outbound request refused: {why}");
        HttpError::HttpRequestDenied
    }

    fn clear(&mut self, request: &http::Request<WasiBody>) -> Result<Cleared, HttpError> {
        let uri = request.uri();
        let what = format!(
            "{} {}://{}{}",
            request.method(),
            uri.scheme_str().unwrap_or("?"),
            uri.authority().map_or("?", |a| a.as_str()),
            uri.path()
        );
        let (Some(host), Some(grant)) = (self.host.clone(), self.grant.clone()) else {
            return Err(self.refuse(&what, "the module has no [http] grant"));
        };
        self.attempts = self.attempts.saturating_add(1);
        let caps = &grant.grant.caps;
        if self.attempts > caps.max_requests {
            return Err(self.refuse(
                &what,
                &format!("over the call's cap of {} requests", caps.max_requests),
            ));
        }
        let scheme = match uri.scheme_str() {
            Some("http") => HttpScheme::Http,
            Some("https") => HttpScheme::Https,
            _ => return Err(self.refuse(&what, "the scheme is not http or https")),
        };
        let Some(host_name) = uri.host().map(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        }) else {
            return Err(self.refuse(&what, "no host"));
        };
        let port = uri.port_u16().unwrap_or_else(|| scheme.default_port());
        let target = HttpTarget {
            scheme,
            host: &host_name,
            port,
            method: request.method().as_str(),
            path: uri.path(),
        };
        if !grant.grant.admits(&target) {
            return Err(self.refuse(&what, "not in the module's grant (its manifest's [http] allow, as the operator narrowed it)"));
        }
        let remaining = caps.network_time.saturating_sub(self.clock.spent());
        if remaining.is_zero() {
            return Err(self.refuse(
                &what,
                &format!("the call's network time ({:?}) is spent", caps.network_time),
            ));
        }
        let url = url::Url::parse(&uri.to_string())
            .map_err(|e| self.refuse(&what, &format!("not a valid URL: {e}")))?;
        // Names are checked when they resolve; an IP literal never asks the resolver.
        if let Err(refusal) = host.policy.check_url(&url) {
            return Err(self.refuse(&what, &refusal.to_string()));
        }
        Ok(Cleared {
            host,
            grant,
            url,
            scheme,
            host_name,
            port,
            remaining,
        })
    }
}

/// Headers the client sets itself from the request it sends.
const CLIENT_HEADERS: [http::HeaderName; 4] = [
    http::header::HOST,
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
    http::header::CONNECTION,
];

async fn send(
    cleared: Cleared,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    usage: Arc<Mutex<HttpUsage>>,
    module: String,
) -> Result<http::Response<WasiBody>, HttpError> {
    let caps = &cleared.grant.grant.caps;
    let remaining = cleared.remaining;
    let deadline = tokio::time::Instant::now() + remaining;
    let _slot = tokio::time::timeout_at(deadline, cleared.grant.slots.clone().acquire_owned())
        .await
        .map_err(|_| HttpError::ConnectionLimitReached)?
        .map_err(|_| HttpError::ConnectionLimitReached)?;
    let (parts, body) = request.into_parts();
    let body = Limited::new(
        body,
        usize::try_from(caps.max_request_bytes).unwrap_or(usize::MAX),
    )
    .collect()
    .await
    .map_err(|_| HttpError::HttpRequestBodySize(Some(caps.max_request_bytes)))?
    .to_bytes();
    let mut headers = parts.headers;
    for name in &CLIENT_HEADERS {
        headers.remove(name);
    }
    for secret in cleared
        .host
        .secrets
        .iter()
        .filter(|s| s.applies_to(cleared.scheme, &cleared.host_name, cleared.port))
    {
        headers.insert(secret.header.clone(), secret.value.clone());
    }
    // The guest's own timeouts apply within what the call has left.
    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .map_or(remaining, |t| t.min(remaining));
    let sent_bytes = body.len() as u64;
    let reply = cleared
        .host
        .client
        .request(parts.method, cleared.url)
        .headers(headers)
        .body(body)
        .timeout(first_byte)
        .send()
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(e) => {
            if let Some(refusal) = find_refusal(&e) {
                lock(&usage).refused += 1;
                tracing::warn!(%module, "outbound request refused: {refusal}");
                return Err(HttpError::HttpRequestDenied);
            }
            lock(&usage).requests += 1;
            return Err(if e.is_timeout() {
                HttpError::ConnectionTimeout
            } else if e.is_connect() {
                HttpError::ConnectionRefused
            } else {
                HttpError::InternalError(Some(contextworker_types::error_chain(&e)))
            });
        }
    };
    {
        let mut u = lock(&usage);
        u.requests += 1;
        u.bytes_sent = u.bytes_sent.saturating_add(sent_bytes);
    }
    let status = reply.status();
    let reply_headers = reply.headers().clone();
    let body = read_capped(reply, caps.max_response_bytes, deadline).await?;
    {
        let mut u = lock(&usage);
        u.bytes_received = u.bytes_received.saturating_add(body.len() as u64);
        if let Some((prompt, completion)) = llm_usage(&reply_headers, &body) {
            u.prompt_tokens = u.prompt_tokens.saturating_add(prompt);
            u.completion_tokens = u.completion_tokens.saturating_add(completion);
        }
    }
    let mut response = http::Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    *response.headers_mut() = reply_headers;
    // The body is whole now: the length the guest reads is the one it gets.
    response
        .headers_mut()
        .remove(http::header::TRANSFER_ENCODING);
    Ok(response)
}

/// The response body, whole, refused past `max` bytes (before reading when the server says
/// its length).
async fn read_capped(
    mut reply: reqwest::Response,
    max: u64,
    deadline: tokio::time::Instant,
) -> Result<Bytes, HttpError> {
    if reply.content_length().is_some_and(|n| n > max) {
        return Err(HttpError::HttpResponseBodySize(reply.content_length()));
    }
    let mut body = bytes::BytesMut::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, reply.chunk())
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(|_| HttpError::HttpResponseIncomplete)?;
        let Some(chunk) = chunk else {
            return Ok(body.freeze());
        };
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(HttpError::HttpResponseBodySize(Some(max)));
        }
        body.extend_from_slice(&chunk);
    }
}

/// The tokens an OpenAI-compatible reply reports in `usage`.
fn llm_usage(headers: &http::HeaderMap, body: &[u8]) -> Option<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Reply {
        usage: Usage,
    }
    #[derive(serde::Deserialize)]
    struct Usage {
        #[serde(default)]
        prompt_tokens: u64,
        #[serde(default)]
        completion_tokens: u64,
    }
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !json {
        return None;
    }
    let reply: Reply = serde_json::from_slice(body).ok()?;
    Some((reply.usage.prompt_tokens, reply.usage.completion_tokens))
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let cleared = self.clear(&request);
        let usage = self.usage.clone();
        let clock = self.clock.clone();
        let module = self.module.clone();
        Box::new(async move {
            let cleared = cleared?;
            let started = Instant::now();
            let response = send(cleared, request, options, usage, module).await;
            clock.add(started.elapsed());
            let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response?, done))
        })
    }
}

#[cfg(test)]
mod tests;
