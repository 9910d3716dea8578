//! Workflow ids and the memo fields every started workflow carries.
//!
//! Ids are built from values the starter vouches for (the tenant from a verified token or the
//! operator's command line, a validated catalog code, a hash of the client's request id),
//! never from free-form caller data, so one tenant can neither occupy nor obtain another's
//! run by choosing an id. `:` separates the parts: tenant and catalog codes cannot contain
//! it, so no two (tenant, catalog) pairs map to the same id.

use contextworker_types::Digest;

/// Memo field: the tenant a workflow acts for. GetTaskStatus answers only tokens of this
/// tenant (or an admin's).
pub const MEMO_TENANT: &str = "tenant_id";
/// Memo field: the client's request id, which makes a repeated start return the same run.
pub const MEMO_REQUEST: &str = "request_id";
/// Memo field: the `ContextUnit` id of the gRPC request that started the workflow.
pub const MEMO_UNIT: &str = "unit_id";
/// Memo field: the W3C `traceparent` of the span that started the workflow (when traces are
/// exported), which the worker copies into each activity's headers.
pub const MEMO_TRACEPARENT: &str = contextworker_telemetry::TRACEPARENT;

/// The id of a harvest of one catalog. One harvest per catalog runs at a time: a second start
/// while one runs is refused instead of racing it over the same rows.
pub fn harvest(tenant: &str, catalog: &str) -> String {
    format!("harvest:{tenant}:{catalog}")
}

/// The id of an enrichment of a tenant's pending products (of one supplier's, when given):
/// one at a time, so two runs never classify the same pending products at once.
pub fn enrichment(tenant: &str, supplier: Option<&str>) -> String {
    match supplier {
        Some(supplier) => format!("enrich:{tenant}:{supplier}"),
        None => format!("enrich:{tenant}"),
    }
}

/// The id of the gardener's pass over a tenant (the original's `gardener-{tenant_id}`, with
/// this host's separator): one at a time per tenant.
pub fn gardener(tenant: &str) -> String {
    format!("gardener:{tenant}")
}

/// The id of a schedule: its name within its tenant, so two tenants' `daily` never meet.
pub fn schedule(tenant: &str, name: &str) -> String {
    format!("{tenant}:{name}")
}

/// The catalog an import of `url` is staged under when the caller names none: re-importing a
/// URL updates the same catalog.
pub fn import_catalog(url: &str) -> String {
    format!("import-{}", Digest::of(url.as_bytes()).short())
}

/// The id of any other workflow started for a tenant: one per client request id (hashed, so
/// its length and characters are the server's), or a fresh one without.
pub fn per_request(workflow: &str, tenant: &str, request_id: Option<&str>) -> String {
    match request_id {
        Some(r) => format!(
            "{workflow}:{tenant}:{}",
            &Digest::of(r.as_bytes()).hex()[..32]
        ),
        None => format!("{workflow}:{tenant}:{}", uuid::Uuid::new_v4()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_collide_across_tenants() {
        // With `-` as the separator these two were the same id.
        assert_ne!(harvest("z", "x-y"), harvest("y-z", "x"));
        assert_ne!(
            per_request("W", "a", Some("b:c")),
            per_request("W", "a:b", Some("c"))
        );
        assert_eq!(
            per_request("W", "a", Some("r1")),
            per_request("W", "a", Some("r1"))
        );
        assert_ne!(per_request("W", "a", None), per_request("W", "a", None));
        let id = per_request("W", "a", Some(&"x".repeat(10_000)));
        assert!(id.len() < 64, "{id}");
    }
}
