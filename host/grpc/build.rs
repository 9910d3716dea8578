//! Compile proto/ with protox (no protoc needed) into the tonic server and client.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not baked in with env!: one build-script binary can serve checkouts at
    // other paths that share a target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?;
    let root = std::path::Path::new(&manifest_dir).join("../../proto");
    let files = [
        root.join("contextunity/core/contextunit.proto"),
        root.join("contextunity/worker/worker.proto"),
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&root])?;
    // The ContextUnit messages come from contextworker-unit; only the service is built here.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".contextunity.core", "::contextworker_unit::pb::core")
        .compile_fds(fds)?;
    Ok(())
}
