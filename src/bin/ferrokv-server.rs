//! `ferrokv-server [/path/to/ferrokv.conf] [--seed template.conf] [--directive value ...]`
//!
//! `--seed` copies a template to the config path when that file does not
//! exist yet: a container's read-only template becomes a writable config
//! in its data volume, so CONFIG REWRITE (what Sentinel sends on a role
//! change) persists and a restarted node keeps the role it was given.

use anyhow::Context;

#[path = "../seed.rs"]
mod seed;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("ferrokv server v={} (redis compatibility {})", env!("CARGO_PKG_VERSION"), ferrokv_server::REDIS_VERSION);
        return Ok(());
    }
    if args.first().is_some_and(|a| a == "--test-memory") {
        test_memory(args.get(1));
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: ferrokv-server [/path/to/ferrokv.conf] [options]\n\nExamples:\n  ferrokv-server (run the server with default config)\n  ferrokv-server /etc/ferrokv/6379.conf\n  ferrokv-server --port 7777\n  ferrokv-server /etc/myferrokv.conf --loglevel verbose");
        return Ok(());
    }
    let (args, format) = match take_log_format(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    };
    let args = match take_seed(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    };
    let loaded = match ferrokv_server::config::load(&args) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    ferrokv_server::logging::init(&loaded.config, format);
    ferrokv_server::logging::banner(loaded.file.as_deref());
    if ferrokv_server::supervise::background(&loaded.config) {
        // Before any thread exists: only the forking thread survives a fork.
        ferrokv_server::supervise::daemonize();
    }
    ferrokv_server::panics::install_hook();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // Redis runs commands and Lua on a thread with an 8 MiB stack; deep
    // (bounded) recursion in scripts' conversions gets the same room here.
    builder.worker_threads(loaded.config.io_threads as usize).thread_stack_size(8 << 20).enable_all();
    let runtime = ferrokv_server::net::outbox::install(&mut builder).build().context("starting the runtime")?;
    if let Err(e) = runtime.block_on(ferrokv_server::run(loaded)) {
        // One line naming what is wrong: a port, a socket, or a file and offset.
        eprintln!("{e}");
        std::process::exit(1);
    }
    Ok(())
}

/// `--test-memory <megabytes>`, as redis-server: 50 passes, then the
/// verdict; exits.
fn test_memory(megabytes: Option<&String>) -> ! {
    let Some(mb) = megabytes.and_then(|m| m.parse::<usize>().ok()).filter(|m| *m > 0) else {
        eprintln!("Usage: ferrokv-server --test-memory <megabytes>");
        std::process::exit(1);
    };
    const PASSES: usize = 50;
    println!("Testing {mb} megabytes of memory, {PASSES} passes.");
    match ferrokv_server::memtest::run(mb, PASSES, |pass| println!("Pass {pass}/{PASSES} OK")) {
        Ok(()) => {
            println!("\nYour memory passed this test.\nPlease if you are still in doubt use the following two tools:\n1) memtest86: http://www.memtest86.com/\n2) memtester: http://pyropus.ca/software/memtester/");
            std::process::exit(0);
        }
        Err(m) => {
            println!(
                "\n*** MEMORY ERROR DETECTED: word {} is {:#018x}, {:#018x} was written.\nThis should not happen with working memory.",
                m.index, m.found, m.expected
            );
            std::process::exit(1);
        }
    }
}

/// Takes `--log-format redis|json` (ferrokv's own option, not a
/// directive) out of the arguments.
fn take_log_format(mut args: Vec<String>) -> anyhow::Result<(Vec<String>, ferrokv_log::Format)> {
    let Some(i) = args.iter().position(|a| a == "--log-format") else { return Ok((args, ferrokv_log::Format::Redis)) };
    let format = match args.get(i + 1).map(|s| s.as_str()) {
        Some("redis") => ferrokv_log::Format::Redis,
        Some("json") => ferrokv_log::Format::Json,
        _ => anyhow::bail!("--log-format takes 'redis' or 'json'"),
    };
    args.drain(i..i + 2);
    Ok((args, format))
}

/// Takes `--seed <template>` out of the arguments, copying the template to
/// the config file (the first argument) if that does not exist yet.
fn take_seed(args: Vec<String>) -> anyhow::Result<Vec<String>> {
    let Some(i) = args.iter().position(|a| a == "--seed") else { return Ok(args) };
    let template = args.get(i + 1).context("--seed needs a template path")?.clone();
    let config = args.first().filter(|a| !a.starts_with("--")).context("--seed needs a config file as the first argument")?;
    seed::seed(&template, config)?;
    let mut rest = args.clone();
    rest.drain(i..i + 2);
    Ok(rest)
}
