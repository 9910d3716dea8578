//! `suppliers list | validate`.

use contextworker_config::{FeedSource, Supplier};
use contextworker_registry::Registry;
use contextworker_runtime::{Counting, FeedInput};
use contextworker_types::World;
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::commands::{EXIT_FAILED, EXIT_OK};
use crate::context;

fn source_text(s: &Supplier) -> String {
    match &s.source {
        FeedSource::Http(url) => url.clone(),
        FeedSource::File(path) => format!("file:{}", path.display()),
    }
}

pub fn list(args: &GlobalArgs, as_json: bool) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let (suppliers, failures) = Supplier::load_dir(&config.suppliers_dir)?;
    if as_json {
        let rows: Vec<_> = suppliers
            .iter()
            .map(|s| {
                json!({ "code": s.code, "name": s.name, "tenant": s.tenant, "module": s.module,
                        "source": source_text(s), "enabled": s.enabled })
            })
            .collect();
        let refused: Vec<String> = failures.iter().map(ToString::to_string).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "suppliers": rows, "refused": refused }))?
        );
        return Ok(EXIT_OK);
    }
    println!(
        "{:<20} {:<12} {:<16} {:<8} SOURCE",
        "CODE", "TENANT", "MODULE", "ENABLED"
    );
    for s in &suppliers {
        println!(
            "{:<20} {:<12} {:<16} {:<8} {}",
            s.code,
            s.tenant,
            s.module,
            s.enabled,
            source_text(s)
        );
    }
    for failure in &failures {
        println!("refused: {failure}");
    }
    Ok(EXIT_OK)
}

pub async fn validate(args: &GlobalArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let (suppliers, failures) = Supplier::load_dir(&config.suppliers_dir)?;
    let mut failed = failures.len();
    for failure in &failures {
        println!("FAIL {failure}");
    }
    let runtime = context::runtime(&config)?;
    let wanted: Vec<String> = suppliers.iter().map(|s| s.module.to_string()).collect();
    let registry = Registry::discover(&runtime, &config.modules_dir, Some(&wanted))
        .await?
        .registry;
    for supplier in &suppliers {
        match check(&runtime, &registry, &config.secrets, supplier).await {
            Ok(what) => println!("ok   {}: {what}", supplier.code),
            Err(why) => {
                failed += 1;
                println!("FAIL {}: {why}", supplier.code);
            }
        }
    }
    println!(
        "{} supplier(s) checked, {failed} failure(s)",
        suppliers.len() + failures.len()
    );
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILED })
}

async fn check(
    runtime: &contextworker_runtime::Runtime,
    registry: &Registry,
    secrets: &contextworker_config::SecretPolicy,
    supplier: &Supplier,
) -> Result<String, String> {
    let module = registry.get(supplier.module.as_str()).ok_or_else(|| {
        format!(
            "module `{}` is not loaded from {}",
            supplier.module,
            registry.dir().display()
        )
    })?;
    if module.manifest.world != World::Transformer {
        return Err(format!(
            "module `{}` is a {} module, not a transformer",
            supplier.module, module.manifest.world
        ));
    }
    // The worker refuses a variable outside the operator's secret policy; say so here first.
    for var in supplier.env_vars() {
        secrets.check(var).map_err(|e| e.to_string())?;
    }
    let missing: Vec<&str> = supplier
        .env_vars()
        .into_iter()
        .filter(|v| std::env::var_os(v).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "environment variable(s) {} not set in this environment",
            missing.join(", ")
        ));
    }
    let path = match &supplier.source {
        FeedSource::Http(url) => {
            return Ok(format!(
                "module `{}` ready; {url} is fetched at harvest time",
                supplier.module
            ));
        }
        FeedSource::File(path) => path,
    };
    let input = FeedInput::open(path)
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let (outcome, counted) = runtime
        .transform_into(
            &module.component,
            &module.call_spec(&supplier.config),
            input,
            Counting::default(),
        )
        .await;
    let Counting { products, warnings } = counted.unwrap_or_default();
    outcome
        .result
        .map_err(|e| format!("{} parsing {}: {e}", e.class(), path.display()))?;
    Ok(format!(
        "{} parses {} into {products} products ({warnings} warnings)",
        supplier.module,
        path.display()
    ))
}
