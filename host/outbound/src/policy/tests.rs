use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("test URL")
}

fn allowing(entries: &[&str]) -> OutboundPolicy {
    let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
    OutboundPolicy::from_allow_list(&entries).expect("valid allow list")
}

#[test]
fn every_special_purpose_address_breaks_its_rule_and_global_unicast_passes() {
    use Rule::*;
    let table: &[(&str, Result<(), Rule>)] = &[
        ("8.8.8.8", Ok(())),
        ("1.1.1.1", Ok(())),
        ("2606:4700:4700::1111", Ok(())),
        ("2a00:1450:4001:80b::200e", Ok(())),
        ("64:ff9b::808:808", Ok(())),
        ("0.0.0.0", Err(Unspecified)),
        ("0.1.2.3", Err(Reserved)),
        ("10.1.2.3", Err(Private)),
        ("172.16.0.1", Err(Private)),
        ("172.31.255.255", Err(Private)),
        ("172.32.0.1", Ok(())),
        ("192.168.1.1", Err(Private)),
        ("100.64.0.1", Err(SharedAddressSpace)),
        ("100.127.255.255", Err(SharedAddressSpace)),
        ("100.128.0.1", Ok(())),
        ("127.0.0.1", Err(Loopback)),
        ("127.255.255.254", Err(Loopback)),
        ("169.254.169.254", Err(LinkLocal)),
        ("192.0.0.8", Err(Reserved)),
        ("192.0.2.1", Err(Documentation)),
        ("198.51.100.7", Err(Documentation)),
        ("203.0.113.9", Err(Documentation)),
        ("198.18.0.1", Err(Benchmarking)),
        ("198.19.255.255", Err(Benchmarking)),
        ("224.0.0.1", Err(Multicast)),
        ("239.255.255.250", Err(Multicast)),
        ("240.0.0.1", Err(Reserved)),
        ("255.255.255.254", Err(Reserved)),
        ("255.255.255.255", Err(Broadcast)),
        ("::", Err(Unspecified)),
        ("::1", Err(Loopback)),
        ("::ffff:127.0.0.1", Err(Ipv4Mapped)),
        ("::ffff:8.8.8.8", Err(Ipv4Mapped)),
        ("::127.0.0.1", Err(Ipv4Compatible)),
        ("::8.8.8.8", Err(Ipv4Compatible)),
        ("64:ff9b::7f00:1", Err(Loopback)),
        ("64:ff9b::a9fe:a9fe", Err(LinkLocal)),
        ("64:ff9b:1::1", Err(Reserved)),
        ("2002:7f00:1::", Err(Loopback)),
        ("2002:c0a8:101::1", Err(Private)),
        ("2002:808:808::1", Ok(())),
        ("100::1", Err(Reserved)),
        ("2001::1", Err(Reserved)),
        ("2001:2::1", Err(Benchmarking)),
        ("2001:db8::1", Err(Documentation)),
        ("3fff::1", Err(Documentation)),
        ("fc00::1", Err(UniqueLocal)),
        ("fd00::1", Err(UniqueLocal)),
        ("fe80::1", Err(LinkLocal)),
        ("fec0::1", Err(SiteLocal)),
        ("ff02::1", Err(Multicast)),
    ];
    let policy = OutboundPolicy::default();
    for (address, expected) in table {
        assert_eq!(policy.check_ip(ip(address)), *expected, "{address}");
    }
}

#[test]
fn the_allow_list_admits_its_networks_whatever_their_rule() {
    let policy = allowing(&["127.0.0.1/32", "10.0.0.0/8", "::1", "fd00::/8"]);
    for admitted in ["127.0.0.1", "10.200.3.4", "::1", "fd12::1"] {
        assert_eq!(policy.check_ip(ip(admitted)), Ok(()), "{admitted}");
    }
    assert_eq!(policy.check_ip(ip("127.0.0.2")), Err(Rule::Loopback));
    assert_eq!(policy.check_ip(ip("192.168.0.1")), Err(Rule::Private));
    assert_eq!(policy.check_ip(ip("fc00::1")), Err(Rule::UniqueLocal));
}

