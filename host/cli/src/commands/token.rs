//! `token`: mint a ContextUnity token for calling the gRPC service.

use contextworker_grpc::auth::{Claims, mint_hmac, mint_unsigned};

use crate::cli::TokenArgs;
use crate::commands::EXIT_OK;

pub fn run(args: &TokenArgs) -> anyhow::Result<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = Claims {
        permissions: args.permissions.clone(),
        allowed_tenants: args.tenants.clone(),
        iat: Some(now as f64),
        ..Claims::new(uuid_like(now), &[], &[], Some((now + args.ttl_secs) as f64))
    };
    let token = if args.unsigned {
        mint_unsigned(&claims)
    } else {
        let var = args.secret_env.as_deref().unwrap_or_default();
        let secret = std::env::var(var)
            .map_err(|_| anyhow::anyhow!("environment variable {var} (--secret-env) is not set"))?;
        mint_hmac(&args.kid, secret.as_bytes(), &claims)
    };
    println!("{token}");
    Ok(EXIT_OK)
}

fn uuid_like(now: u64) -> String {
    format!("tok-{now:x}-{:x}", std::process::id())
}
