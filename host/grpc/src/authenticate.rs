//! The token check in front of every WorkerService request, from its metadata only.

use std::sync::Arc;

use contextworker_auth::{AuthError, Verifier};
use tonic::{Request, Status};

/// The one answer every unauthenticated request gets, whatever was wrong with its token: a
/// caller without a valid token learns nothing (which key ids exist, whether a signature was
/// close). The reason is logged on the server.
pub const UNAUTHENTICATED: &str = "missing or invalid token";

/// Checks the token of every WorkerService request from its metadata, before tonic decodes
/// the body, and hands the claims to the handler in the request's extensions.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<Verifier>,
}

impl Authenticator {
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self { verifier }
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata();
        let token = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| {
                metadata
                    .get("x-context-token")
                    .and_then(|v| v.to_str().ok())
            });
        let verified = match token {
            Some(token) => self.verifier.verify(token, unix_now()),
            None => Err(AuthError::Missing),
        };
        match verified {
            Ok(claims) => {
                request.extensions_mut().insert(claims);
                Ok(request)
            }
            Err(e) => {
                // `?`: the reason may quote the caller's key id; Debug escapes it.
                tracing::info!(reason = ?e.to_string(), "gRPC request refused: unauthenticated");
                Err(Status::unauthenticated(UNAUTHENTICATED))
            }
        }
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