#[test]
fn mapped_addresses_stay_refused_even_inside_an_allowed_network() {
    let policy = allowing(&["127.0.0.1/32", "::/0"]);
    assert_eq!(policy.check_ip(ip("127.0.0.1")), Ok(()));
    assert_eq!(
        policy.check_ip(ip("::ffff:127.0.0.1")),
        Err(Rule::Ipv4Mapped)
    );
}

#[test]
fn allow_list_entries_parse_as_networks_or_single_addresses() {
    let policy = allowing(&["10.0.0.0/8", "127.0.0.1", " ::1 ", "fd00::/8"]);
    let shown: Vec<String> = policy.allow_list().iter().map(|n| n.to_string()).collect();
    assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128", "fd00::/8"]);
}

#[test]
fn a_bad_allow_list_entry_is_named_in_the_error() {
    let parse = |entry: &str| OutboundPolicy::from_allow_list(&[entry.to_owned()]).map(|_| ());
    for entry in ["localhost", "", "10.0.0.0/33", "10.0.0/8", "*"] {
        let err = parse(entry).expect_err(entry);
        assert_eq!(
            err,
            PolicyError::NotAnAddress {
                entry: entry.to_owned()
            }
        );
        assert!(err.to_string().contains("\"10.0.0.0/8\""), "{err}");
    }

    let err = parse("10.1.2.3/8").expect_err("host bits");
    assert_eq!(
        err,
        PolicyError::HostBitsSet {
            entry: "10.1.2.3/8".to_owned(),
            network: "10.0.0.0/8".parse().expect("net"),
            address: ip("10.1.2.3"),
        }
    );
    assert!(err.to_string().contains("\"10.0.0.0/8\""), "{err}");

    let err = parse("::ffff:127.0.0.1").expect_err("mapped");
    assert_eq!(
        err,
        PolicyError::Ipv4Mapped {
            entry: "::ffff:127.0.0.1".to_owned(),
            ipv4: "127.0.0.1/32".parse().expect("net"),
        }
    );
}

#[test]
fn every_spelling_of_a_loopback_literal_is_refused_by_check_url() {
    let policy = OutboundPolicy::default();
    let table = [
        ("http://127.0.0.1/", "127.0.0.1", Rule::Loopback),
        ("http://0x7f000001/", "127.0.0.1", Rule::Loopback),
        ("http://2130706433/", "127.0.0.1", Rule::Loopback),
        ("http://017700000001/", "127.0.0.1", Rule::Loopback),
        ("http://127.1/", "127.0.0.1", Rule::Loopback),
        ("http://0x7f.0.0.1/", "127.0.0.1", Rule::Loopback),
        ("http://127.0.0.1./", "127.0.0.1", Rule::Loopback),
        ("https://[::1]:8443/", "::1", Rule::Loopback),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1",
            Rule::Ipv4Mapped,
        ),
        ("http://[::127.0.0.1]/", "::127.0.0.1", Rule::Ipv4Compatible),
        (
            "http://[64:ff9b::7f00:1]/",
            "64:ff9b::7f00:1",
            Rule::Loopback,
        ),
        ("http://0/", "0.0.0.0", Rule::Unspecified),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
            Rule::LinkLocal,
        ),
        ("http://[fd00::1]/", "fd00::1", Rule::UniqueLocal),
    ];
    for (text, address, rule) in table {
        let refusal = policy.check_url(&url(text)).expect_err(text);
        assert_eq!(
            (refusal.address, refusal.rule),
            (Some(ip(address)), rule),
            "{text}"
        );
    }
}

#[test]
fn check_url_passes_global_literals_and_host_names() {
    let policy = OutboundPolicy::default();
    for text in [
        "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "https://feeds.example.com/offers.xml",
        // A name: checked by the resolver when it is resolved, not here.
        "http://localhost/",
    ] {
        assert_eq!(policy.check_url(&url(text)), Ok(()), "{text}");
    }
}

