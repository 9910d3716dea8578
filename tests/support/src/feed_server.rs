//! A small HTTP/1.1 feed server on loopback for tests: serves one body at `/feed` (and any
//! other path with 404), honours `If-None-Match`, can require a bearer token, answer with a
//! forced status, and counts requests. Plain `std` so any test can use it, async or not.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http1::{Request, header, read_request, write_response};

#[derive(Debug, Default)]
struct State {
    body: Vec<u8>,
    etag: Option<String>,
    token: Option<String>,
    status: Option<u16>,
    delay: Option<Duration>,
    /// Path → where a 302 sends it.
    redirects: Vec<(String, String)>,
    /// Every request seen: its path and headers (names lowercased).
    seen: Vec<(String, Vec<(String, String)>)>,
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct FeedServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FeedServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, r, st) = (state.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, r) = (s.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &s, &r);
                });
            }
        });
        Self {
            addr,
            state,
            requests,
            stop,
        }
    }

    /// The feed's URL.
    pub fn url(&self) -> String {
        format!("http://{}/feed", self.addr)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serve `body` from now on, with `etag` if given (then `If-None-Match` gets a 304).
    pub fn set_body(&self, body: impl Into<Vec<u8>>, etag: Option<&str>) {
        let mut state = self.state.lock().expect("lock");
        state.body = body.into();
        state.etag = etag.map(str::to_owned);
    }

    /// Answer 401 unless `Authorization: Bearer <token>` is sent.
    pub fn require_bearer(&self, token: &str) {
        self.state.lock().expect("lock").token = Some(token.to_owned());
    }

    /// Answer every request with this status (and an empty body).
    pub fn force_status(&self, status: Option<u16>) {
        self.state.lock().expect("lock").status = status;
    }

    /// Wait this long before answering.
    pub fn delay(&self, delay: Option<Duration>) {
        self.state.lock().expect("lock").delay = delay;
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Answer requests for `path` with `302 Found` to `location`.
    pub fn redirect(&self, path: &str, location: &str) {
        self.state
            .lock()
            .expect("lock")
            .redirects
            .push((path.to_owned(), location.to_owned()));
    }

    /// Every request so far: its path and its headers, names lowercased.
    pub fn seen(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.state.lock().expect("lock").seen.clone()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, requests: &AtomicUsize) -> std::io::Result<()> {
    let Request { path, headers, .. } = read_request(&stream)?;
    requests.fetch_add(1, Ordering::SeqCst);
    let path = path.as_str();
    let (body, etag, token, status, delay, redirect) = {
        let mut s = state.lock().expect("lock");
        s.seen.push((path.to_owned(), headers.clone()));
        let redirect = s
            .redirects
            .iter()
            .find(|(from, _)| from == path)
            .map(|(_, to)| to.clone());
        (
            s.body.clone(),
            s.etag.clone(),
            s.token.clone(),
            s.status,
            s.delay,
            redirect,
        )
    };
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let (code, body, extra): (u16, Vec<u8>, Vec<String>) = if let Some(code) = status {
        (code, Vec::new(), vec![])
    } else if let Some(location) = redirect {
        (302, Vec::new(), vec![format!("Location: {location}")])
    } else if path.split('?').next() != Some("/feed") {
        (404, b"not found".to_vec(), vec![])
    } else if token
        .is_some_and(|t| header(&headers, "authorization") != Some(&format!("Bearer {t}")))
    {
        (401, b"unauthorized".to_vec(), vec![])
    } else if etag.is_some() && header(&headers, "if-none-match") == etag.as_deref() {
        (304, Vec::new(), vec![])
    } else {
        let extra = etag.map(|e| format!("ETag: {e}")).into_iter().collect();
        (200, body, extra)
    };
    write_response(stream, code, "application/octet-stream", &body, &extra)
}
