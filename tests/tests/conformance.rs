//! The official `openai` and `anthropic` Python SDKs parse the replay provider's output (text and tool
//! calls, streaming and not, every format), so the replay cannot drift into a dialect only modelport
//! understands. The SDKs are installed from PyPI into a virtualenv under `target/` by the test itself;
//! when they cannot be, the test fails under CI=true and is skipped, with the reason, elsewhere.

use std::path::PathBuf;
use std::process::Command;

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport_e2e::fixtures;

/// A virtualenv in which the two SDKs import, or why there is none.
fn sdk_python() -> Result<PathBuf, String> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/conformance-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".sdks-installed");
    if !ready.exists() {
        let venv_arg = venv.to_str().ok_or("the virtualenv's path is not UTF-8")?;
        let python_arg = python
            .to_str()
            .ok_or("the virtualenv's path is not UTF-8")?;
        let steps: [&[&str]; 2] = [
            &["python3", "-m", "venv", venv_arg],
            &[
                python_arg,
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
                return Err(format!("could not install the official SDKs ({step:?})"));
            }
        }
        std::fs::write(&ready, b"ok")
            .map_err(|e| format!("could not mark {} ready: {e}", venv.display()))?;
    }
    // The marker is no proof: a virtualenv left broken is made again on the next run.
    let imports = Command::new(&python)
        .args(["-c", "import openai, anthropic"])
        .status();
    if !imports.is_ok_and(|s| s.success()) {
        let _ = std::fs::remove_file(&ready);
        return Err(format!(
            "the official SDKs do not import in {}",
            venv.display()
        ));
    }
    Ok(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_parse_every_kind_of_replay_output() {
    let python = match sdk_python() {
        Ok(python) => python,
        Err(why) => {
            // CI must run this test; a user's machine without Python or PyPI skips it, saying why.
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "{why}: CI=true requires the official SDKs"
            );
            eprintln!("skipping: {why}");
            return;
        }
    };
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
