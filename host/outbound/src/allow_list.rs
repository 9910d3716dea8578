//! Parsing the operator's allow list: the networks admitted whatever rule they would break.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::classify::IPV4_MAPPED;

/// An allow-list entry the policy cannot use. Fix the entry in the host config; the message
/// names it and says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Neither a CIDR network nor a single address.
    #[error(
        "outbound allow-list entry {entry:?} is not an IP network or address; write a CIDR \
         network (\"10.0.0.0/8\", \"fd00::/8\") or a single address (\"127.0.0.1\", \"::1\")"
    )]
    NotAnAddress { entry: String },
    /// A network with bits set past its prefix: it is unclear whether the operator meant the
    /// whole network or the one address, and this list is too sensitive to guess.
    #[error(
        "outbound allow-list entry {entry:?} has bits set past its prefix; write \"{network}\" \
         for the whole network or \"{address}\" for the one address"
    )]
    HostBitsSet {
        entry: String,
        network: IpNet,
        address: IpAddr,
    },
    /// An IPv4-mapped IPv6 entry (`::ffff:a.b.c.d`): mapped addresses are always refused, so
    /// the entry would admit nothing.
    #[error(
        "outbound allow-list entry {entry:?} is an IPv4-mapped IPv6 network, and mapped \
         addresses are always refused; write the IPv4 form \"{ipv4}\""
    )]
    Ipv4Mapped { entry: String, ipv4: IpNet },
}

pub(crate) fn parse_entries(entries: &[String]) -> Result<Vec<IpNet>, PolicyError> {
    entries.iter().map(|entry| parse_entry(entry)).collect()
}

fn parse_entry(entry: &str) -> Result<IpNet, PolicyError> {
    let text = entry.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => {
            text.parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| PolicyError::NotAnAddress {
                    entry: entry.to_owned(),
                })?
        }
    };
    if net.trunc() != net {
        return Err(PolicyError::HostBitsSet {
            entry: entry.to_owned(),
            network: net.trunc(),
            address: net.addr(),
        });
    }
    if let IpNet::V6(v6) = net
        && IPV4_MAPPED.contains(&v6)
    {
        return Err(PolicyError::Ipv4Mapped {
            entry: entry.to_owned(),
            ipv4: mapped_as_ipv4(v6),
        });
    }
    Ok(net)
}

/// The IPv4 network an entry inside `::ffff:0:0/96` spells.
fn mapped_as_ipv4(v6: ipnet::Ipv6Net) -> IpNet {
    let addr = v6
        .addr()
        .to_ipv4_mapped()
        .map_or(IpAddr::V6(v6.addr()), IpAddr::V4);
    let prefix = v6.prefix_len().saturating_sub(96);
    IpNet::new(addr, prefix).unwrap_or(IpNet::from(addr))
}
