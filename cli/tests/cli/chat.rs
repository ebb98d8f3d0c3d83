//! `modelport chat`: piped (plain text, JSON lines) and on a pseudo-terminal against a replay server
//! the test runs, whose recorded requests show what went on the wire.

use serde_json::Value;

use crate::support::*;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

#[test]
fn piped_chat_prints_plain_text_with_the_tool_calls() {
    let home = home();
    let store = format!("sqlite://{}/sessions.db", home.path().display());
    let messages = conversation("weather");
    let prompt = messages[0].content.clone().expect("a prompt");
    let call = &messages[1].tool_calls[0];
    let tool_result = messages[2].content.clone().expect("a tool result");
    let (_, answer) = exchanges(&messages)[0].clone();

    let out = run_with_input(
        modelport(home.path(), &["chat", "--store", &store]),
        &format!("{prompt}\n/exit\n"),
    );
    assert!(out.status.success(), "{}", both(&out));
    let text = stdout(&out);
    for expected in [
        format!("> {prompt}"),
        messages[1].content.clone().expect("text before the call"),
        format!("[tool] {} {}", call.function.name, call.function.arguments),
        format!("[tool] {} failed: {tool_result}", call.function.name),
        answer,
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} missing:\n{}",
            both(&out)
        );
    }
    // Nothing for a terminal: no escape code, no spinner, no carriage return.
    assert!(
        !text.contains('\x1b') && !stderr(&out).contains('\x1b'),
        "{text:?}"
    );
    assert!(!text.contains(SPINNER) && !text.contains('\r'), "{text:?}");
    let ids = session_ids(&text);
    assert_eq!(ids.len(), 1, "{text}");
    assert!(
        text.contains(&format!("modelport chat --session {}", ids[0])),
        "{text}"
    );
}

#[test]
fn json_chat_prints_one_event_per_line() {
    let home = home();
    let (prompt, answer) = exchanges(&conversation("What is 2+2?"))[0].clone();
    let out = run_with_input(
        modelport(home.path(), &["chat", "--json", "--store", "memory"]),
        &format!("{prompt}\n"),
    );
    assert!(out.status.success(), "{}", both(&out));
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"session.start"), "{types:?}");
    assert_eq!(types.last(), Some(&"session.idle"), "{types:?}");
    for kind in [
        "user.message",
        "assistant.message_delta",
        "assistant.message",
    ] {
        assert!(types.contains(&kind), "{kind} missing: {types:?}");
    }
    let message = events
        .iter()
        .find(|e| e["type"] == "assistant.message")
        .expect("a message");
    assert_eq!(message["data"]["content"], answer.as_str());
    let streamed: String = events
        .iter()
        .filter(|e| e["type"] == "assistant.message_delta")
        .filter_map(|e| e["data"]["deltaContent"].as_str())
        .collect();
    assert_eq!(streamed, answer);
}

