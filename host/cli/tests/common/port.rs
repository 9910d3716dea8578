//! Ports for the servers under test. Shared by the tests that run the binary with a Temporal
//! server (through `common`) and those that run it alone.

/// A port free for listening, below the kernel's ephemeral range (32768 and up by default):
/// a port from port 0 is an ephemeral one, which any outgoing connection of a test running in
/// parallel may take as its source port before the server under test binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = u16::try_from(std::process::id() % 6000).unwrap_or(0);
    let _ = NEXT.compare_exchange(0, 20_000 + seed * 2, Ordering::SeqCst, Ordering::SeqCst);
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = 20_000 + port.wrapping_sub(20_000) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
