use super::view::{calendar_as_cron, overlap_name};
use super::*;

fn range(start: i32, end: i32, step: i32) -> proto::Range {
    proto::Range { start, end, step }
}

#[test]
fn a_calendar_the_server_made_from_cron_prints_as_that_cron() {
    // What the server returns for `0 */6 * * *`.
    let c = proto::StructuredCalendarSpec {
        second: vec![range(0, 0, 1)],
        minute: vec![range(0, 0, 1)],
        hour: vec![range(0, 23, 6)],
        day_of_month: vec![range(1, 31, 1)],
        month: vec![range(1, 12, 1)],
        day_of_week: vec![range(0, 6, 1)],
        ..Default::default()
    };
    assert_eq!(calendar_as_cron(&c), "0 */6 * * *");
    let c = proto::StructuredCalendarSpec {
        minute: vec![range(15, 0, 0), range(45, 0, 0)],
        hour: vec![range(8, 18, 2)],
        day_of_week: vec![range(1, 5, 1)],
        ..Default::default()
    };
    assert_eq!(calendar_as_cron(&c), "15,45 8-18/2 * * 1-5");
}

#[test]
fn a_fingerprint_changes_with_what_sync_would_change_and_only_then() {
    let def = Definition {
        id: "acme:harvest-demo".into(),
        tenant: TenantId::new("acme").unwrap(),
        workflow: "HarvestWorkflow".into(),
        args: vec![serde_json::json!("demo"), serde_json::json!("acme")],
        task_queue: "q".into(),
        workflow_id: "harvest:acme:demo".into(),
        spec: ScheduleSpec::parse("0 */6 * * *", None, None).unwrap(),
        overlap: Overlap::Skip,
        description: String::new(),
        owner: Owner::Sync,
    };
    let same = def.clone();
    assert_eq!(def.fingerprint(), same.fingerprint());
    let mut other = def.clone();
    other.spec = ScheduleSpec::parse("0 */4 * * *", None, None).unwrap();
    assert_ne!(def.fingerprint(), other.fingerprint());
    let mut other = def.clone();
    other.overlap = Overlap::BufferOne;
    assert_ne!(def.fingerprint(), other.fingerprint());
}

#[test]
fn overlap_names_match_the_proto_numbers() {
    for (i, name) in Overlap::NAMES.iter().enumerate() {
        let o: Overlap = name.parse().unwrap();
        assert_eq!(overlap_proto(o).to_proto_i32(), i as i32 + 1);
        assert_eq!(overlap_name(i as i32 + 1), Some(*name));
    }
    assert_eq!(overlap_name(0), None);
}
