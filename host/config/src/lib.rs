//! The host's own configuration (never a module's: those are `module.toml` files).
//!
//! Sources, highest precedence first: command-line flags, environment variables, the TOML
//! file (`--config`, or `contextworker.toml` in the working directory when present),
//! built-in defaults. Flags and environment are merged by the CLI (clap's `env`), which
//! hands the result here as [`Overrides`]; this crate reads the file and resolves paths.
//!
//! The table of every setting, with its variable, flag, file key and default, is in the
//! README ("Configuration"); this crate is where each is resolved and validated.

mod error;
mod file;
mod http;
mod overrides;
mod resolve;
mod schedule;
mod secrets;
mod setting;
mod settings;
mod supplier;
mod temporal;
mod tenant;
mod toml_util;

pub use error::ConfigError;
pub use file::{
    GrpcToml, HostConfigToml, OutboundToml, SandboxToml, SecretsToml, StorageToml, WorkerToml,
};
pub use http::{HttpNarrowToml, HttpSecret, HttpSecretToml};
pub use overrides::{GrpcOverrides, Overrides};
pub use schedule::{ConfiguredSchedule, ScheduleToml, TENANT_PLACEHOLDER};
pub use secrets::{DEFAULT_SECRET_PREFIX, SecretPolicy, SecretRefusal};
pub use settings::{
    DEFAULT_GRPC_ADDR, DEFAULT_TASK_QUEUE, GrpcConfig, HostConfig, SandboxSettings, StorageConfig,
    WorkerConfig,
};
pub use supplier::{Credentials, FeedSource, Supplier, SupplierError};
pub use temporal::{TemporalAuth, TemporalConfigError, TemporalInput, TemporalSettings};
pub use tenant::{
    DEFAULT_CLASSIFIER, EnrichmentSettings, MAX_BATCH_SIZE, TenantError, tenant_enrichment,
};
pub use toml_util::{FileError, MAX_FILE_BYTES, one_line_error, scalar_table};
