//! The official `openai` and `anthropic` Python SDKs parse the replay provider's output (text and tool
//! calls, streaming and not, every format), so the replay cannot drift into a dialect only modelport
//! understands. The SDKs are installed from PyPI into a virtualenv under `target/` by the test itself.

use std::path::PathBuf;
use std::process::Command;

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport_e2e::fixtures;

/// A virtualenv with the two SDKs; `None` (with the reason) when it cannot be made outside CI.
fn sdk_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/conformance-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".sdks-installed");
    if !ready.exists() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let steps: [&[&str]; 2] = [
            &["python3", "-m", "venv", venv.to_str()?],
            &[
                python.to_str()?,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "openai>=1.60",
                "anthropic>=0.40",
            ],
        ];
        for step in steps {
            let status = Command::new(step[0]).args(&step[1..]).status();
            if !status.is_ok_and(|s| s.success()) {
                assert!(
                    !ci,
                    "could not install the official SDKs ({step:?}); CI needs them"
                );
                eprintln!("skipping: could not install the official SDKs ({step:?})");
                return None;
            }
        }
        std::fs::write(&ready, b"ok").ok()?;
    }
    Some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_parse_every_kind_of_replay_output() {
    let Some(python) = sdk_python() else { return };
    let server = ReplayServer::from_path(
        fixtures().join("replay/conformance.yaml"),
        ReplayConfig {
            delta_chars: 9,
            ..Default::default()
        },
    )
    .await
    .expect("replay");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/sdk_conformance.py");
    let url = server.url();
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(url).output())
            .await
            .expect("join")
            .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "conformance failed:\n{stdout}\n{stderr}"
    );
    for case in [
        "chat text",
        "chat tool call",
        "chat stream text",
        "chat stream tool call",
        "chat raw stream chunks",
        "responses text",
        "responses tool call",
        "responses stream text",
        "responses stream tool call",
        "azure deployment route text",
        "azure v1 route responses text",
        "anthropic text",
        "anthropic tool call",
        "anthropic stream text",
        "anthropic stream tool call",
    ] {
        assert!(
            stdout.lines().any(|l| l == format!("ok {case}")),
            "missing {case}:\n{stdout}"
        );
    }
    server.stop().await;
}
