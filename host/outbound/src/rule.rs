//! The rules of the outbound policy, one per reason a request can be refused.

use std::fmt;

/// Why an outbound request was refused; one variant per rule, so the error names the rule.
///
/// The address rules follow the IANA special-purpose registries: everything that is not
/// globally reachable unicast has a rule, so that a caller-named URL cannot reach the host
/// itself, its networks, or the cloud metadata service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The URL's scheme is not `http` or `https` (`file:`, `ftp:`, `gopher:` ...).
    Scheme,
    /// A redirect from `https` to `http`: it would send the request in clear text.
    SchemeDowngrade,
    /// `0.0.0.0` or `::`: connecting to it reaches the local host.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598); provider-internal networks live here.
    SharedAddressSpace,
    /// `169.254.0.0/16`, `fe80::/10`; the cloud metadata service (`169.254.169.254`) lives here.
    LinkLocal,
    /// `fc00::/7`, the IPv6 private networks (RFC 4193).
    UniqueLocal,
    /// `fec0::/10`, deprecated IPv6 site-local addresses still routed by some networks.
    SiteLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Not allocated for global unicast: `0.0.0.0/8`, `192.0.0.0/24`, `240.0.0.0/4`,
    /// `100::/64` (discard), `2001::/23` (IETF protocol assignments), IPv6 outside `2000::/3`.
    Reserved,
    /// `::ffff:0:0/96`: an IPv4 address spelled as IPv6; refused whatever it embeds, so each
    /// address has one spelling that the policy (and its allow list) sees.
    Ipv4Mapped,
    /// `::/96` other than `::` and `::1`: the deprecated IPv4-compatible form.
    Ipv4Compatible,
    /// The host name resolved to no address at all.
    NoAddress,
}

impl Rule {
    /// The rule's name in kebab-case, stable for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::SchemeDowngrade => "scheme-downgrade",
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedAddressSpace => "shared-address-space",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::SiteLocal => "site-local",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
            Self::Ipv4Mapped => "ipv4-mapped",
            Self::Ipv4Compatible => "ipv4-compatible",
            Self::NoAddress => "no-address",
        }
    }

    /// What the refused thing is, to follow "X is" in a message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Scheme => "a URL whose scheme is not http or https",
            Self::SchemeDowngrade => "a redirect from https to http",
            Self::Unspecified => "the unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private-network address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique local (private IPv6) address",
            Self::SiteLocal => "a site-local address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
            Self::Ipv4Mapped => "an IPv4-mapped IPv6 address",
            Self::Ipv4Compatible => "an IPv4-compatible IPv6 address",
            Self::NoAddress => "a name that resolved to no address",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
