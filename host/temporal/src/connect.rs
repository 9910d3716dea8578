//! Connecting to Temporal with validated settings, and saying what to do when it fails.

use std::str::FromStr;
use std::time::Duration;

use contextworker_config::{TemporalAuth, TemporalSettings};
use temporalio_client::{
    Client, ClientOptions, ClientTlsOptions, Connection, ConnectionOptions, TlsOptions, Url,
};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("Temporal address {address:?} is not usable: {reason}")]
    Address { address: String, reason: String },
    #[error("cannot read {which} {}: {source}", path.display())]
    ReadFile {
        which: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot reach the Temporal server at {address} (namespace {namespace}): {reason}\n\
         Start a local one with `temporal server start-dev`, or run with --dev to have the host start it."
    )]
    Unreachable {
        address: String,
        namespace: String,
        reason: String,
    },
    #[error("Temporal client for {address}: {reason}")]
    Client { address: String, reason: String },
}

/// How long to try to reach the server before saying it is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connect(settings: &TemporalSettings, identity: &str) -> Result<Client, ConnectError> {
    let tls = !matches!(settings.auth, TemporalAuth::None);
    let scheme = if tls { "https" } else { "http" };
    let url = Url::from_str(&format!("{scheme}://{}", settings.address)).map_err(|e| {
        ConnectError::Address {
            address: settings.address.clone(),
            reason: e.to_string(),
        }
    })?;
    let read = |which: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|source| ConnectError::ReadFile {
            which,
            path: path.to_path_buf(),
            source,
        })
    };
    // The SDK does not turn TLS on for an API key by itself (research notes §1): set it here.
    let tls_options = match &settings.auth {
        TemporalAuth::None => None,
        TemporalAuth::ApiKey(_) => Some(TlsOptions::default()),
        TemporalAuth::MutualTls { cert, key } => Some(
            TlsOptions::builder()
                .client_tls_options(
                    ClientTlsOptions::builder()
                        .client_cert(read("TEMPORAL_TLS_CERT", cert)?)
                        .client_private_key(read("TEMPORAL_TLS_KEY", key)?)
                        .build(),
                )
                .build(),
        ),
    };
    let api_key = match &settings.auth {
        TemporalAuth::ApiKey(key) => Some(key.clone()),
        _ => None,
    };
    let options = ConnectionOptions::new(url)
        .identity(identity.to_owned())
        .maybe_tls_options(tls_options)
        .maybe_api_key(api_key)
        .connect_timeout(CONNECT_TIMEOUT)
        .build();
    let unreachable = |reason: String| ConnectError::Unreachable {
        address: settings.address.clone(),
        namespace: settings.namespace.clone(),
        reason,
    };
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(options))
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(contextworker_types::error_chain(&e)))?;
    Client::new(
        connection,
        ClientOptions::new(settings.namespace.clone()).build(),
    )
    .map_err(|e| ConnectError::Client {
        address: settings.address.clone(),
        reason: e.to_string(),
    })
}

/// One round trip to the Temporal frontend (`GetSystemInfo`): for readiness checks.
pub async fn reachable(client: &Client) -> Result<(), String> {
    use temporalio_client::grpc::WorkflowService;
    use temporalio_client::tonic::IntoRequest as _;
    let request =
        temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest::default();
    WorkflowService::get_system_info(&mut client.clone(), request.into_request())
        .await
        .map(drop)
        .map_err(|status| status.message().to_owned())
}

/// `<pid>@<hostname>`, Temporal's usual worker identity.
pub fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{}@{host}", std::process::id())
}
