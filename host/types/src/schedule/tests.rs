use super::*;

fn cron(s: &str) -> Result<String, String> {
    match ScheduleSpec::parse(s, None, None) {
        Ok(ScheduleSpec {
            timing: Timing::Cron(c),
            ..
        }) => Ok(c),
        Ok(other) => panic!("{s:?} parsed as {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn the_originals_crons_and_common_forms_are_accepted() {
    for ok in [
        "0 6 * * *",
        "*/5 * * * *",
        "0 */6 * * *",
        "0 3 * * *",
        "0 0 * * 0",
        "0 12 * * MON-FRI",
        "15,45 8-18/2 1 jan,jul *",
        "0 0 1/2 * *",
        "@daily",
        "@HOURLY",
    ] {
        assert!(cron(ok).is_ok(), "{ok}: {:?}", cron(ok));
    }
    assert_eq!(cron("  0   6 * *  * ").unwrap(), "0 6 * * *");
}

#[test]
fn a_bad_cron_names_the_field_and_the_reason() {
    let cases = [
        ("0 25 * * *", "field 2 (hour): 25 is outside 0-23"),
        ("60 * * * *", "field 1 (minute): 60 is outside 0-59"),
        ("* * 0 * *", "field 3 (day of month): 0 is outside 1-31"),
        ("* * * 13 *", "field 4 (month): 13 is outside 1-12"),
        ("* * * * 7", "field 5 (day of week): 7 is outside 0-6"),
        ("* * * * * *", "6 fields; a cron expression has 5"),
        ("0 6 * *", "4 fields"),
        ("*/0 * * * *", "field 1 (minute): step 0 is outside 1-60"),
        (
            "10-5 * * * *",
            "field 1 (minute): range \"10-5\" runs backwards",
        ),
        ("a * * * *", "field 1 (minute): \"a\" is not a number"),
        ("1,,2 * * * *", "field 1 (minute): an empty value"),
        ("@every", "unknown macro"),
    ];
    for (bad, want) in cases {
        let err = cron(bad).unwrap_err();
        assert!(err.contains(want), "{bad}: {err}");
    }
    let long = format!("{} * * * *", "1,".repeat(200));
    assert!(
        cron(&long)
            .unwrap_err()
            .contains("longer than 256 characters")
    );
}

#[test]
fn intervals_and_durations() {
    let spec = ScheduleSpec::parse("6h", Some("Europe/Kyiv"), Some("5m")).unwrap();
    assert_eq!(spec.timing, Timing::Interval(Duration::from_secs(6 * 3600)));
    assert_eq!(spec.to_string(), "every 6h (Europe/Kyiv), jitter 5m");
    assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(86_400 + 1)), "1d1s");
    for bad in [
        "",
        "6",
        "h",
        "6x",
        "-1h",
        "1.5h",
        "9999999999999999999d",
        "400d",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    assert!(matches!(
        ScheduleSpec::parse("0m", None, None),
        Err(SpecError::ZeroInterval { .. })
    ));
    let no_jitter = ScheduleSpec::parse("30m", None, Some("0s")).unwrap();
    assert_eq!(no_jitter.jitter, None);
    // Said to be a cron or an interval, it is read as that only.
    assert!(ScheduleSpec::cron("6h", None, None).is_err());
    assert!(ScheduleSpec::interval("0 6 * * *", None, None).is_err());
}

#[test]
fn time_zone_names_are_checked_for_form() {
    for ok in [
        "UTC",
        "Europe/Kyiv",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+3",
    ] {
        assert!(
            ScheduleSpec::parse("@daily", Some(ok), None).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "../etc/passwd",
        "/UTC",
        "Europe Kyiv",
        "Zürich",
        &"A".repeat(65),
    ] {
        assert!(
            matches!(
                ScheduleSpec::parse("@daily", Some(bad), None),
                Err(SpecError::Timezone { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn overlap_policies_read_and_print_the_same() {
    for name in Overlap::NAMES {
        assert_eq!(name.parse::<Overlap>().unwrap().as_str(), *name);
    }
    assert_eq!(Overlap::default(), Overlap::Skip);
    assert!("sometimes".parse::<Overlap>().is_err());
}
