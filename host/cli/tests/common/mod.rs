//! A Temporal dev server, a modules directory, suppliers and worker processes for the worker's
//! integration tests. Everything lives in a temporary directory; ports are picked free.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, dead_code)]

mod output;
mod port;
pub mod rpc;

#[allow(unused_imports)]
pub use output::{assert_contains, assert_success, stderr_of, stdout_of, text};
pub use port::free_port;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use contextworker_devserver::{DevServer, DevServerOptions};
use contextworker_staging::FeedKey;
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::{guest, workspace_root};

pub const QUEUE: &str = "harvester-tasks";

/// How often the waits below look again.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Wait until `check` holds; after `timeout`, fail saying what was awaited. For synchronous
/// tests; async ones use [`poll_until`].
pub fn wait_until(what: &str, timeout: Duration, check: impl FnMut() -> bool) {
    wait_until_or(what, timeout, String::new, check);
}

fn wait_until_or(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut check: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}{}",
            context()
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// Poll `check` until it gives a value; after `timeout`, fail saying what was awaited.
pub async fn poll_until<T>(
    what: &str,
    timeout: Duration,
    check: impl AsyncFnMut() -> Option<T>,
) -> T {
    poll_until_or(what, timeout, String::new, check).await
}

async fn poll_until_or<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}{}",
            context()
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub dev: DevServer,
    pub address: String,
}

