//! What the original ContextWorker's environment variables say about tracing.

/// Tracing settings, from the environment the original worker documents: `OTEL_ENABLED`,
/// `OTEL_ENDPOINT`, `SERVICE_NAME`, `SERVICE_VERSION`. Without `OTEL_ENDPOINT` the exporter
/// reads the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`
/// itself, and defaults to `http://localhost:4317`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub endpoint: Option<String>,
    pub service_name: String,
    pub service_version: String,
}

impl Settings {
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings `var` gives (a seam for tests: the process environment is global).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            enabled: set("OTEL_ENABLED").is_some_and(|v| truthy(&v)),
            endpoint: set("OTEL_ENDPOINT"),
            service_name: set("SERVICE_NAME").unwrap_or_else(|| "contextworker-host".to_owned()),
            service_version: set("SERVICE_VERSION")
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
        }
    }
}

/// `1`, `true`, `yes`, `on` in any case: what the original's settings parser accepts.
fn truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn off_unless_enabled_says_so() {
        assert!(!from(&[]).enabled);
        assert!(!from(&[("OTEL_ENABLED", "false")]).enabled);
        assert!(!from(&[("OTEL_ENABLED", "0")]).enabled);
        assert!(from(&[("OTEL_ENABLED", "True")]).enabled);
        assert!(from(&[("OTEL_ENABLED", " 1 ")]).enabled);
    }

    #[test]
    fn names_default_and_blank_is_unset() {
        let s = from(&[("SERVICE_NAME", " "), ("OTEL_ENDPOINT", "")]);
        assert_eq!(s.service_name, "contextworker-host");
        assert_eq!(s.service_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(s.endpoint, None);
        let s = from(&[
            ("SERVICE_NAME", "worker-eu"),
            ("SERVICE_VERSION", "7"),
            ("OTEL_ENDPOINT", "http://collector:4317"),
        ]);
        assert_eq!(s.service_name, "worker-eu");
        assert_eq!(s.service_version, "7");
        assert_eq!(s.endpoint.as_deref(), Some("http://collector:4317"));
    }
}
