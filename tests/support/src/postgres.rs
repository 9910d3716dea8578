//! A PostgreSQL database of a test's own on the local server (`CONTEXTWORKER_TEST_POSTGRES`, or
//! `postgres://postgres@127.0.0.1:5432/test` for the server address), created empty and dropped
//! when the value is: for state that is global in a database, like a fleet's release record,
//! where tests running at once must never meet.

use std::process::Command;

/// An empty database, dropped (with its open connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    /// Create `<label>_<nanos>_<pid>` through `psql`.
    pub fn create(label: &str) -> Self {
        let base = std::env::var("CONTEXTWORKER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let (server, _) = base
            .rsplit_once('/')
            .expect("CONTEXTWORKER_TEST_POSTGRES names a database");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{label}_{nanos}_{}", std::process::id());
        let db = Self {
            server: server.to_owned(),
            name,
        };
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// Its `postgres://` URL.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    fn psql(&self, statement: &str) -> std::process::Output {
        let out = Command::new("psql")
            .arg(format!("{}/postgres", self.server))
            .args(["-qc", statement])
            .output()
            .expect("run psql (the PostgreSQL client)");
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort: a leftover database only costs disk.
        let _ = Command::new("psql")
            .arg(format!("{}/postgres", self.server))
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
