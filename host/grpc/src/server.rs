//! The tonic server: the WorkerService with message-size limits, keepalive and timeouts,
//! `grpc.health.v1` health, optional TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::pb::worker::worker_service_server::WorkerServiceServer;
use crate::service::Service;

/// Largest request or response message (a ContextUnit carrying base64 code, say).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// PEM certificate and key; plaintext when absent.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

/// Bind the listening socket first, so a port in use is reported before anything else starts.
pub fn bind(addr: SocketAddr) -> Result<TcpIncoming, ServeError> {
    TcpIncoming::bind(addr)
        .map(|incoming| {
            // Without TCP_NODELAY a small response waits for the client's delayed ACK:
            // measured ~40 ms per ExecuteCode call instead of ~2 (BENCHMARKS.md).
            incoming
                .with_nodelay(Some(true))
                .with_keepalive(Some(Duration::from_secs(60)))
        })
        .map_err(|e| ServeError::Serve {
            addr,
            reason: e.to_string(),
        })
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC TLS configuration: {0}")]
    Tls(String),
    #[error("gRPC server on {addr}: {reason}")]
    Serve { addr: SocketAddr, reason: String },
}

/// Serve until `shutdown` resolves; health reports SERVING until then, NOT_SERVING after.
pub async fn serve(
    listener: TcpIncoming,
    settings: ServerSettings,
    service: Service,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<WorkerServiceServer<Service>>().await;
    let svc = WorkerServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let mut builder = Server::builder()
        .timeout(Duration::from_secs(120))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)));
    if let Some((cert, key)) = settings.tls {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let shutdown = async move {
        shutdown.await;
        reporter
            .set_not_serving::<WorkerServiceServer<Service>>()
            .await;
    };
    tracing::info!(%addr, "gRPC WorkerService listening");
    builder
        .add_service(health)
        .add_service(svc)
        .serve_with_incoming_shutdown(listener, shutdown)
        .await
        .map_err(|e| ServeError::Serve {
            addr,
            reason: e.to_string(),
        })
}
