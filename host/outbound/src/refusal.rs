//! The error a refused request carries, and how to find it inside another error.

use std::net::IpAddr;

use crate::Rule;

/// A request the outbound policy refused. Not retryable: the same target is refused again
/// until an operator changes the policy, which the message says how to do when that is
/// possible at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{target}: {}", self.reason())]
pub struct Refusal {
    /// The URL (without user info, query shortened, so secrets stay out of logs) or, when the
    /// refusal comes from the resolver, the host name.
    pub target: String,
    /// The address that broke the rule; `None` for rules about the URL itself.
    pub address: Option<IpAddr>,
    pub rule: Rule,
}

impl Refusal {
    pub(crate) fn for_url(url: &url::Url, address: Option<IpAddr>, rule: Rule) -> Self {
        Self {
            target: redact(url),
            address,
            rule,
        }
    }

    fn reason(&self) -> String {
        const REFUSED: &str = "refused by the outbound policy";
        match (self.rule, self.address) {
            (Rule::Scheme, _) => format!("only http and https URLs may be fetched, {REFUSED}"),
            (Rule::SchemeDowngrade, _) => {
                format!("a redirect from https to http would drop TLS, {REFUSED}")
            }
            (Rule::NoAddress, _) => format!("the name resolved to no address, {REFUSED}"),
            (Rule::Ipv4Mapped, Some(ip)) => format!(
                "{ip} is {}, {REFUSED} (mapped addresses are always refused, whatever the allow list; \
                 name the IPv4 address itself)",
                Rule::Ipv4Mapped.describe()
            ),
            (rule, Some(ip)) => format!(
                "{ip} is {}, {REFUSED} (an operator admits it with [outbound] allow = [\"{}\"])",
                rule.describe(),
                ipnet::IpNet::from(ip)
            ),
            (rule, None) => format!("{}, {REFUSED}", rule.describe()),
        }
    }
}

/// Walk an error's source chain and return the [`Refusal`] inside, if any: reqwest wraps the
/// resolver's error several levels deep, and a caller needs the rule to report it as a
/// policy refusal rather than a network failure.
pub fn find_refusal<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        current = err.source();
    }
    None
}

/// The URL as it may be logged: no user info, no query or fragment (tokens travel there).
fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    // Both fail only for URLs that cannot have user info, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    // Appended as text: `set_query` would percent-encode the ellipsis.
    if url.query().is_some() {
        text.push_str("?…");
    }
    text
}
