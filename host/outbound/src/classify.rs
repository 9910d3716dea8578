//! Which rule an address breaks, before any allow list is consulted.
//!
//! Written here because `Ipv4Addr::is_global` is unstable; the tables follow the IANA IPv4 and
//! IPv6 special-purpose address registries. The first matching row wins, so a narrow range
//! comes before a wider one that contains it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::Rule;

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

const IPV4_RULES: &[(Ipv4Net, Rule)] = &[
    (v4(0, 0, 0, 0, 32), Rule::Unspecified),
    (v4(0, 0, 0, 0, 8), Rule::Reserved),
    (v4(10, 0, 0, 0, 8), Rule::Private),
    (v4(100, 64, 0, 0, 10), Rule::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), Rule::Loopback),
    (v4(169, 254, 0, 0, 16), Rule::LinkLocal),
    (v4(172, 16, 0, 0, 12), Rule::Private),
    (v4(192, 0, 0, 0, 24), Rule::Reserved),
    (v4(192, 0, 2, 0, 24), Rule::Documentation),
    (v4(192, 168, 0, 0, 16), Rule::Private),
    (v4(198, 18, 0, 0, 15), Rule::Benchmarking),
    (v4(198, 51, 100, 0, 24), Rule::Documentation),
    (v4(203, 0, 113, 0, 24), Rule::Documentation),
    (v4(224, 0, 0, 0, 4), Rule::Multicast),
    (v4(255, 255, 255, 255, 32), Rule::Broadcast),
    (v4(240, 0, 0, 0, 4), Rule::Reserved),
];

/// `::ffff:0:0/96`; also used to reject allow-list entries written in this form.
pub(crate) const IPV4_MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);

const IPV6_RULES: &[(Ipv6Net, Rule)] = &[
    (v6([0; 8], 128), Rule::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Rule::Loopback),
    (IPV4_MAPPED, Rule::Ipv4Mapped),
    (v6([0; 8], 96), Rule::Ipv4Compatible),
    // RFC 8215 local-use NAT64: the translator is ours and may put the IPv4 address at any
    // offset, so the embedded address cannot be checked; treat the whole prefix as local.
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Rule::Reserved),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Rule::Reserved),
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), Rule::Benchmarking),
    // IETF protocol assignments (Teredo, ORCHID, AS112 ...): no web server lives here, and
    // Teredo embeds an IPv4 address in an obfuscated form that is not worth decoding.
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Rule::Reserved),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Rule::Documentation,
    ),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Rule::Documentation),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Rule::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Rule::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Rule::SiteLocal),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Rule::Multicast),
];

/// Global unicast IPv6 is allocated only from here; anything outside that no earlier row
/// named is unassigned, and refusing it costs nothing.
const IPV6_GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 destination.
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// 6to4 (RFC 3056): bits 16..48 are the IPv4 address of the relay that gets the packet.
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// The rule `ip` breaks, or `None` for a globally reachable unicast address.
pub(crate) fn classify(ip: IpAddr) -> Option<Rule> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Rule> {
    IPV4_RULES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Rule> {
    // Both translation prefixes forward to the IPv4 address inside, so that address is
    // what the connection reaches and what the IPv4 rules must judge.
    if let Some(inner) = embedded_ipv4(ip) {
        return classify_v4(inner);
    }
    let named = IPV6_RULES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule);
    named.or_else(|| (!IPV6_GLOBAL_UNICAST.contains(&ip)).then_some(Rule::Reserved))
}

fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    if NAT64.contains(&ip) {
        return Some(Ipv4Addr::from(bits as u32));
    }
    if SIX_TO_FOUR.contains(&ip) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translated_addresses_are_judged_by_the_ipv4_address_they_reach() {
        let cases = [
            ("64:ff9b::a00:1", Some(Rule::Private)),
            ("64:ff9b::808:808", None),
            ("2002:a9fe:a9fe::1", Some(Rule::LinkLocal)),
            ("2002:808:808::1", None),
        ];
        for (ip, expected) in cases {
            let ip: IpAddr = ip.parse().expect("test address");
            assert_eq!(classify(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_outside_global_unicast_is_reserved() {
        for ip in ["1::1", "4000::1", "e000::1", "::1:0:0:1"] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert_eq!(classify(ip), Some(Rule::Reserved), "{ip}");
        }
    }
}
