//! One line for an error and its causes, as logs and failure messages show it.

/// `e: cause: cause of the cause`, skipping a cause that repeats its parent's text (many
/// wrappers print their source's message as their own).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Wrap(String, #[source] Option<Box<Wrap>>);

    #[test]
    fn causes_follow_and_repeats_are_skipped() {
        let inner = Wrap("connection refused".into(), None);
        let same = Wrap("connection refused".into(), Some(Box::new(inner)));
        let outer = Wrap("cannot reach 127.0.0.1:7233".into(), Some(Box::new(same)));
        assert_eq!(
            error_chain(&outer),
            "cannot reach 127.0.0.1:7233: connection refused"
        );
    }
}
