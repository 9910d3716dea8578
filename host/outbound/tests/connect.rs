//! The policy against real connections, on loopback only: a refused name never reaches the
//! server, an allowed one does, and an IP literal shows why callers must call `check_url`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use contextworker_outbound::{OutboundPolicy, Rule, find_refusal};

/// Bounds every request, so a policy that let a request through to a silent listener fails
/// the test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(10);

fn client(policy: &OutboundPolicy) -> reqwest::Client {
    policy
        .client_builder()
        .timeout(TIMEOUT)
        .build()
        .expect("client")
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// Answers one request with `200 OK` and body `ok`; joins to the peer's address.
fn serve_once(listener: TcpListener) -> JoinHandle<SocketAddr> {
    std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("read timeout");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).expect("read request");
            assert!(n > 0, "the client closed before sending a request");
            request.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .expect("write response");
        peer
    })
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
    let (listener, port) = listener();
    listener.set_nonblocking(true).expect("nonblocking");
    let client = client(&OutboundPolicy::default());

    for url in [
        format!("http://localhost.:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let err = client.get(&url).send().await.expect_err(&url);
        let refusal = find_refusal(&err).unwrap_or_else(|| panic!("{url}: no refusal in {err:?}"));
        assert_eq!(refusal.rule, Rule::Loopback, "{url}: {refusal}");
        assert!(
            refusal.address.is_some_and(|ip| ip.is_loopback()),
            "{refusal}"
        );
    }

    // A connection the client had made would wait in the accept queue.
    let pending = listener.accept().map(|(_, peer)| peer);
    assert_eq!(
        pending.map_err(|e| e.kind()),
        Err(ErrorKind::WouldBlock),
        "the server saw a connection"
    );
}

#[tokio::test]
async fn an_allowed_loopback_address_is_reached_through_its_name() {
    let (listener, port) = listener();
    let server = serve_once(listener);
    let policy =
        OutboundPolicy::from_allow_list(&["127.0.0.1/32".to_owned()]).expect("valid allow list");

    let response = client(&policy)
        .get(format!("http://localhost:{port}/"))
        .send()
        .await
        .expect("localhost admitted by the allow list");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "ok");
    let peer = server.join().expect("server thread");
    // ::1 is dropped by the policy, so the connection came over IPv4.
    assert!(peer.ip().is_loopback() && peer.is_ipv4(), "{peer}");
}

#[tokio::test]
async fn ip_literal_hosts_skip_the_resolver_so_callers_must_call_check_url() {
    let (listener, port) = listener();
    let server = serve_once(listener);
    let policy = OutboundPolicy::default();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");

    let refusal = policy.check_url(&url).expect_err("loopback literal");
    assert_eq!(refusal.rule, Rule::Loopback);

    // Without check_url, reqwest connects to the literal directly: the resolver never sees
    // it. If this starts failing, reqwest began resolving literals and check_url became a
    // second line of defence rather than the only one.
    let response = client(&policy)
        .get(url)
        .send()
        .await
        .expect("literal connects without asking the resolver");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    server.join().expect("server thread");
}
