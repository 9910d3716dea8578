//! A gRPC client for the WorkerService of a host under test, and tokens for it.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use contextworker_grpc::auth::{Claims, mint_hmac};
use contextworker_grpc::pb::core::ContextUnit;
use contextworker_grpc::pb::worker::worker_service_client::WorkerServiceClient;
use contextworker_grpc::tonic::transport::Channel;
use contextworker_grpc::tonic::{Code, Request, Status};
use contextworker_grpc::unit::{json_to_struct, struct_to_json};
use contextworker_test_support::feed_server::FeedServer;
use serde_json::Value;

use super::{Harness, Worker, free_port, poll_until};

pub const SECRET_ENV: &str = "CW_TEST_TOKEN_SECRET";
pub const SECRET: &str = "test-secret-with-enough-entropy-for-hmac-sha256";

pub fn claims(tenants: &[&str], permissions: &[&str], exp: Option<f64>) -> Claims {
    Claims::new("test", permissions, tenants, exp)
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
    signed(tenants, &["worker:*"], in_an_hour())
}

/// A token signed with the test key: right or wrong only in its claims.
pub fn signed(tenants: &[&str], permissions: &[&str], exp: Option<f64>) -> String {
    mint_hmac(
        "test.v1",
        SECRET.as_bytes(),
        &claims(tenants, permissions, exp),
    )
}

