//! The DNS resolver that applies the policy at connect time.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{OutboundPolicy, Refusal, Rule};

/// Resolves with the system resolver and keeps only the addresses the policy admits.
pub(crate) struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
}

impl PolicyResolver {
    pub(crate) fn new(policy: OutboundPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = lookup(&host).await?;
            let admitted = admit(&policy, &host, &found)?;
            // Port 0 tells reqwest to use the URL's port (or the scheme's default).
            let addrs: Addrs = Box::new(admitted.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

async fn lookup(host: &str) -> io::Result<Vec<IpAddr>> {
    // RFC 6761 reserves these names for the loopback addresses. Answering them here keeps
    // the answer the same on every machine (glibc does not resolve "localhost." at all), so
    // they are refused as loopback, or admitted through the allow list, everywhere.
    if is_localhost(host) {
        return Ok(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let found = tokio::net::lookup_host((host, 0)).await?;
    Ok(found.map(|addr| addr.ip()).collect())
}

fn is_localhost(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The addresses of `found` that the policy admits, in their order; the refusal of the first
/// address when none is admitted.
fn admit(policy: &OutboundPolicy, host: &str, found: &[IpAddr]) -> Result<Vec<IpAddr>, Refusal> {
    let mut first_refused = None;
    let mut admitted = Vec::with_capacity(found.len());
    for &ip in found {
        match policy.check_ip(ip) {
            Ok(()) => admitted.push(ip),
            Err(rule) => {
                tracing::debug!(host, %ip, rule = rule.as_str(), "outbound policy drops an address");
                first_refused.get_or_insert((ip, rule));
            }
        }
    }
    if !admitted.is_empty() {
        return Ok(admitted);
    }
    let (address, rule) = match first_refused {
        Some((ip, rule)) => (Some(ip), rule),
        None => (None, Rule::NoAddress),
    };
    Err(Refusal {
        target: host.to_owned(),
        address,
        rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter()
            .map(|ip| ip.parse().expect("test address"))
            .collect()
    }

    #[test]
    fn refused_addresses_are_dropped_and_the_rest_kept_in_order() {
        let policy = OutboundPolicy::default();
        let found = ips(&["127.0.0.1", "8.8.8.8", "fd00::1", "2606:4700:4700::1111"]);
        let admitted = admit(&policy, "mixed.example", &found).expect("two global addresses");
        assert_eq!(admitted, ips(&["8.8.8.8", "2606:4700:4700::1111"]));
    }

    #[test]
    fn when_every_address_is_refused_the_first_refusal_is_the_error() {
        let policy = OutboundPolicy::default();
        let found = ips(&["169.254.169.254", "127.0.0.1"]);
        let refusal = admit(&policy, "metadata.example", &found).expect_err("all refused");
        assert_eq!(refusal.target, "metadata.example");
        assert_eq!(refusal.address, Some(ips(&["169.254.169.254"])[0]));
        assert_eq!(refusal.rule, Rule::LinkLocal);
    }

    #[test]
    fn a_name_with_no_address_is_refused_as_no_address() {
        let refusal = admit(&OutboundPolicy::default(), "empty.example", &[]).expect_err("empty");
        assert_eq!((refusal.address, refusal.rule), (None, Rule::NoAddress));
    }

    #[test]
    fn localhost_names_are_recognized_in_every_spelling() {
        for host in [
            "localhost",
            "localhost.",
            "LocalHost",
            "api.localhost",
            "a.b.localhost.",
        ] {
            assert!(is_localhost(host), "{host}");
        }
        for host in ["localhost.example", "notlocalhost", "localhostx."] {
            assert!(!is_localhost(host), "{host}");
        }
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_allowed_loopback_addresses() {
        let open = OutboundPolicy::default().resolver();
        let err = open
            .resolve("localhost".parse().expect("name"))
            .await
            .err()
            .expect("loopback refused");
        let refusal = crate::find_refusal(&*err).expect("a refusal inside");
        assert_eq!(refusal.rule, Rule::Loopback);

        let policy =
            OutboundPolicy::from_allow_list(&["127.0.0.1/32".to_owned()]).expect("valid entry");
        let addrs: Vec<SocketAddr> = policy
            .resolver()
            .resolve("localhost.".parse().expect("name"))
            .await
            .expect("127.0.0.1 admitted")
            .collect();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 0))]);
    }
}
