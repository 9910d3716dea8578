//! An OpenAI-compatible chat-completions server on loopback for tests, with the ways a real
//! one misbehaves. It classifies each product of the gardener's `[{id, name, category}]` by a
//! keyword in its name (`jacket` → `clothing.jackets`, `boot` → `footwear.boots`, else
//! `accessories`), reports 10 tokens per product in `usage`, and records what it was sent.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http1::{Request, read_request, write_response};

/// How the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A JSON array as the message content.
    Plain,
    /// The array inside a markdown fence with prose around it.
    Fenced,
    /// This status and a short JSON error.
    Status(u16),
    /// Wait, then answer plainly.
    Slow(Duration),
    /// A body that is not JSON.
    Malformed,
    /// Every second product left out of the answer.
    MissingIds,
    /// An id the request did not have, besides the real ones.
    ExtraIds,
    /// A reply of this many bytes (padding in a field).
    Oversized(usize),
}

#[derive(Debug)]
struct State {
    mode: Mode,
    /// Answers with this status before `mode` applies, one per request.
    fail_first: Vec<u16>,
    seen: Vec<Request>,
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct LlmServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

pub const TOKENS_PER_PRODUCT: u64 = 10;

impl LlmServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Plain,
            fail_first: Vec::new(),
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &s);
                });
            }
        });
        Self { addr, state, stop }
    }

    /// The API root to configure as `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("lock").mode = mode;
    }

    /// Answer the next requests with these statuses, in order, then as the mode says.
    pub fn fail_first(&self, statuses: &[u16]) {
        self.state.lock().expect("lock").fail_first = statuses.to_vec();
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Request> {
        self.state.lock().expect("lock").seen.clone()
    }
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// The category the server picks for a product name.
pub fn category_for(name: &str) -> &'static str {
    let name = name.to_lowercase();
    if name.contains("jacket") {
        "clothing.jackets"
    } else if name.contains("boot") {
        "footwear.boots"
    } else {
        "accessories"
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let request = read_request(&stream)?;
    let (mode, forced) = {
        let mut s = state.lock().expect("lock");
        s.seen.push(request.clone());
        let forced = (!s.fail_first.is_empty()).then(|| s.fail_first.remove(0));
        (s.mode.clone(), forced)
    };
    if request.method != "POST" || request.path != "/v1/chat/completions" {
        return write_response(
            stream,
            404,
            "application/json",
            br#"{"error":"not found"}"#,
            &[],
        );
    }
    if let Some(code) = forced {
        return write_response(
            stream,
            code,
            "application/json",
            br#"{"error":"forced"}"#,
            &[],
        );
    }
    let products = products_of(&request.body);
    let mut answers: Vec<Value> = products
        .iter()
        .enumerate()
        .filter(|(i, _)| mode != Mode::MissingIds || i % 2 == 0)
        .map(|(_, (id, name))| {
            json!({"id": id, "category": category_for(name), "color": "black", "gender": "unisex", "confidence": 0.9})
        })
        .collect();
    if mode == Mode::ExtraIds {
        answers.push(json!({"id": "not-in-the-request", "category": "accessories"}));
    }
    let array = Value::Array(answers).to_string();
    let content = match mode {
        Mode::Fenced => {
            format!("Sure! Here are the classifications:\n```json\n{array}\n```\nAnything else?")
        }
        _ => array,
    };
    let tokens = TOKENS_PER_PRODUCT * products.len() as u64;
    let mut reply = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens / 2, "completion_tokens": tokens - tokens / 2, "total_tokens": tokens},
    });
    match mode {
        Mode::Status(code) => write_response(
            stream,
            code,
            "application/json",
            br#"{"error":{"message":"mode"}}"#,
            &[],
        ),
        Mode::Malformed => write_response(stream, 200, "application/json", b"{\"choices\": [", &[]),
        Mode::Slow(delay) => {
            std::thread::sleep(delay);
            write_response(
                stream,
                200,
                "application/json",
                reply.to_string().as_bytes(),
                &[],
            )
        }
        Mode::Oversized(bytes) => {
            reply["padding"] = Value::String("x".repeat(bytes));
            write_response(
                stream,
                200,
                "application/json",
                reply.to_string().as_bytes(),
                &[],
            )
        }
        _ => write_response(
            stream,
            200,
            "application/json",
            reply.to_string().as_bytes(),
            &[],
        ),
    }
}

/// `(id, name)` of each product in the user message.
fn products_of(body: &[u8]) -> Vec<(String, String)> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("[]");
    let items: Vec<Value> = serde_json::from_str(user).unwrap_or_default();
    items
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default().to_owned(),
                i["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