impl Harness {
    /// A dev server and a modules directory with yml, text-stats and the hostile test guest.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["modules", "suppliers", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let dev = DevServer::start(DevServerOptions::new(
            contextworker_types::DataDir::new(dir.path().join("temporal")),
            free_port(),
            free_port(),
        ))
        .await
        .expect("dev server starts (is the temporal CLI installed? scripts/install-deps.sh)");
        let address = dev.address();
        let h = Self { dir, dev, address };
        h.add_module("yml", "yml", None);
        h.add_module("text-stats", "text-stats", None);
        h.add_module("js", "js-engine", None);
        h.add_module(
            "hostile",
            "hostile",
            Some(
                "name = \"hostile\"\nversion = \"0.1.0\"\nworld = \"code\"\ndescription = \"misbehaves on request\"\n\
                 [limits]\nmemory_mb = 32\ntimeout_ms = 300\n",
            ),
        );
        h
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// The module `name` built from `package`, with its manifest (without self-tests) or `manifest`.
    pub fn add_module(&self, name: &str, package: &str, manifest: Option<&str>) {
        let dir = self.path("modules").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let text = manifest.map_or_else(
            || {
                let text = std::fs::read_to_string(
                    workspace_root()
                        .join("modules")
                        .join(name)
                        .join("module.toml"),
                )
                .unwrap();
                // Self-tests need fixtures; the worker does not run them.
                text.split("[[self_test]]").next().unwrap().to_owned()
            },
            str::to_owned,
        );
        std::fs::write(dir.join("module.toml"), &text).unwrap();
        let component = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("component = \"")?
                    .strip_suffix('"')
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| format!("{name}.wasm"));
        std::fs::copy(guest(package), dir.join(component)).unwrap();
    }

    pub fn write_supplier(&self, code: &str, tenant: &str, url: &str) {
        std::fs::write(
            self.path("suppliers").join(format!("{code}.toml")),
            format!(
                "code = \"{code}\"\nname = \"{code} test\"\ntenant = \"{tenant}\"\nurl = \"{url}\"\nmodule = \"yml\"\n"
            ),
        )
        .unwrap();
    }

    /// A feed server answering `body`, fetched by supplier `code` of `tenant`.
    pub fn serve_supplier(&self, code: &str, tenant: &str, body: impl Into<Vec<u8>>) -> FeedServer {
        let server = FeedServer::start();
        server.set_body(body, None);
        self.write_supplier(code, tenant, &server.url());
        server
    }

    /// Supplier `code` fetching `url`, of a tenant of its own (`label` made unique): a catalog
    /// no other run shares, even in the shared PostgreSQL. Its key in staging.
    pub fn new_tenant_supplier(&self, label: &str, code: &str, url: &str) -> FeedKey {
        let tenant = unique(label);
        self.write_supplier(code, &tenant, url);
        FeedKey {
            tenant,
            supplier: code.to_owned(),
        }
    }

    /// The binary with this harness's directories and Temporal server; loopback feeds (the
    /// test servers) are admitted by the outbound policy, as an operator admits internal
    /// suppliers.
    fn command(&self) -> Command {
        let mut cmd = self.command_strict();
        // Through the environment: the flag belongs to `serve`, and this command may be another.
        cmd.env("CONTEXTWORKER_OUTBOUND_ALLOW", "127.0.0.1/32");
        cmd
    }

    /// The same without the loopback allowance: the policy a production host has by default.
    fn command_strict(&self) -> Command {
        self.command_strict_in(&self.path("data"))
    }

    /// [`Harness::command`] with the data directory `data`.
    fn command_in(&self, data: &Path) -> Command {
        let mut cmd = self.command_strict_in(data);
        cmd.env("CONTEXTWORKER_OUTBOUND_ALLOW", "127.0.0.1/32");
        cmd
    }

    fn command_strict_in(&self, data: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_contextworker-host"));
        cmd.arg("--modules-dir")
            .arg(self.path("modules"))
            .arg("--suppliers-dir")
            .arg(self.path("suppliers"))
            .arg("--data-dir")
            .arg(data)
            // Serve and the workflow commands read it; the others ignore it.
            .env("TEMPORAL_ADDRESS", &self.address)
            .env_remove("CONTEXTWORKER_OUTBOUND_ALLOW")
            .env_remove("DATABASE_URL")
            .env_remove("WORKER_TASK_QUEUE")
            .env(
                "RUST_LOG",
                "info,temporalio_sdk_core=warn,temporalio_sdk=warn",
            );
        cmd
    }

    /// Run a CLI command to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Run a CLI command to completion with `env` added (a fleet's settings, say).
    pub fn cli_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().unwrap()
    }

    /// Start a worker process with a data directory of its own (`data-<label>`), as on a
    /// machine of its own, and `--identity <label>`; returns at once; [`Worker::ready`] waits
    /// until it serves.
    pub fn launch_host(&self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Worker {
        let data = self.path(&format!("data-{label}"));
        std::fs::create_dir_all(&data).unwrap();
        let mut cmd = self.command_in(&data);
        cmd.args(["--identity", label]);
        self.launch(cmd, label, extra, env)
    }

    /// Start a worker process; returns once it says it is serving. Its stderr goes to
    /// `worker-<label>.log` in the temporary directory.
    pub fn worker(&self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Worker {
        self.spawn_worker(self.command(), label, extra, env)
    }

    /// The `result` of a `--json` command that must succeed (a workflow waited for).
    pub fn result_of(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        let v = json_of(&out);
        assert!(
            out.status.success(),
            "{args:?} failed: {v:#}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        v["result"].clone()
    }

    /// The two staging databases the end-to-end tests run on, as (label, database URL): the
    /// data directory's SQLite (the default) and the shared PostgreSQL.
    pub fn backends(&self) -> [(&'static str, String); 2] {
        let sqlite = contextworker_staging::Staging::sqlite_url(&self.path("data/staging.db"));
        [("sqlite", sqlite), ("postgres", postgres_url())]
    }

    /// A worker labelled `backend` staging into `db_url`, one of [`Harness::backends`]; the
    /// SQLite one is the default and needs no variable.
    pub fn worker_on(&self, backend: &str, db_url: &str) -> Worker {
        let env: &[(&str, &str)] = match backend {
            "sqlite" => &[],
            _ => &[("DATABASE_URL", db_url)],
        };
        self.worker(backend, &[], env)
    }

    /// A worker with the default outbound policy: loopback feeds are refused.
    pub fn strict_worker(&self, label: &str, extra: &[&str], env: &[(&str, &str)]) -> Worker {
        self.spawn_worker(self.command_strict(), label, extra, env)
    }

    fn spawn_worker(
        &self,
        cmd: Command,
        label: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Worker {
        let worker = self.launch(cmd, label, extra, env);
        worker.ready();
        worker
    }

    fn launch(
        &self,
        mut cmd: Command,
        label: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Worker {
        let log = self.path(&format!("worker-{label}.log"));
        let file = std::fs::File::create(&log).unwrap();
        if !extra.contains(&"--grpc-addr") {
            // Tests run workers side by side: only the gRPC tests open a (free) gRPC port.
            cmd.arg("--no-grpc");
        }
        cmd.args(extra).stdout(Stdio::null()).stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let ready = if extra.contains(&"--no-temporal") {
            "no Temporal worker"
        } else {
            "serving task queue"
        };
        Worker { child, log, ready }
    }
}

pub struct Worker {
    pub child: Child,
    pub log: PathBuf,
    /// What its log says once it serves.
    ready: &'static str,
}

impl Worker {
    /// Wait until it says it serves.
    pub fn ready(&self) {
        self.wait_for_log(self.ready, Duration::from_secs(120));
    }

    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        self.wait_until(&format!("the worker log says {needle:?}"), timeout, || {
            self.log_text().contains(needle)
        });
    }

    /// [`wait_until`], with this worker's log in the failure message.
    pub fn wait_until(&self, what: &str, timeout: Duration, check: impl FnMut() -> bool) {
        wait_until_or(what, timeout, || self.log_context(), check);
    }

    /// [`poll_until`], with this worker's log in the failure message.
    pub async fn poll_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        check: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        poll_until_or(what, timeout, || self.log_context(), check).await
    }

    fn log_context(&self) -> String {
        format!("\nworker log:\n{}", self.log_text())
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Send `signal` and wait for the process to exit, up to `timeout`; returns how long it took.
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> Option<Duration> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.child.try_wait().unwrap().is_some() {
                return Some(start.elapsed());
            }
            std::thread::sleep(POLL_EVERY);
        }
        None
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parse a command's stdout as JSON, with its stderr in the panic message.
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Run `tests/python/<script>` with `args`; it must succeed (its stderr and `context()`, e.g.
/// a worker's log, are shown when it does not). Its stdout, as JSON.
pub fn python(script: &str, args: &[&str], context: impl Fn() -> String) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(workspace_root().join("tests/python").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        context()
    );
    json_of(&out)
}

/// The `temporal` CLI (or `TEMPORAL_CLI`) run against the server at `address`; it must succeed.
pub fn temporal(address: &str, args: &[&str]) -> Output {
    let cli = std::env::var("TEMPORAL_CLI").unwrap_or_else(|_| "temporal".to_owned());
    let (command, rest) = args.split_at(2.min(args.len()));
    let out = Command::new(cli)
        .args(command)
        .args(["--address", address])
        .args(rest)
        .output()
        .unwrap();
    assert_success(&out);
    out
}

/// `temporal workflow show` events of a workflow, as JSON.
pub fn history(address: &str, id: &str) -> Vec<serde_json::Value> {
    let out = temporal(address, &["workflow", "show", "-w", id, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["events"].as_array().cloned().unwrap_or_default()
}

/// `temporal workflow describe` of a workflow, as JSON (its pending activities, say).
pub fn describe(address: &str, id: &str) -> serde_json::Value {
    let out = temporal(
        address,
        &["workflow", "describe", "-w", id, "--output", "json"],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Who ran each step of a workflow: (activity name, attempt, worker identity), in order.
pub fn steps_run(address: &str, id: &str) -> Vec<(String, u64, String)> {
    let events = history(address, id);
    // Event ids are int64s, which the CLI's JSON writes as strings.
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let name_of = |scheduled: &serde_json::Value| {
        events
            .iter()
            .find(|e| text(&e["eventId"]) == text(scheduled))
            .and_then(|e| {
                e["activityTaskScheduledEventAttributes"]["activityType"]["name"].as_str()
            })
            .unwrap_or("?")
            .to_owned()
    };
    events
        .iter()
        .filter_map(|e| e.get("activityTaskStartedEventAttributes"))
        .map(|a| {
            (
                name_of(&a["scheduledEventId"]),
                a["attempt"].as_u64().unwrap_or(0),
                a["identity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The attempt of every activity the workflow started, in order.
pub fn activity_attempts(address: &str, id: &str) -> Vec<u64> {
    history(address, id)
        .iter()
        .filter_map(|e| e.get("activityTaskStartedEventAttributes"))
        .filter_map(|a| a.get("attempt").and_then(serde_json::Value::as_u64))
        .collect()
}

/// The PostgreSQL the tests stage into: `CONTEXTWORKER_TEST_POSTGRES`, or the local server.
pub fn postgres_url() -> String {
    std::env::var("CONTEXTWORKER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `label` made unique to this moment, for tenants and workflow ids shared databases see.
pub fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{nanos}")
}

/// A YML feed of (offer id, name, price) offers.
pub fn yml_offers(offers: &[(String, String, String)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog date=\"2026-01-01 00:00\"><shop>\
         <currencies><currency id=\"UAH\" rate=\"1\"/></currencies><offers>\n",
    );
    for (id, name, price) in offers {
        s.push_str(&format!(
            "<offer id=\"{id}\" available=\"true\"><name>{name}</name><price>{price}</price>\
             <currencyId>UAH</currencyId></offer>\n"
        ));
    }
    s.push_str("</offers></shop></yml_catalog>\n");
    s
}

/// A YML feed with `n` offers whose prices are `base + i`.
pub fn yml_feed(n: usize, base: u32) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog date=\"2026-01-01 00:00\"><shop>\
         <currencies><currency id=\"UAH\" rate=\"1\"/></currencies>\
         <categories><category id=\"1\">Tents</category></categories><offers>\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "<offer id=\"sku-{i}\" available=\"true\"><name>Tent {i}</name><price>{}</price>\
             <currencyId>UAH</currencyId><categoryId>1</categoryId></offer>\n",
            base as usize + i
        ));
    }
    s.push_str("</offers></shop></yml_catalog>\n");
    s
}

pub fn assert_path_exists(p: &Path) {
    assert!(p.exists(), "{} missing", p.display());
}
