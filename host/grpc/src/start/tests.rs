use super::*;

fn claims(tenants: &[&str], permissions: &[&str]) -> Claims {
    Claims::new("t", permissions, tenants, None)
}

fn payload(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn policy() -> StartPolicy {
    StartPolicy::new(None, vec!["harvester-tasks".into()]).expect("policy")
}

/// What `payload` starts for `claims` under [`policy`], untraced.
fn try_start(claims: &Claims, p: Value) -> Result<Plan, Refused> {
    policy().plan(claims, &payload(p), "")
}

#[test]
fn the_server_builds_the_arguments_and_the_tenant_comes_from_the_token() {
    let a = claims(&["acme"], &["worker:*"]);
    // The attacker names another tenant inside the arguments: ignored, the server's own
    // arguments carry the token's tenant.
    let plan = policy()
        .plan(
            &a,
            &payload(
                json!({"workflow_type": "HarvestWorkflow", "supplier_code": "pumps",
                "args": ["pumps", "beta"], "tenant": "beta"}),
            ),
            "trace",
        )
        .expect("allowed");
    assert_eq!(plan.args, vec![json!("pumps"), json!("acme")]);
    assert_eq!(plan.workflow_id, "harvest:acme:pumps");
    assert_eq!(plan.extras.tenant, "acme");
    assert_eq!(plan.extras.trace_id.as_deref(), Some("trace"));
    let plan = try_start(
        &a,
        json!({"workflow_type": "import", "url": "https://x.example/f.xml",
               "supplier_code": "pumps"}),
    )
    .expect("allowed");
    assert_eq!(plan.args[0]["tenant_id"], "acme");
    assert!(
        plan.args[0]["supplier_code"]
            .as_str()
            .unwrap_or("")
            .starts_with("import-")
    );
    // Naming another tenant outright is refused.
    let err = try_start(
        &a,
        json!({"workflow_type": "harvest", "supplier_code": "x", "tenant_id": "beta"}),
    )
    .expect_err("other tenant");
    assert_eq!(err.error_type, "permission_denied");
}

#[test]
fn enrichment_starts_for_the_tokens_tenant_with_checked_arguments() {
    let a = claims(&["acme"], &["worker:*"]);
    let plan = try_start(
        &a,
        json!({"workflow_type": "EnrichmentWorkflow", "supplier_code": "pumps",
               "product_ids": ["pumps/1"], "batch_size": 20, "args": [{"tenant_id": "beta"}]}),
    )
    .expect("allowed");
    assert_eq!(plan.args[0]["tenant_id"], "acme");
    assert_eq!(plan.args[0]["product_ids"], json!(["pumps/1"]));
    assert_eq!(plan.args[0]["batch_size"], 20);
    assert_eq!(plan.workflow_id, "enrich:acme:pumps");
    let plan = try_start(
        &a,
        json!({"workflow_type": "GardenerWorkflow", "batch_size": 50, "max_batches": 10}),
    )
    .expect("allowed");
    assert_eq!(plan.args, vec![json!("acme"), json!(50), json!(10)]);
    assert_eq!(plan.workflow_id, "gardener:acme");
    for (bad, field) in [
        (
            json!({"workflow_type": "enrich", "product_ids": ["no-slash"]}),
            "product_ids",
        ),
        (
            json!({"workflow_type": "enrich", "product_ids": "pumps/1"}),
            "product_ids",
        ),
        (
            json!({"workflow_type": "enrich", "batch_size": -1}),
            "batch_size",
        ),
        (
            json!({"workflow_type": "enrich", "classifier": "../x"}),
            "classifier",
        ),
        (
            json!({"workflow_type": "gardener", "max_batches": 0}),
            "max_batches",
        ),
    ] {
        let e = try_start(&a, bad.clone()).expect_err("refused");
        assert_eq!(e.error_type, "validation", "{bad}");
        assert!(e.message.contains(field), "{bad}: {}", e.message);
    }
}

#[test]
fn other_types_queues_and_file_urls_are_refused_without_admin() {
    let a = claims(&["acme"], &["worker:*", "*"]);
    let refused = |p: Value| try_start(&a, p).expect_err("refused");
    assert_eq!(
        refused(json!({"workflow_type": "EvilWorkflow", "args": []})).error_type,
        "permission_denied"
    );
    assert_eq!(
        refused(json!({"workflow_type": "harvest", "supplier_code": "x", "task_queue": "other"}))
            .error_type,
        "permission_denied"
    );
    assert_eq!(
        refused(json!({"workflow_type": "import", "url": "file:///etc/passwd"})).error_type,
        "validation"
    );
    assert_eq!(
        refused(json!({"workflow_type": "harvest", "supplier_code": "../x"})).error_type,
        "validation"
    );
    let admin = claims(&["acme"], &["worker:execute", "worker:admin"]);
    let plan = try_start(
        &admin,
        json!({"workflow_type": "Maintenance", "args": [1], "request_id": "r"}),
    )
    .expect("admin");
    assert_eq!(plan.extras.reuse, Reuse::Request);
    assert!(
        plan.workflow_id.starts_with("Maintenance:acme:"),
        "{}",
        plan.workflow_id
    );
}

#[test]
fn the_operator_narrows_the_open_types() {
    let only_harvest =
        StartPolicy::new(Some(&["HarvestWorkflow".into()]), vec!["q".into()]).expect("ok");
    let a = claims(&["acme"], &["worker:execute"]);
    let err = only_harvest
        .plan(
            &a,
            &payload(json!({"workflow_type": "import", "url": "https://x/"})),
            "",
        )
        .expect_err("imports closed");
    assert_eq!(err.error_type, "permission_denied");
    assert!(StartPolicy::new(Some(&["Anything".into()]), vec!["q".into()]).is_err());
}
