//! `ferrokv-sentinel path/to/sentinel.conf [--port N] [--seed template.conf]`:
//! see docs/sentinel.md. `--seed` copies a template to the config path when
//! it does not exist yet (a container's read-only template, its state kept
//! in a volume).

use anyhow::Context;

#[path = "../seed.rs"]
mod seed;

const USAGE: &str = "Usage: ferrokv-sentinel /path/to/sentinel.conf [--port <port>] [--seed <template.conf>]\n       ferrokv-sentinel -v or --version\n       ferrokv-sentinel -h or --help";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("ferrokv sentinel v={} (redis compatibility {})", env!("CARGO_PKG_VERSION"), ferrokv_server::REDIS_VERSION);
        return Ok(());
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let Some(path) = args.first().filter(|a| !a.starts_with("--")) else { usage() };
    let mut port = None;
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--port" => port = Some(rest.next().and_then(|p| p.parse::<u16>().ok()).unwrap_or_else(|| usage())),
            "--seed" => {
                let template = rest.next().unwrap_or_else(|| usage());
                seed::seed(template, path)?;
            }
            "--sentinel" => {}
            _ => usage(),
        }
    }
    ferrokv_log::init(ferrokv_log::Options {
        verbosity: ferrokv_log::Verbosity::Notice,
        logfile: String::new(),
        syslog: None,
        format: ferrokv_log::Format::Redis,
        role: ferrokv_log::role::SENTINEL,
    });
    let path = std::fs::canonicalize(path).with_context(|| format!("Sentinel config file {path} not found"))?;
    match ferrokv_sentinel::start(path, port).await {
        Ok(handle) => {
            // As PID 1 in a container nothing else ends us on `docker stop`:
            // SIGTERM and SIGINT save the state and exit at once.
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("installing the SIGTERM handler")?;
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
            tracing::warn!("Received {which} scheduling shutdown...");
            handle.sentinel.state.lock().dirty = true;
            handle.sentinel.save_if_dirty();
            tracing::warn!("Sentinel is now ready to exit, bye bye...");
            Ok(())
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