#[test]
fn schemes_other_than_http_and_https_are_refused() {
    let policy = OutboundPolicy::default();
    for text in [
        "file:///etc/passwd",
        "ftp://x",
        "gopher://x:70/",
        "data:text/plain,hi",
    ] {
        let refusal = policy.check_url(&url(text)).expect_err(text);
        assert_eq!(
            (refusal.address, refusal.rule),
            (None, Rule::Scheme),
            "{text}"
        );
    }
}

#[test]
fn an_allowed_literal_passes_check_url() {
    let policy = allowing(&["127.0.0.1/32"]);
    assert_eq!(
        policy.check_url(&url("http://127.0.0.1:8080/feed.xml")),
        Ok(())
    );
    assert_eq!(policy.check_url(&url("http://2130706433:8080/")), Ok(()));
}

#[test]
fn a_refusal_says_what_which_rule_and_how_to_admit_it() {
    let refusal = OutboundPolicy::default()
        .check_url(&url("http://127.0.0.1:8080/feed.xml"))
        .expect_err("loopback");
    assert_eq!(
        refusal.to_string(),
        "http://127.0.0.1:8080/feed.xml: 127.0.0.1 is a loopback address, refused by the \
         outbound policy (an operator admits it with [outbound] allow = [\"127.0.0.1/32\"])"
    );
    let refusal = OutboundPolicy::default()
        .check_url(&url("http://[fd00::1]/"))
        .expect_err("unique local");
    assert!(
        refusal.to_string().contains("allow = [\"fd00::1/128\"]"),
        "{refusal}"
    );
}

#[test]
fn a_refusal_keeps_secrets_in_the_url_out_of_its_message() {
    let refusal = OutboundPolicy::default()
        .check_url(&url(
            "http://user:hunter2@10.0.0.1/feed?token=s3cret#key=k3y",
        ))
        .expect_err("private");
    assert_eq!(refusal.target, "http://10.0.0.1/feed?…");
    let message = refusal.to_string();
    assert!(
        !["hunter2", "s3cret", "k3y"]
            .iter()
            .any(|s| message.contains(s)),
        "{message}"
    );
}

#[test]
fn a_redirect_from_https_to_http_is_refused() {
    let policy = OutboundPolicy::default();
    let refusal = policy
        .check_redirect(
            &url("https://a.example/feed"),
            &url("http://a.example/feed"),
        )
        .expect_err("downgrade");
    assert_eq!(
        (refusal.address, refusal.rule),
        (None, Rule::SchemeDowngrade)
    );
    assert_eq!(refusal.target, "http://a.example/feed");
}

#[test]
fn a_redirect_from_http_to_https_is_allowed_and_crosses_origin() {
    let policy = OutboundPolicy::default();
    let hop = policy.check_redirect(
        &url("http://a.example/feed"),
        &url("https://a.example/feed"),
    );
    assert_eq!(hop, Ok(CrossOrigin::Cross));
}

#[test]
fn a_redirect_target_gets_the_url_checks() {
    let policy = OutboundPolicy::default();
    let from = url("https://a.example/feed");
    let refusal = policy
        .check_redirect(&from, &url("https://169.254.169.254/latest/meta-data/"))
        .expect_err("metadata");
    assert_eq!(refusal.rule, Rule::LinkLocal);
    let refusal = policy
        .check_redirect(&from, &url("file:///etc/passwd"))
        .expect_err("file");
    assert_eq!(refusal.rule, Rule::Scheme);
}

#[test]
fn a_redirect_changing_scheme_host_or_port_crosses_origin() {
    let policy = OutboundPolicy::default();
    let from = url("https://a.example/feed");
    let table = [
        ("https://a.example/other?page=2", CrossOrigin::Same),
        ("https://A.EXAMPLE:443/feed", CrossOrigin::Same),
        ("https://b.example/feed", CrossOrigin::Cross),
        ("https://a.example:8443/feed", CrossOrigin::Cross),
        ("https://sub.a.example/feed", CrossOrigin::Cross),
    ];
    for (to, expected) in table {
        assert_eq!(policy.check_redirect(&from, &url(to)), Ok(expected), "{to}");
    }
    let hop = policy.check_redirect(&url("http://a.example/"), &url("http://a.example:80/x"));
    assert_eq!(hop, Ok(CrossOrigin::Same));
}
