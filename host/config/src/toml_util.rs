//! Small TOML helpers every configuration file shares.

use std::collections::BTreeMap;

/// "line L, column C: message" on one line (toml's own rendering spans several lines).
pub fn one_line_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

/// A `[config]` table as the key/value strings a module reads. Scalars are written in their
/// TOML form; arrays and tables are refused (`Err((key, reason))`).
pub fn scalar_table(
    raw: &BTreeMap<String, toml::Value>,
) -> Result<Vec<(String, String)>, (String, String)> {
    raw.iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err((
                        k.clone(),
                        format!(
                            "a {} is not allowed: use a string, number or boolean",
                            other.type_str()
                        ),
                    ));
                }
            };
            Ok((k.clone(), text))
        })
        .collect()
}
