//! Structured logging to the host's tracing, tagged with the module's name and version.
//!
//! ```ignore
//! contextworker_guest::info!("parsed categories"; count = n, source = "yml");
//! ```

/// Log levels, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Send one log record. Natively it goes to stderr, so `cargo test` captures it.
pub fn log(level: Level, message: &str, fields: &[(&str, String)]) {
    #[cfg(guest_bindings)]
    crate::bindings::log(level, message, fields);
    #[cfg(not(guest_bindings))]
    {
        let rendered: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("[{level:?}] {message} {}", rendered.join(" "));
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:expr, $fmt:literal $(, $arg:expr)* $(; $($key:ident = $value:expr),+ $(,)?)?) => {
        $crate::log::log(
            $level,
            &::std::format!($fmt $(, $arg)*),
            &[$($((::core::stringify!($key), ::std::string::ToString::to_string(&$value))),+)?],
        )
    };
}

/// `trace!("format {}", args; key = value, ...)`
#[macro_export]
macro_rules! trace { ($($t:tt)*) => { $crate::__log!($crate::log::Level::Trace, $($t)*) }; }
/// `debug!("format {}", args; key = value, ...)`
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::__log!($crate::log::Level::Debug, $($t)*) }; }
/// `info!("format {}", args; key = value, ...)`
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::__log!($crate::log::Level::Info, $($t)*) }; }
/// `warn!("format {}", args; key = value, ...)`
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::__log!($crate::log::Level::Warn, $($t)*) }; }
/// `error!("format {}", args; key = value, ...)`
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::__log!($crate::log::Level::Error, $($t)*) }; }