/// A client of its own per clone, over the same channel: for concurrent calls.
#[derive(Clone)]
pub struct Rpc {
    pub client: WorkerServiceClient<Channel>,
    /// The server's port on loopback.
    pub port: u16,
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
                    port,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no gRPC server on {url}");
    }

    /// A client on a connection of its own to the same server.
    pub async fn reconnect(&self) -> Self {
        Self::connect(self.port).await
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

    /// Send `payload` to `rpc` (`start`, `status`, `schedules` or `exec`).
    async fn send(
        &mut self,
        rpc: &str,
        token: Option<&str>,
        payload: &Value,
    ) -> Result<ContextUnit, Status> {
        let req = Self::request(token, payload);
        let resp = match rpc {
            "start" => self.client.start_workflow(req).await,
            "status" => self.client.get_task_status(req).await,
            "schedules" => self.client.register_schedules(req).await,
            _ => self.client.execute_code(req).await,
        };
        resp.map(contextworker_grpc::tonic::Response::into_inner)
    }

    /// The gRPC status of a call that is expected to fail at the transport level.
    pub async fn status_of(&mut self, rpc: &str, token: Option<&str>, payload: &Value) -> Status {
        self.send(rpc, token, payload)
            .await
            .expect_err("the call fails")
    }

    /// The answer's payload, or the gRPC status when the call fails at the transport level.
    /// Every answer keeps the request's trace id and names the worker in its provenance.
    pub async fn status_or_payload(
        &mut self,
        rpc: &str,
        token: Option<&str>,
        payload: &Value,
    ) -> Result<Value, Status> {
        let unit = self.send(rpc, token, payload).await?;
        assert_eq!(unit.trace_id, "trace-abc", "the trace id is kept");
        assert!(unit.provenance.iter().any(|p| p.starts_with("worker:")));
        Ok(payload_of(&unit))
    }

    /// A call that must be answered with a payload (which may hold a typed error).
    pub async fn answer(&mut self, rpc: &str, token: &str, payload: &Value) -> Value {
        self.status_or_payload(rpc, Some(token), payload)
            .await
            .unwrap_or_else(|status| panic!("{rpc} failed with {:?}", status.code()))
    }

    /// The same call `n` times at once, each on its own clone; the answers, which must all
    /// be payloads.
    pub async fn call_concurrently(
        &self,
        n: usize,
        rpc: &'static str,
        token: &str,
        payload: &Value,
    ) -> Vec<Value> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (mut rpc_client, token, payload) =
                    (self.clone(), token.to_owned(), payload.clone());
                tokio::spawn(async move { rpc_client.answer(rpc, &token, &payload).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    /// ExecuteCode with `req`, sent on a task of its own; the gRPC code if it fails.
    pub fn spawn_exec(
        &self,
        req: Request<ContextUnit>,
    ) -> tokio::task::JoinHandle<Result<(), Code>> {
        let mut client = self.client.clone();
        tokio::spawn(async move {
            client
                .execute_code(req)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }

    /// GetTaskStatus until the workflow is no longer running (or 60 s); its last answer.
    pub async fn settled(&mut self, token: &str, id: &str) -> Value {
        let query = serde_json::json!({ "workflow_id": id });
        poll_until(
            &format!("workflow {id} is no longer running"),
            Duration::from_secs(60),
            async || {
                let last = self.answer("status", token, &query).await;
                (last["status"] != "running").then_some(last)
            },
        )
        .await
    }
}

fn payload_of(unit: &ContextUnit) -> Value {
    Value::Object(
        unit.payload
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_default(),
    )
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

/// A host serving gRPC on a free port, and a client connected to it. Per-token rates are
/// raised out of the way: these tests send bursts to exercise other limits (`floods.rs` tests
/// the rate limit itself).
pub async fn grpc_host(h: &Harness, label: &str, extra: &[&str]) -> (Worker, Rpc) {
    let config = h.path(&format!("{label}-grpc.toml"));
    std::fs::write(
        &config,
        "[grpc]\nrate_per_second = 100000\nrate_burst = 100000\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let mut args = vec!["--host-config", &config, "--exec-concurrency", "8"];
    args.extend_from_slice(extra);
    let port = free_port();
    let host = grpc_worker(h, label, port, Outbound::Loopback, &args, &[]);
    (host, Rpc::connect(port).await)
}

/// Which feeds a worker's outbound policy admits.
#[derive(Clone, Copy)]
pub enum Outbound {
    /// The test servers on loopback, as an operator admits internal suppliers.
    Loopback,
    /// The production default: public addresses only.
    Strict,
}

/// A worker serving gRPC on `port` that accepts tokens signed with [`SECRET`], with `extra`
/// flags and `env` added.
pub fn grpc_worker(
    h: &Harness,
    label: &str,
    port: u16,
    outbound: Outbound,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Worker {
    let addr = format!("127.0.0.1:{port}");
    let key = format!("test.v1={SECRET_ENV}");
    let mut args = vec!["--grpc-addr", &addr, "--token-hmac-key", &key];
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push((SECRET_ENV, SECRET));
    match outbound {
        Outbound::Loopback => h.worker(label, &args, &env),
        Outbound::Strict => h.strict_worker(label, &args, &env),
    }
}

/// A harness and a served one-product feed for supplier `code` of tenant `acme`.
pub async fn harness_with_supplier(code: &str) -> (Harness, FeedServer) {
    let h = Harness::start().await;
    let server = h.serve_supplier(
        code,
        "acme",
        "<yml_catalog><shop><offers><offer id=\"a\"><name>A</name><price>1</price>\
         <currencyId>UAH</currencyId></offer></offers></shop></yml_catalog>",
    );
    (h, server)
}

/// A host serving gRPC without Temporal on a free port, with `config` as its host config file,
/// and a client connected to it.
pub async fn exec_host(h: &Harness, label: &str, config: &str) -> (Worker, Rpc) {
    let port = free_port();
    let host = exec_host_on(h, label, port, config);
    (host, Rpc::connect(port).await)
}

/// [`exec_host`] on `port`, without a client: for tests that speak to it other than by gRPC.
pub fn exec_host_on(h: &Harness, label: &str, port: u16, config: &str) -> Worker {
    let path = h.path(&format!("{label}.toml"));
    std::fs::write(&path, config).unwrap();
    let args = ["--host-config", path.to_str().unwrap(), "--no-temporal"];
    grpc_worker(h, label, port, Outbound::Loopback, &args, &[])
}

/// The hostile guest asked to do nothing wrong: an ExecuteCode payload answered "ok".
pub fn hostile_ok() -> Value {
    let hostile = std::fs::read(contextworker_test_support::guest("hostile")).unwrap();
    serde_json::json!({"code": STANDARD.encode(hostile), "input": "ok"})
}
