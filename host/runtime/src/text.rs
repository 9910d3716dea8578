//! Cutting guest-supplied text to a size the host is willing to keep.

/// Cut `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn truncate_marked(text: &mut String, max: usize) {
    if text.len() > max {
        let at = (0..=max)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(at);
        text.push_str(" …[truncated]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_a_character_boundary() {
        let mut s = "ґґґґ".to_owned(); // two bytes each
        truncate_marked(&mut s, 3);
        assert_eq!(s, "ґ …[truncated]");
        let mut short = "ok".to_owned();
        truncate_marked(&mut short, 3);
        assert_eq!(short, "ok");
    }
}
