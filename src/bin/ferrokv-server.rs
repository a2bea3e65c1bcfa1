//! `ferrokv-server [/path/to/ferrokv.conf] [--directive value ...]`

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("ferrokv server v={} (redis compatibility {})", env!("CARGO_PKG_VERSION"), ferrokv_server::REDIS_VERSION);
        return Ok(());
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: ferrokv-server [/path/to/ferrokv.conf] [options]\n\nExamples:\n  ferrokv-server (run the server with default config)\n  ferrokv-server /etc/ferrokv/6379.conf\n  ferrokv-server --port 7777\n  ferrokv-server /etc/myferrokv.conf --loglevel verbose");
        return Ok(());
    }
    let loaded = match ferrokv_server::config::load(&args) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    ferrokv_server::logging::init(&loaded.config);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(loaded.config.io_threads as usize).enable_all();
    let runtime = ferrokv_server::outbox::install(&mut builder).build().context("starting the runtime")?;
    if let Err(e) = runtime.block_on(ferrokv_server::run(loaded)) {
        // One line naming what is wrong: a port, a socket, or a file and offset.
        eprintln!("{e}");
        std::process::exit(1);
    }
    Ok(())
}
