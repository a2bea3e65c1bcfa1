//! Compiles proto/ with protox (pure Rust), so no system `protoc` is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = root.join("ferrokv/replication/v1/replication.proto");
    let fds = protox::compile([&file], [&root])?;
    tonic_prost_build::configure().bytes(".").build_client(true).build_server(true).compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", file.display());
    Ok(())
}
