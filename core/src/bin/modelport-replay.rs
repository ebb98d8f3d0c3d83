//! The replay provider as a process: plays Copilot-snapshot YAML conversations over loopback HTTP.
//!
//! `cargo run -p modelport --features replay --bin modelport-replay -- DIR_OR_FILE... [--port N]
//! [--delta-chars N] [--chunk-delay-ms N] [--no-record]`
//!
//! Prints the URL it listens on, then serves until interrupted.

use std::path::PathBuf;
use std::time::Duration;

use modelport::replay::{ReplayConfig, ReplayServer, snapshot};

fn usage() -> ! {
    eprintln!(
        "usage: modelport-replay DIR_OR_FILE... [--port N] [--delta-chars N] [--chunk-delay-ms N] [--fallback TEXT]\n\
         Serves the stored conversations on http://127.0.0.1:PORT (OpenAI base URL: .../v1)."
    );
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(value: Option<String>, flag: &str) -> T {
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("modelport-replay: {flag} needs a number");
        usage()
    })
}

#[tokio::main]
async fn main() {
    let mut config = ReplayConfig {
        record: false,
        ..Default::default()
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => config.port = number(args.next(), "--port"),
            "--delta-chars" => config.delta_chars = number(args.next(), "--delta-chars"),
            "--chunk-delay-ms" => {
                config.chunk_delay = Some(Duration::from_millis(number(
                    args.next(),
                    "--chunk-delay-ms",
                )))
            }
            "--record" => config.record = true,
            "--fallback" => config.fallback = args.next(),
            "--no-record" => config.record = false,
            "-h" | "--help" => usage(),
            other if other.starts_with('-') => {
                eprintln!("modelport-replay: unknown option {other}");
                usage()
            }
            path => paths.push(path.into()),
        }
    }
    if paths.is_empty() {
        usage();
    }
    let mut snapshots = Vec::new();
    for p in &paths {
        match snapshot::load(p) {
            Ok(found) => snapshots.extend(found.into_iter().map(|(_, s)| s)),
            Err(e) => {
                eprintln!("modelport-replay: {e}");
                std::process::exit(1);
            }
        }
    }
    let count: usize = snapshots.iter().map(|s| s.conversations.len()).sum();
    let server = match ReplayServer::start(snapshots, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modelport-replay: {e}");
            std::process::exit(1);
        }
    };
    println!("modelport replay provider listening on {}", server.url());
    println!(
        "  OpenAI base URL: {} ({count} conversations)",
        server.openai_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    server.stop().await;
}
