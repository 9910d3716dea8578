//! The tonic server: the WorkerService with message-size limits, keepalive and timeouts,
//! `grpc.health.v1` health, optional TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::pb::worker::worker_service_server::WorkerServiceServer;
use crate::service::Service;

/// Largest request or response message (a ContextUnit carrying base64 code, say).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// PEM certificate and key; plaintext when absent.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// PEM CA certificate(s): with TLS, clients must present a certificate signed by one (mTLS).
    pub client_ca: Option<Vec<u8>>,
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

/// Serve until `shutdown` resolves. Health (`grpc.health.v1`, for the WorkerService and the
/// server as a whole) is NOT_SERVING until `ready` resolves (the worker polls), SERVING from
/// then, NOT_SERVING again from shutdown.
pub async fn serve(
    listener: TcpIncoming,
    settings: ServerSettings,
    service: Service,
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
    let svc = WorkerServiceServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let mut builder = Server::builder()
        .timeout(Duration::from_secs(120))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)));
    if let Some((cert, key)) = settings.tls {
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = settings.client_ca {
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
    let shutdown = async move {
        shutdown.await;
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
        .serve_with_incoming_shutdown(listener, shutdown)
        .await
        .map_err(|e| ServeError::Serve {
            addr,
            reason: e.to_string(),
        })
}
