//! The policy itself: the allow list and the checks every outbound request passes.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

use crate::allow_list::{PolicyError, parse_entries};
use crate::classify::classify;
use crate::resolver::PolicyResolver;
use crate::{Refusal, Rule};

/// Which addresses outbound requests may reach: global unicast, plus the operator's allow list.
///
/// The default policy has an empty allow list and admits global unicast addresses only.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow: Vec<IpNet>,
}

/// Whether a redirect hop stays on the origin (scheme, host and port) of the URL before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossOrigin {
    /// Same origin: credentials and custom headers may follow the redirect.
    Same,
    /// Another origin: drop credentials and custom headers, which were meant for the first one.
    Cross,
}

impl CrossOrigin {
    pub fn is_cross(self) -> bool {
        self == Self::Cross
    }
}

impl OutboundPolicy {
    /// A policy that also admits the networks in `entries`, each a CIDR network
    /// (`"10.0.0.0/8"`, `"::1/128"`) or a single address (`"127.0.0.1"`, `"::1"`).
    ///
    /// An entry admits the addresses as they are spelled: `127.0.0.1/32` admits `127.0.0.1`
    /// but not `::ffff:127.0.0.1`, because IPv4-mapped addresses are always refused, so that
    /// each address has one spelling to allow or refuse. Entries written in the mapped form
    /// are rejected for that reason. Likewise an IPv4 entry does not admit a NAT64 or 6to4
    /// address embedding it: allow the IPv6 address itself if that route is meant.
    pub fn from_allow_list(entries: &[String]) -> Result<Self, PolicyError> {
        Ok(Self {
            allow: parse_entries(entries)?,
        })
    }

    pub fn allow_list(&self) -> &[IpNet] {
        &self.allow
    }

    /// `Ok` for a globally reachable unicast address or one inside an allow-list network;
    /// otherwise the rule the address breaks. IPv4-mapped addresses are refused even inside
    /// an allowed network (see [`Self::from_allow_list`]).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Rule> {
        let rule = classify(ip);
        if rule == Some(Rule::Ipv4Mapped) {
            return Err(Rule::Ipv4Mapped);
        }
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        rule.map_or(Ok(()), Err)
    }

    /// The check before sending a request: the scheme must be `http` or `https`, and a host
    /// that is an IP literal, in any spelling the URL parser normalizes (`0x7f000001`,
    /// `2130706433`, `127.1`, `[::ffff:127.0.0.1]` ...), must pass [`Self::check_ip`].
    ///
    /// Callers must call this before every request, redirects included: reqwest connects to an
    /// IP-literal host directly, without asking the resolver, so this is the only check such
    /// a URL gets. Host names pass here; [`Self::resolver`] checks what they resolve to.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::for_url(url, None, Rule::Scheme));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) | None => return Ok(()),
        };
        self.check_ip(ip)
            .map_err(|rule| Refusal::for_url(url, Some(ip), rule))
    }

    /// The check of a redirect hop from `from` to `to`: [`Self::check_url`] on `to`, and no
    /// step down from `https` to `http`. On success, says whether the hop changes origin,
    /// which tells the caller to drop credentials and custom headers before following it.
    pub fn check_redirect(&self, from: &Url, to: &Url) -> Result<CrossOrigin, Refusal> {
        if from.scheme() == "https" && to.scheme() == "http" {
            return Err(Refusal::for_url(to, None, Rule::SchemeDowngrade));
        }
        self.check_url(to)?;
        let same = from.scheme() == to.scheme()
            && from.host() == to.host()
            && from.port_or_known_default() == to.port_or_known_default();
        Ok(if same {
            CrossOrigin::Same
        } else {
            CrossOrigin::Cross
        })
    }

    /// A DNS resolver for reqwest that resolves with the system resolver, drops every address
    /// [`Self::check_ip`] refuses, and fails with the [`Refusal`] when none is left.
    ///
    /// reqwest connects only to the addresses its resolver returns, so the check happens at
    /// connect time, on the very addresses used: a name that resolves to a public address
    /// when checked and to `127.0.0.1` when connecting (DNS rebinding) cannot slip past it.
    /// Do not add `ClientBuilder::resolve` overrides on top: they bypass this resolver.
    pub fn resolver(&self) -> Arc<dyn reqwest::dns::Resolve> {
        Arc::new(PolicyResolver::new(self.clone()))
    }

    /// A reqwest client builder set up for policy-checked fetching; callers add timeouts,
    /// user agent and the like, and still call [`Self::check_url`] before each request.
    ///
    /// - no proxy: an `HTTP(S)_PROXY` variable would route requests around the resolver;
    /// - no automatic redirects: callers follow them with [`Self::check_redirect`];
    /// - the policy's [`Self::resolver`].
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver2(self.resolver())
    }
}

#[cfg(test)]
mod tests;