#[test]
fn resuming_an_unknown_session_fails() {
    let home = home();
    let store = format!("sqlite://{}/sessions.db", home.path().display());
    let out = run(modelport(
        home.path(),
        &["chat", "--store", &store, "--session", "nope"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        stderr(&out).contains("no session with id \"nope\""),
        "{}",
        both(&out)
    );
}

/// A replay server in this process, so the test sees each request the chat sent.
struct Server {
    runtime: tokio::runtime::Runtime,
    server: modelport::replay::ReplayServer,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let server = runtime
            .block_on(modelport::replay::ReplayServer::from_path(
                fixture_path(),
                modelport::replay::ReplayConfig::default(),
            ))
            .expect("start the replay server");
        Server { runtime, server }
    }

    /// The chat-completions request bodies so far.
    fn bodies(&self) -> Vec<Value> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .map(|r| r.body)
            .collect()
    }

    fn provider(&self) -> Vec<String> {
        let url = self.server.openai_url();
        [
            "--provider",
            "openai",
            "--base-url",
            &url,
            "--model",
            "modelport-replay",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.runtime.block_on(self.server.stop());
    }
}

/// The user and assistant texts a request carries.
fn texts(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_session_config_file_sets_the_system_message() {
    let home = home();
    let server = Server::start();
    let file = home.path().join("session.json");
    std::fs::write(
        &file,
        r#"{"systemMessage": {"content": "Answer in one line."}}"#,
    )
    .expect("write");
    let (prompt, answer) = exchanges(&conversation("What is 2+2?"))[0].clone();
    let mut args = vec![
        "chat",
        "--store",
        "memory",
        "--session-config",
        file.to_str().expect("utf-8"),
    ];
    let provider = server.provider();
    args.extend(provider.iter().map(String::as_str));
    let out = run_with_input(modelport(home.path(), &args), &format!("{prompt}\n"));
    assert!(out.status.success(), "{}", both(&out));
    assert!(stdout(&out).contains(&answer), "{}", both(&out));
    let body = &server.bodies()[0];
    assert_eq!(body["messages"][0]["role"], "system", "{body}");
    assert_eq!(
        body["messages"][0]["content"], "Answer in one line.",
        "{body}"
    );
    assert_eq!(body["stream"], true, "{body}");
}

#[cfg(unix)]
#[test]
fn chat_on_a_terminal_switches_models_resets_and_resumes() {
    let home = home();
    let store = format!("sqlite://{}/sessions.db", home.path().display());
    let server = Server::start();
    let turns = exchanges(&conversation("What is 2+2?"));
    let [(q1, a1), (q2, a2), (q3, a3)] = [turns[0].clone(), turns[1].clone(), turns[2].clone()];
    let mut args = vec!["chat".to_owned(), "--store".to_owned(), store.clone()];
    args.extend(server.provider());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut pty = Pty::spawn(modelport(home.path(), &refs));
    pty.wait_for("/model NAME", 1);
    pty.send(&q1);
    pty.wait_for(&a1, 1);

    pty.send("/model other-model");
    pty.wait_for("model modelport-replay -> other-model", 1);
    pty.send(&q2);
    pty.wait_for(&a2, 1);
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["model"], "modelport-replay");
    assert_eq!(bodies[1]["model"], "other-model");
    assert_eq!(texts(&bodies[1]), [q1.clone(), a1.clone(), q2.clone()]);

    pty.send("/reset");
    let shown = pty.wait_for("(model modelport-replay)", 2);
    let ids = session_ids(&shown);
    assert_eq!(ids.len(), 2, "{shown}");
    assert_ne!(ids[0], ids[1]);
    pty.send(&q1);
    pty.wait_for(&a1, 2);
    // The new session starts with an empty history.
    assert_eq!(texts(&server.bodies()[2]), std::slice::from_ref(&q1));

    pty.send("/exit");
    let raw = pty.raw();
    assert!(pty.exit().success());
    // On a terminal: colours, and the spinner before the first token.
    assert!(
        raw.contains("\x1b[1m") && raw.contains("\x1b[0m"),
        "{raw:?}"
    );
    assert!(raw.contains(SPINNER), "no spinner frame in {raw:?}");

    // A new process resumes the first session from the store and continues it.
    let mut args = vec!["chat", "--store", &store, "--session", &ids[0]];
    let provider = server.provider();
    args.extend(provider.iter().map(String::as_str));
    let mut pty = Pty::spawn(modelport(home.path(), &args));
    let shown = pty.wait_for("/model NAME", 1);
    assert_eq!(session_ids(&shown), [ids[0].clone()], "{shown}");
    assert!(shown.contains("resumed:"), "{shown}");
    for earlier in [&q1, &a1, &q2, &a2] {
        assert!(
            shown.contains(earlier.as_str()),
            "{earlier:?} missing:\n{shown}"
        );
    }
    pty.send(&q3);
    pty.wait_for(&a3, 1);
    let last = server.bodies().pop().expect("a request");
    assert_eq!(texts(&last), [q1, a1, q2, a2, q3]);
    // --model wins over the model the session was switched to.
    assert_eq!(last["model"], "modelport-replay");
    pty.send("/exit");
    assert!(pty.exit().success());
}
