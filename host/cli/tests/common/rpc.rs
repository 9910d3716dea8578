//! A gRPC client for the WorkerService of a host under test, and tokens for it.

use std::time::Duration;

use contextworker_grpc::auth::{Claims, mint_hmac};
use contextworker_grpc::pb::core::ContextUnit;
use contextworker_grpc::pb::worker::worker_service_client::WorkerServiceClient;
use contextworker_grpc::tonic::transport::Channel;
use contextworker_grpc::tonic::{Code, Request};
use contextworker_grpc::unit::{json_to_struct, struct_to_json};
use contextworker_test_support::feed_server::FeedServer;
use serde_json::Value;

use super::Harness;

pub const SECRET_ENV: &str = "CW_TEST_TOKEN_SECRET";
pub const SECRET: &str = "test-secret-with-enough-entropy-for-hmac-sha256";

pub fn claims(tenants: &[&str], permissions: &[&str], exp: Option<f64>) -> Claims {
    Claims {
        token_id: "test".into(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        allowed_tenants: tenants.iter().map(|t| (*t).to_owned()).collect(),
        exp_unix: exp,
        iat: None,
        nbf: None,
        user_id: None,
        agent_id: None,
        revocation_id: None,
    }
}

/// An hour from now: within the server's default 24-hour cap on token lifetimes.
pub fn in_an_hour() -> Option<f64> {
    Some(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            + 3600.0,
    )
}

pub fn token(tenants: &[&str]) -> String {
    mint_hmac(
        "test.v1",
        SECRET.as_bytes(),
        &claims(tenants, &["worker:*"], in_an_hour()),
    )
}

pub struct Rpc {
    pub client: WorkerServiceClient<Channel>,
}

impl Rpc {
    pub async fn connect(port: u16) -> Self {
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = WorkerServiceClient::connect(url.clone()).await {
                return Self {
                    client: client
                        .max_decoding_message_size(8 << 20)
                        .max_encoding_message_size(8 << 20),
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no gRPC server on {url}");
    }

    pub fn request(token: Option<&str>, payload: &Value) -> Request<ContextUnit> {
        let mut r = Request::new(ContextUnit {
            unit_id: uuid_like(),
            trace_id: "trace-abc".into(),
            payload: Some(json_to_struct(payload.as_object().unwrap())),
            ..ContextUnit::default()
        });
        if let Some(t) = token {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        r
    }

    /// The gRPC status of a call that is expected to fail at the transport level.
    pub async fn status_of(
        &mut self,
        rpc: &str,
        token: Option<&str>,
        payload: &Value,
    ) -> contextworker_grpc::tonic::Status {
        let req = Self::request(token, payload);
        let resp = match rpc {
            "start" => self.client.start_workflow(req).await,
            "status" => self.client.get_task_status(req).await,
            _ => self.client.execute_code(req).await,
        };
        resp.expect_err("the call fails")
    }

    /// The answer's payload, or the gRPC status when the call fails at the transport level.
    pub async fn status_or_payload(
        &mut self,
        rpc: &str,
        token: Option<&str>,
        payload: &Value,
    ) -> Result<Value, contextworker_grpc::tonic::Status> {
        let req = Self::request(token, payload);
        let resp = match rpc {
            "start" => self.client.start_workflow(req).await,
            "status" => self.client.get_task_status(req).await,
            _ => self.client.execute_code(req).await,
        }?;
        Ok(Value::Object(
            resp.into_inner()
                .payload
                .as_ref()
                .map(struct_to_json)
                .unwrap_or_default(),
        ))
    }

    pub async fn call(
        &mut self,
        rpc: &str,
        token: Option<&str>,
        payload: &Value,
    ) -> Result<Value, Code> {
        let req = Self::request(token, payload);
        let resp = match rpc {
            "start" => self.client.start_workflow(req).await,
            "status" => self.client.get_task_status(req).await,
            _ => self.client.execute_code(req).await,
        };
        match resp {
            Ok(r) => {
                let unit = r.into_inner();
                assert_eq!(unit.trace_id, "trace-abc", "the trace id is kept");
                assert!(unit.provenance.iter().any(|p| p.starts_with("worker:")));
                Ok(Value::Object(
                    unit.payload
                        .as_ref()
                        .map(struct_to_json)
                        .unwrap_or_default(),
                ))
            }
            Err(status) => Err(status.code()),
        }
    }
}

/// The `grpc.health.v1` status of the whole server, polled until `want` or 10 s.
pub async fn health_until(port: u16, want: i32) -> i32 {
    use contextworker_grpc::tonic_health::pb::HealthCheckRequest;
    use contextworker_grpc::tonic_health::pb::health_client::HealthClient;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let mut last = -1;
    for _ in 0..100 {
        last = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status)
            .unwrap_or(-1);
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// `ServingStatus::Serving` on the wire.
pub const SERVING: i32 = 1;

pub fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A host serving gRPC on `port`. Per-token rates are raised out of the way: these tests send
/// bursts to exercise other limits (`floods.rs` tests the rate limit itself).
pub fn grpc_host<'a>(h: &'a Harness, label: &str, port: u16, extra: &[&'a str]) -> super::Worker {
    let addr = format!("127.0.0.1:{port}");
    let config = h.path(&format!("{label}-grpc.toml"));
    std::fs::write(
        &config,
        "[grpc]\nrate_per_second = 100000\nrate_burst = 100000\n",
    )
    .unwrap();
    let mut args: Vec<&str> = vec![
        "--host-config",
        Box::leak(config.display().to_string().into_boxed_str()),
        "--grpc-addr",
        Box::leak(addr.into_boxed_str()),
        "--token-hmac-key",
        "test.v1=CW_TEST_TOKEN_SECRET",
        "--exec-concurrency",
        "8",
    ];
    args.extend_from_slice(extra);
    h.worker(label, &args, &[(SECRET_ENV, SECRET)])
}

/// A harness and a served one-product feed for supplier `code` of tenant `acme`.
pub async fn harness_with_supplier(code: &str) -> (Harness, FeedServer) {
    let h = Harness::start().await;
    let server = FeedServer::start();
    server.set_body(
        "<yml_catalog><shop><offers><offer id=\"a\"><name>A</name><price>1</price>\
         <currencyId>UAH</currencyId></offer></offers></shop></yml_catalog>",
        None,
    );
    h.write_supplier(code, "acme", &server.url());
    (h, server)
}
