//! The tonic server: the WorkerService behind the token check, with message-size limits,
//! bounded connections, streams and flow-control windows, handshake timeouts, keepalive, and
//! `grpc.health.v1` health, optionally over TLS.
//!
//! Every limit here is a resource a hostile peer could otherwise take without authenticating:
//! file descriptors and memory (connections that never speak, thousands of streams on one
//! connection, request bodies buffered before the token is read), and CPU (reset floods).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::authenticate::Authenticator;
use crate::pb::worker::worker_service_server::WorkerServiceServer;
use crate::service::Service;

/// Largest request or response message (a ContextUnit carrying base64 code, say).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Transport limits; the defaults suit a service host behind a load balancer.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// PEM certificate and key; plaintext when absent.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// PEM CA certificate(s): with TLS, clients must present a certificate signed by one (mTLS).
    pub client_ca: Option<Vec<u8>>,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection (the SETTINGS value; h2 refuses the excess).
    pub max_streams_per_connection: u32,
    /// A connection must send its first bytes (TLS hello or HTTP/2 preface) within this, and
    /// a TLS handshake must finish within it.
    pub handshake_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            tls: None,
            client_ca: None,
            max_connections: 512,
            max_streams_per_connection: 64,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Bind the listening socket first, so a port in use is reported before anything else starts.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    let serve_error = |e: std::io::Error| ServeError::Serve {
        addr,
        reason: e.to_string(),
    };
    let std_listener = std::net::TcpListener::bind(addr).map_err(serve_error)?;
    std_listener.set_nonblocking(true).map_err(serve_error)?;
    TcpListener::from_std(std_listener).map_err(serve_error)
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC TLS configuration: {0}")]
    Tls(String),
    #[error("gRPC server on {addr}: {reason}")]
    Serve { addr: SocketAddr, reason: String },
}

/// An accepted connection that holds one of the server's connection slots until it closes.
struct Limited {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl Connected for Limited {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accept connections within the cap: a connection over it is closed at once; one that sends
/// nothing within the handshake timeout is closed then, so idle sockets cannot hold the slots.
/// Accept errors (out of file descriptors, say) pause the loop briefly instead of ending it.
fn accept_loop(
    listener: TcpListener,
    settings: &ServerSettings,
    shutdown: tokio_util::sync::CancellationToken,
) -> mpsc::Receiver<std::io::Result<Limited>> {
    let (tx, rx) = mpsc::channel(64);
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let first_bytes = settings.handshake_timeout;
    tokio::spawn(async move {
        let mut refused: u64 = 0;
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
                a = listener.accept() => a,
            };
            let (stream, _peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("gRPC accept failed: {e}; pausing accepts for 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refused += 1;
                if refused.is_power_of_two() {
                    tracing::warn!(
                        refused,
                        "gRPC connection cap reached; closing new connections"
                    );
                }
                drop(stream);
                continue;
            };
            // Without TCP_NODELAY a small response waits for the client's delayed ACK:
            // measured ~40 ms per ExecuteCode call instead of ~2 (BENCHMARKS.md).
            let _ = stream.set_nodelay(true);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut probe = [0u8; 1];
                match tokio::time::timeout(first_bytes, stream.peek(&mut probe)).await {
                    Ok(Ok(n)) if n > 0 => {
                        let _ = tx
                            .send(Ok(Limited {
                                stream,
                                _slot: slot,
                            }))
                            .await;
                    }
                    // Closed, failed or silent: drop it and free the slot.
                    _ => {}
                }
            });
        }
    });
    rx
}

/// Serve until `shutdown` resolves. Health (`grpc.health.v1`, for the WorkerService and the
/// server as a whole) is NOT_SERVING until `ready` resolves (the worker polls), SERVING from
/// then, NOT_SERVING again from shutdown.
pub async fn serve(
    listener: TcpListener,
    settings: ServerSettings,
    service: Service,
    authenticator: Authenticator,
    ready: impl Future<Output = ()> + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_not_serving::<WorkerServiceServer<Service>>()
        .await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    let on_ready = reporter.clone();
    let becoming_ready = tokio::spawn(async move {
        ready.await;
        on_ready.set_serving::<WorkerServiceServer<Service>>().await;
        on_ready
            .set_service_status("", ServingStatus::Serving)
            .await;
    });
    let svc = InterceptedService::new(
        WorkerServiceServer::new(service)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
        authenticator,
    );
    let mut builder = Server::builder()
        .timeout(Duration::from_secs(120))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .max_concurrent_streams(settings.max_streams_per_connection)
        .concurrency_limit_per_connection(settings.max_streams_per_connection as usize)
        // Flow-control windows bound what a peer can make the server buffer per stream and
        // per connection before anything reads it (defaults: h2's 64 KiB/stream; tonic
        // leaves the connection window to h2). Bodies of unauthenticated requests are never
        // read, so they cannot grow past these.
        .initial_stream_window_size(1024 * 1024)
        .initial_connection_window_size(2 * 1024 * 1024)
        .http2_max_header_list_size(16 * 1024)
        // Rapid-reset floods (CVE-2023-44487 and h2's later variants): a peer that keeps
        // resetting streams, or makes the server reset them, gets a GOAWAY.
        .http2_max_pending_accept_reset_streams(Some(20))
        .http2_max_local_error_reset_streams(Some(256));
    if let Some((cert, key)) = settings.tls.clone() {
        let mut tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(cert, key))
            .timeout(settings.handshake_timeout);
        if let Some(ca) = settings.client_ca.clone() {
            tls = tls.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder
            .tls_config(tls)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    } else if settings.client_ca.is_some() {
        return Err(ServeError::Tls(
            "a client CA (mTLS) needs the server's own certificate and key too".to_owned(),
        ));
    }
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let stop_accepting = tokio_util::sync::CancellationToken::new();
    let incoming = tokio_stream_of(accept_loop(listener, &settings, stop_accepting.clone()));
    let shutdown = async move {
        shutdown.await;
        stop_accepting.cancel();
        becoming_ready.abort();
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        reporter
            .set_not_serving::<WorkerServiceServer<Service>>()
            .await;
    };
    tracing::info!(%addr, "gRPC WorkerService listening");
    builder
        .add_service(health)
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ServeError::Serve {
            addr,
            reason: e.to_string(),
        })
}

/// The receiver as a `Stream`, which is what tonic's incoming takes.
fn tokio_stream_of(
    mut rx: mpsc::Receiver<std::io::Result<Limited>>,
) -> impl futures::Stream<Item = std::io::Result<Limited>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
