//! A `code` guest that misbehaves on request, for the sandbox's tests. The input names the
//! behaviour, optionally followed by `:` and an argument:
//!
//! | input              | what it does                                                   |
//! |--------------------|----------------------------------------------------------------|
//! | `ok`               | returns "ok"                                                   |
//! | `loop`             | spins forever                                                  |
//! | `alloc`            | allocates and touches 1 MiB blocks until memory runs out       |
//! | `recurse`          | recurses without bound (wasm call stack)                        |
//! | `recurse-frames`   | recurses without bound with big frames (Rust's shadow stack)    |
//! | `huge-output:N`    | returns N MiB of text                                          |
//! | `huge-stdout:N`    | prints N MiB to stdout, then returns "printed"                 |
//! | `panic`            | panics with a message                                          |
//! | `read-file:PATH`   | tries to read PATH; reports the outcome as JSON                |
//! | `write-file:PATH`  | tries to create PATH                                           |
//! | `list-dir:PATH`    | tries to list PATH                                             |
//! | `socket:ADDR`      | tries to open a TCP connection to ADDR                         |
//! | `udp:ADDR`         | tries to send a UDP datagram to ADDR                           |
//! | `dns:NAME`         | tries to resolve NAME                                          |
//! | `env`              | reports the environment variables and arguments it can see     |
//! | `busy:MS`          | spins for MS milliseconds of guest time, then returns "done"   |
//! | `log-flood:N`      | N log records, each a 64 KiB message with 64 fields of 4 KiB    |
//! | `log-huge:N`       | one log record whose message is N MiB                          |
//! | `huge-error-kib:N` | fails with an `invalid-input` message of N KiB                  |
//! | `wall-clock`       | reports the wall-clock time it sees, in seconds since 1970     |
//!
//! Probe outcomes are `{"probe":…,"outcome":"denied"|"allowed","detail":…}`.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write;

use contextworker_guest::{Code, Config, Data, ModuleError};

pub struct Hostile;

impl Code for Hostile {
    fn run(input: Data, _config: &Config) -> Result<Data, ModuleError> {
        let text = String::from_utf8_lossy(input.as_bytes()).into_owned();
        let (mode, arg) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let out = match mode {
            "ok" => "ok".to_owned(),
            "loop" => spin_forever(),
            "alloc" => allocate_forever(),
            "recurse" => format!("{}", recurse(black_box(1))),
            "recurse-frames" => format!("{}", recurse_frames(black_box(1))),
            "huge-output" => "x".repeat(mebibytes(arg) << 20),
            "huge-stdout" => {
                let line = "y".repeat(1023) + "\n";
                let mut stdout = std::io::stdout();
                for _ in 0..(mebibytes(arg) << 10) {
                    if stdout.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                }
                "printed".to_owned()
            }
            "panic" => panic!("hostile guest panics on request"),
            "read-file" => probe(
                "read-file",
                std::fs::read_to_string(arg).map(|s| format!("{} bytes", s.len())),
            ),
            "write-file" => probe(
                "write-file",
                std::fs::write(arg, b"pwned").map(|()| "written".to_owned()),
            ),
            "list-dir" => probe(
                "list-dir",
                std::fs::read_dir(arg).map(|d| format!("{} entries", d.count())),
            ),
            "socket" => probe(
                "socket",
                std::net::TcpStream::connect(arg).map(|_| "connected".to_owned()),
            ),
            "udp" => probe(
                "udp",
                std::net::UdpSocket::bind("0.0.0.0:0")
                    .and_then(|s| s.send_to(b"x", arg))
                    .map(|n| format!("sent {n}")),
            ),
            "dns" => probe(
                "dns",
                std::net::ToSocketAddrs::to_socket_addrs(&(arg, 80))
                    .map(|a| format!("{} addresses", a.count())),
            ),
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                let args: Vec<String> = std::env::args().collect();
                format!(
                    r#"{{"probe":"env","vars":{},"args":{}}}"#,
                    vars.len(),
                    args.len().saturating_sub(1)
                )
            }
            "busy" => {
                let ms: u64 = arg.parse().unwrap_or(10);
                let start = contextworker_guest::monotonic_now();
                while (contextworker_guest::monotonic_now() - start).as_millis() < u128::from(ms) {
                    black_box(());
                }
                "done".to_owned()
            }
            "log-flood" => {
                let records: usize = arg.parse().unwrap_or(100);
                let message = "m".repeat(64 * 1024);
                let fields: Vec<(&str, String)> =
                    (0..64).map(|_| ("field", "v\n".repeat(2048))).collect();
                for _ in 0..records {
                    contextworker_guest::log::log(
                        contextworker_guest::log::Level::Info,
                        &message,
                        &fields,
                    );
                }
                "logged".to_owned()
            }
            "log-huge" => {
                let message = "h".repeat(mebibytes(arg) << 20);
                contextworker_guest::log::log(contextworker_guest::log::Level::Info, &message, &[]);
                "logged".to_owned()
            }
            "huge-error-kib" => {
                let kib: usize = arg.parse().unwrap_or(1024);
                return Err(ModuleError::invalid_input("e".repeat(kib << 10)));
            }
            "wall-clock" => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs().to_string())
                .unwrap_or_else(|e| format!("before 1970: {e}")),
            other => {
                return Err(ModuleError::invalid_input(format!(
                    "unknown behaviour {other:?}"
                )));
            }
        };
        Ok(Data::Text(out))
    }
}

contextworker_guest::export_code!(Hostile);

fn mebibytes(arg: &str) -> usize {
    arg.parse().unwrap_or(8)
}

fn probe(name: &str, outcome: std::io::Result<String>) -> String {
    let (outcome, detail) = match outcome {
        Ok(detail) => ("allowed", detail),
        Err(e) => ("denied", e.to_string()),
    };
    format!(
        r#"{{"probe":"{name}","outcome":"{outcome}","detail":{:?}}}"#,
        detail
    )
}

fn spin_forever() -> String {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn allocate_forever() -> String {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        // Touch every page so the memory is really committed.
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        blocks.push(black_box(block));
    }
}

/// Plain values only: every frame lives on the wasm call stack, which wasmtime bounds.
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        0
    } else {
        recurse(depth + 1).wrapping_add(black_box(1))
    }
}

/// An array whose address escapes lives on Rust's shadow stack in linear memory, which
/// grows down from 1 MiB toward address 0.
fn recurse_frames(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(depth) == u64::MAX {
        0
    } else {
        recurse_frames(depth + 1).wrapping_add(frame[3])
    }
}
