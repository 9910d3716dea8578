//! One line for an error and its causes, as logs and failure messages show it.

/// `e: cause: cause of the cause`, skipping a cause whose text its parent's already ends with:
/// many wrappers print their source's message as their own (`{path}: cannot read: {source}`)
/// and also mark it as the source, and printing both would say the same thing twice.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.last().is_some_and(|parent| parent.ends_with(&text)) {
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

    #[test]
    fn a_cause_the_parent_already_prints_is_not_printed_again() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        let inner = Wrap(text.clone(), None);
        let outer = Wrap(
            format!("modules directory modules: {text}"),
            Some(Box::new(inner)),
        );
        assert_eq!(
            error_chain(&outer),
            format!("modules directory modules: {text}")
        );
        // Only a whole cause at the end counts: a cause that merely shares a word is printed.
        let inner = Wrap("refused by 127.0.0.1".into(), None);
        let outer = Wrap("connection refused".into(), Some(Box::new(inner)));
        assert_eq!(
            error_chain(&outer),
            "connection refused: refused by 127.0.0.1"
        );
    }
}
