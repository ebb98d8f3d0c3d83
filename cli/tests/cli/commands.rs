//! The non-interactive commands as child processes against the replay provider on 127.0.0.1.

use modelport::ErrorKind;
use serde_json::Value;

use crate::support::*;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Provider flags for a replay server at `url`.
fn at(url: &str) -> Vec<String> {
    [
        "--provider",
        "openai",
        "--base-url",
        &format!("{url}/v1"),
        "--model",
        "modelport-replay",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn args(list: &[&str], provider: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.to_string())
        .chain(provider.iter().cloned())
        .collect()
}

fn modelport_with(home: &std::path::Path, args: &[String]) -> std::process::Command {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    modelport(home, &refs)
}

#[test]
fn models_lists_the_fixture_models() {
    let home = home();
    let served = Served::start(home.path(), &[]);
    assert!(
        served
            .banner
            .starts_with("modelport replay provider listening on http://127.0.0.1:"),
        "{}",
        served.banner
    );
    let provider = at(&served.url());
    let expected = fixture().models;
    assert!(!expected.is_empty());

    let out = run(modelport_with(home.path(), &args(&["models"], &provider)));
    assert!(out.status.success(), "{}", both(&out));
    let listed: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(listed, expected, "{}", both(&out));

    let out = run(modelport_with(
        home.path(),
        &args(&["models", "--json"], &provider),
    ));
    assert!(out.status.success(), "{}", both(&out));
    let ids: Vec<Value> = json(&out)
        .as_array()
        .expect("an array")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(
        ids,
        expected
            .iter()
            .map(|m| Value::from(m.as_str()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn models_offline_lists_the_built_in_fixture() {
    let home = home();
    let out = run(modelport(home.path(), &["models"]));
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), fixture().models);
}

#[test]
fn check_passes_against_a_replay_server() {
    let home = home();
    let served = Served::start(home.path(), &["--json"]);
    let provider = at(&served.url());
    let answer = &exchanges(&conversation("Reply with one word"))[0].1;

    let out = run(modelport_with(home.path(), &args(&["check"], &provider)));
    assert!(out.status.success(), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("answered \"{answer}\"")), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
    assert!(
        text.contains(&format!("{}/v1/chat/completions", served.url())),
        "{text}"
    );

    let out = run(modelport_with(
        home.path(),
        &args(&["check", "--json"], &provider),
    ));
    assert!(out.status.success(), "{}", both(&out));
    let doc = json(&out);
    assert_eq!(doc["ok"], true, "{doc}");
    let steps = doc["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{doc}");
    assert!(steps.iter().all(|s| s["ok"] == true), "{doc}");
    assert!(
        steps[1]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(answer.as_str()),
        "{doc}"
    );
    assert_eq!(doc["provider"]["offline"], false, "{doc}");
}

#[test]
fn check_on_a_refused_port_fails_with_the_local_server_hint() {
    let home = home();
    let url = format!("http://127.0.0.1:{}", refused_port());
    let provider = at(&url);

    let out = run(modelport_with(home.path(), &args(&["check"], &provider)));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("(transport)"), "{text}");
    assert!(text.contains("could not connect to"), "{text}");
    assert!(
        text.contains("Is the local model server running?"),
        "{text}"
    );

    let out = run(modelport_with(
        home.path(),
        &args(&["check", "--json"], &provider),
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let doc = json(&out);
    assert_eq!(doc["ok"], false, "{doc}");
    let error = &doc["steps"][1]["error"];
    assert_eq!(error["code"], ErrorKind::Transport.as_str(), "{doc}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Is the local model server running?"),
        "{doc}"
    );
}

#[test]
fn check_on_a_refused_key_prints_the_auth_checklist() {
    let home = home();
    let fixture = fixture_file("unauthorized.yaml");
    let text = std::fs::read_to_string(&fixture).expect("read the fixture");
    let refusal = modelport::replay::snapshot::parse(&text)
        .expect("parse the fixture")
        .errors[0]
        .message
        .clone()
        .expect("a message");
    let served = Served::start_file(home.path(), &fixture, &[]);
    let mut provider = at(&served.url());
    provider.extend(["--api-key-env".to_owned(), "MP_TEST_KEY".to_owned()]);
    let key = "sk-cli-test-0123456789";

    let mut cmd = modelport_with(home.path(), &args(&["check"], &provider));
    cmd.env("MP_TEST_KEY", key);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains("(auth)"), "{text}");
    assert!(text.contains(&refusal), "{text}");
    assert!(
        text.contains("check that: (1) the API key is correct"),
        "{text}"
    );
    assert!(!both(&out).contains(key), "{}", both(&out));

    let mut cmd = modelport_with(home.path(), &args(&["models", "--json"], &provider));
    cmd.env("MP_TEST_KEY", key);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(
        json(&out)["error"]["code"],
        ErrorKind::Auth.as_str(),
        "{}",
        both(&out)
    );
}

#[test]
fn check_names_the_fix_for_an_azure_endpoint_given_as_openai() {
    let home = home();
    let out = run(modelport(
        home.path(),
        &[
            "check",
            "--provider",
            "openai",
            "--base-url",
            "https://my-resource.openai.azure.com",
            "--model",
            "my-deployment",
        ],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains("FAILED configuration"), "{text}");
    assert!(text.contains("use type \"azure\""), "{text}");
    // The configuration is refused before anything is sent.
    assert!(!text.contains("one turn"), "{text}");
}

#[test]
fn check_offline_uses_the_built_in_provider() {
    let home = home();
    let answer = &exchanges(&conversation("Reply with one word"))[0].1;
    let out = run(modelport(home.path(), &["check", "--json"]));
    assert!(out.status.success(), "{}", both(&out));
    let doc = json(&out);
    assert_eq!(doc["provider"]["offline"], true, "{doc}");
    assert!(
        doc["steps"][1]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(answer.as_str()),
        "{doc}"
    );
}

#[test]
fn an_unset_api_key_variable_is_named() {
    let home = home();
    let mut cmd = modelport(
        home.path(),
        &[
            "check",
            "--provider",
            "openai",
            "--model",
            "m",
            "--api-key-env",
            "MP_TEST_NO_SUCH_KEY",
        ],
    );
    cmd.env_remove("MP_TEST_NO_SUCH_KEY");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stdout(&out).contains("the variable MP_TEST_NO_SUCH_KEY is not set"),
        "{}",
        both(&out)
    );
}

#[test]
fn a_provider_flag_without_a_provider_is_refused() {
    let home = home();
    let out = run(modelport(
        home.path(),
        &["models", "--base-url", "http://127.0.0.1:1/v1"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stderr(&out).contains("--base-url needs a provider"),
        "{}",
        both(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    let home = home();
    let out = run(modelport(home.path(), &["chat", "--provider", "nope"]));
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
}

#[test]
fn sessions_list_show_and_delete() {
    let home = home();
    let store = format!("sqlite://{}/sessions.db", home.path().display());
    let (prompt, answer) = exchanges(&conversation("What is 2+2?"))[0].clone();

    let out = run_with_input(
        modelport(home.path(), &["chat", "--store", &store]),
        &format!("{prompt}\n"),
    );
    assert!(out.status.success(), "{}", both(&out));
    let ids = session_ids(&stdout(&out));
    assert_eq!(ids.len(), 1, "{}", both(&out));
    let id = ids[0].as_str();

    let out = run(modelport(
        home.path(),
        &["sessions", "list", "--store", &store],
    ));
    assert!(out.status.success(), "{}", both(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(id) && text.contains(&prompt), "{text}");

    let out = run(modelport(
        home.path(),
        &["sessions", "list", "--store", &store, "--json"],
    ));
    let doc = json(&out);
    assert_eq!(doc[0]["sessionId"], id, "{doc}");
    assert_eq!(doc[0]["summary"], prompt.as_str(), "{doc}");
    assert_eq!(doc[0]["model"], "modelport-replay", "{doc}");

    let out = run(modelport(
        home.path(),
        &["sessions", "show", id, "--store", &store],
    ));
    assert!(out.status.success(), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("> {prompt}")), "{text}");
    assert!(text.contains(&answer), "{text}");

    let out = run(modelport(
        home.path(),
        &["sessions", "show", id, "--store", &store, "--json"],
    ));
    let doc = json(&out);
    assert_eq!(doc["session"]["sessionId"], id, "{doc}");
    let answers: Vec<&Value> = doc["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "assistant.message")
        .map(|e| &e["data"]["content"])
        .collect();
    assert_eq!(answers, vec![&Value::from(answer.as_str())], "{doc}");

    let out = run(modelport(
        home.path(),
        &["sessions", "delete", id, "--store", &store],
    ));
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        stdout(&out).contains(&format!("deleted session {id}")),
        "{}",
        both(&out)
    );

    let out = run(modelport(
        home.path(),
        &["sessions", "delete", id, "--store", &store],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let out = run(modelport(
        home.path(),
        &["sessions", "list", "--store", &store, "--json"],
    ));
    assert_eq!(json(&out), serde_json::json!([]));

    let out = run(modelport(
        home.path(),
        &["--json", "sessions", "show", id, "--store", &store],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert_eq!(
        json(&out)["error"]["code"],
        ErrorKind::SessionNotFound.as_str()
    );
}

#[cfg(unix)]
#[test]
fn replay_serve_listens_on_the_given_port_until_ctrl_c() {
    let home = home();
    let port = refused_port().to_string();
    let served = Served::start(home.path(), &["--port", &port, "--json"]);
    let banner: Value = serde_json::from_str(&served.banner).expect("a JSON banner");
    assert_eq!(banner["url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(banner["openaiUrl"], format!("http://127.0.0.1:{port}/v1"));

    let out = run(modelport_with(
        home.path(),
        &args(&["models"], &at(&served.url())),
    ));
    assert!(out.status.success(), "{}", both(&out));

    let status = served.interrupt();
    assert!(status.success(), "{status:?}");
    let out = run(modelport_with(
        home.path(),
        &args(&["models"], &at(&format!("http://127.0.0.1:{port}"))),
    ));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the server still answers: {}",
        both(&out)
    );
}

#[test]
fn replay_serve_reports_a_missing_file() {
    let home = home();
    let missing = home.path().join("missing.yaml");
    let out = run(modelport(
        home.path(),
        &["replay", "serve", missing.to_str().expect("utf-8")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stderr(&out).contains("missing.yaml"), "{}", both(&out));
}
