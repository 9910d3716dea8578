use super::*;

const MINIMAL: &str = "code = \"acme\"\nname = \"Acme\"\ntenant = \"t1\"\nurl = \"https://acme.example/feed.xml\"\nmodule = \"yml\"\n";

fn parse(text: &str) -> Result<Supplier, String> {
    Supplier::parse(Path::new("/s/acme.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn a_minimal_file_is_enough() {
    let s = parse(MINIMAL).expect("valid");
    assert_eq!(
        s.source,
        FeedSource::Http("https://acme.example/feed.xml".into())
    );
    assert!(s.enabled);
    assert_eq!(s.credentials, Credentials::None);
    assert_eq!(s.max_bytes, 512 << 20);
}

#[test]
fn relative_file_urls_resolve_beside_the_file() {
    let s = parse(&MINIMAL.replace("https://acme.example/feed.xml", "file:feeds/acme.xml"))
        .expect("valid");
    assert_eq!(
        s.source,
        FeedSource::File(PathBuf::from("/s/feeds/acme.xml"))
    );
}

#[test]
fn credentials_name_environment_variables() {
    let text = format!(
        "{MINIMAL}[auth]\nbearer_token_env = \"ACME_TOKEN\"\nheaders = {{ \"X-Key\" = \"ACME_KEY\" }}\n"
    );
    let s = parse(&text).expect("valid");
    assert_eq!(s.env_vars(), vec!["ACME_TOKEN", "ACME_KEY"]);
}

#[test]
fn mistakes_are_named() {
    let cases = [
        (
            MINIMAL.replace("\"acme\"", "\"other\""),
            "must match the file name",
        ),
        (
            MINIMAL.replace("https://acme.example/feed.xml", "ftp://x/y"),
            "`url`",
        ),
        (
            MINIMAL.replace("https://acme.example/feed.xml", "file://relative"),
            "absolute path",
        ),
        (
            format!("{MINIMAL}[auth]\nbearer_token_env = \"s3cr3t-value\"\n"),
            "not an environment variable name",
        ),
        (
            format!("{MINIMAL}[auth]\nbasic_user_env = \"U\"\n"),
            "needs both",
        ),
        (
            format!("{MINIMAL}colour = 1\n"),
            "line 6, column 1: unknown field `colour`",
        ),
        (format!("{MINIMAL}[config]\nmap = [1]\n"), "`config.map`"),
        (
            format!("{MINIMAL}schedule = \"0 25 * * *\"\n"),
            "`schedule`: cron \"0 25 * * *\": field 2 (hour)",
        ),
        (
            format!("{MINIMAL}schedule = \"0s\"\n"),
            "`schedule`: interval \"0s\"",
        ),
        (
            format!("{MINIMAL}schedule = \"6x\"\n"),
            "`schedule`: duration \"6x\"",
        ),
        (
            format!("{MINIMAL}schedule_timezone = \"UTC\"\n"),
            "`schedule_timezone`: set without `schedule`",
        ),
        (
            format!("{MINIMAL}schedule = \"@daily\"\nschedule_timezone = \"../x\"\n"),
            "`schedule`: time zone \"../x\"",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).expect_err("refused");
        assert!(err.starts_with("/s/acme.toml: "), "{text}: {err}");
        assert!(
            err.contains(expected),
            "{text}: expected {expected:?} in {err}"
        );
    }
}

#[test]
fn the_code_all_is_reserved_for_every_supplier_of_a_tenant() {
    let err = Supplier::parse(
        Path::new("/s/all.toml"),
        &MINIMAL.replace("code = \"acme\"", "code = \"all\""),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`code`: `all` is reserved"), "{err}");
}

/// Bad schedules are among the refusals in `mistakes_are_named`.
#[test]
fn a_schedule_is_a_cron_or_an_interval() {
    let s = parse(&format!(
        "{MINIMAL}schedule = \"0 */6 * * *\"\nschedule_timezone = \"Europe/Kyiv\"\n"
    ))
    .expect("valid");
    let spec = s.schedule.expect("a schedule");
    assert_eq!(spec.to_string(), "cron 0 */6 * * * (Europe/Kyiv)");
    let s = parse(&format!("{MINIMAL}schedule = \"6h\"\n")).expect("valid");
    assert_eq!(s.schedule.expect("a schedule").to_string(), "every 6h");
    assert!(parse(MINIMAL).expect("valid").schedule.is_none());
}
