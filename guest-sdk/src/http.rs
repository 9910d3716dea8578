//! Outbound HTTP through the host's `wasi:http` (feature `http`): one request, waited for.
//!
//! The host admits only what the module's manifest grants under `[http]` (as the operator
//! narrowed it) and sets any credentials itself: a module never holds an API key. A refused
//! request is [`HttpError::Denied`]; the host's log says why.
//!
//! ```ignore
//! let reply = contextworker_guest::http::send(&Request::post("https://router.internal/v1/chat/completions", body))?;
//! ```

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
    /// How long to wait for the reply to start; the host caps it by the call's network budget.
    pub timeout_ms: Option<u64>,
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str) -> Self {
        Self {
            method: "GET",
            url,
            headers: Vec::new(),
            body: &[],
            timeout_ms: None,
        }
    }

    /// A JSON POST.
    pub fn post_json(url: &'a str, body: &'a [u8]) -> Self {
        Self {
            method: "POST",
            url,
            headers: vec![
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            body,
            timeout_ms: None,
        }
    }
}

/// A reply, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request produced no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused it: not in the module's grant, over a cap, or a forbidden address.
    Denied,
    /// The reply is larger than the module may receive.
    TooLarge,
    /// The reply was cut short or could not be read.
    BadReply(String),
    /// No answer: the connection failed or timed out. Worth retrying later.
    Unavailable(String),
    /// The request itself is malformed (a bad URL, method or header).
    Invalid(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied => f.write_str("the host refused the request (the module's [http] grant or the host's outbound policy)"),
            Self::TooLarge => f.write_str("the reply is larger than the module may receive"),
            Self::BadReply(why) => write!(f, "bad reply: {why}"),
            Self::Unavailable(why) => write!(f, "no reply: {why}"),
            Self::Invalid(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Send `request` and wait for the whole reply.
#[cfg(target_arch = "wasm32")]
pub fn send(request: &Request<'_>) -> Result<Response, HttpError> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
    };
    use wasip2::io::streams::StreamError;

    let invalid = |what: &str| HttpError::Invalid(what.to_owned());
    let (scheme, rest) = request
        .url
        .split_once("://")
        .ok_or_else(|| invalid("the URL has no scheme"))?;
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => return Err(invalid(&format!("scheme {other:?} is not http(s)"))),
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let method = match request.method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    };
    let headers: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).map_err(|e| invalid(&format!("headers: {e:?}")))?;
    let outgoing = OutgoingRequest::new(fields);
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(authority))
        .map_err(|()| invalid("host"))?;
    outgoing
        .set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;
    let body = outgoing.body().map_err(|()| invalid("body"))?;
    let options = request.timeout_ms.map(|ms| {
        let options = RequestOptions::new();
        let _ = options.set_first_byte_timeout(Some(ms.saturating_mul(1_000_000)));
        options
    });
    // Hand the request over first: the host reads the body while it is written (the stream
    // buffers one chunk, so writing all of it first would wait forever).
    let future = outgoing_handler::handle(outgoing, options).map_err(|e| from_code(&e))?;
    let sent = write_body(body, request.body);
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        // A refused request closes the body stream: its error is the reply's, not the write's.
        Some(Ok(Err(e))) => return Err(from_code(&e)),
        Some(Err(())) | None => return Err(HttpError::Unavailable("the reply was lost".into())),
    };
    sent?;
    let status = response.status();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::BadReply("no body".into()))?;
    let stream = incoming
        .stream()
        .map_err(|()| HttpError::BadReply("no body stream".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(HttpError::BadReply(e.to_debug_string()));
            }
        }
    }
    return Ok(Response {
        status,
        body: bytes,
    });

    fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
        {
            let stream = body
                .write()
                .map_err(|()| HttpError::Invalid("body stream".into()))?;
            // A blocking write takes at most 4096 bytes.
            for chunk in bytes.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Unavailable(format!("sending the body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|e| from_code(&e))
    }

    fn from_code(e: &ErrorCode) -> HttpError {
        match e {
            ErrorCode::HttpRequestDenied => HttpError::Denied,
            ErrorCode::HttpResponseBodySize(_) => HttpError::TooLarge,
            ErrorCode::HttpResponseIncomplete => HttpError::BadReply("cut short".into()),
            ErrorCode::HttpRequestBodySize(_) => {
                HttpError::Invalid("the request body is larger than the module may send".into())
            }
            ErrorCode::HttpRequestMethodInvalid | ErrorCode::HttpRequestUriInvalid => {
                HttpError::Invalid(format!("{e:?}"))
            }
            other => HttpError::Unavailable(format!("{other:?}")),
        }
    }
}

/// Natively (unit tests, benchmarks) there is no host to send through.
#[cfg(not(target_arch = "wasm32"))]
pub fn send(request: &Request<'_>) -> Result<Response, HttpError> {
    Err(HttpError::Unavailable(format!(
        "{} {}: requests are sent only inside the sandbox (a wasm32 build)",
        request.method, request.url
    )))
}
