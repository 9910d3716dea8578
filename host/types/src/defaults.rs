//! Defaults that more than one part needs, defined once.

/// The task queue a worker polls and the CLI and gRPC service start workflows on when the
/// configuration names none (the original ContextWorker's harvester queue).
pub const DEFAULT_TASK_QUEUE: &str = "harvester-tasks";

/// The Temporal namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The Temporal frontend when none is configured (the dev server's port).
pub const DEFAULT_TEMPORAL_ADDRESS: &str = "localhost:7233";

/// The tenant of work started without one (the CLI's imports, a single-tenant host).
pub const DEFAULT_TENANT: &str = "default";
