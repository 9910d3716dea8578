//! Compile the ContextUnit messages (no services) with protox, so no protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not baked in with env!: one build-script binary can serve checkouts at
    // other paths that share a target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?;
    let root = std::path::Path::new(&manifest_dir).join("../../proto");
    let file = root.join("contextunity/core/contextunit.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&root])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(false)
        .compile_fds(fds)?;
    Ok(())
}
