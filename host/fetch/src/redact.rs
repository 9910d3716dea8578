//! URLs as they may be logged or shown: never a credential.

/// A URL as it may be logged or shown: no user info, no query (tokens often travel there).
/// Text that does not parse as a URL is shown only as its length.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => redact(&url),
        Err(_) => format!("<{} bytes that are not a URL>", text.len()),
    }
}

/// The URL as it may be logged: no user info, no query (tokens often travel there).
pub(crate) fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    shown.to_string()
}
