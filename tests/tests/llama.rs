//! modelport against a real model server nobody here wrote: llama.cpp's server (the xllamacpp wheel)
//! running SmolLM2-135M-Instruct on 127.0.0.1, offline, through all three wire formats. The test
//! starts the server itself (tests/llama/serve.py, in a virtualenv made by tests/llama/setup.sh under
//! the build directory); when the server cannot start, the test fails with its log.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use modelport::{
    Client, ClientOptions, EventData, ProviderConfig, Session, SessionConfig, WireApi,
};

const ALIAS: &str = "smollm2";
const WAIT: Option<Duration> = Some(Duration::from_secs(120));

struct LlamaServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn start_server() -> LlamaServer {
    let setup = Command::new("bash")
        .arg(root().join("tests/llama/setup.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs tests/llama/setup.sh");
    assert!(
        setup.status.success(),
        "could not install llama.cpp's server (tests/llama/setup.sh failed)"
    );
    let python = String::from_utf8_lossy(&setup.stdout).trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let log = std::env::temp_dir().join(format!("modelport-llama-{port}.log"));
    let child = Command::new(&python)
        .arg(root().join("tests/llama/serve.py"))
        .arg(port.to_string())
        .arg(ALIAS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("python starts");
    let mut server = LlamaServer {
        child,
        url: String::new(),
        log,
    };
    let stdout = server.child.stdout.take().expect("stdout");
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    match line.strip_prefix("READY ") {
        Some(url) => server.url = url.trim().to_owned(),
        None => panic!(
            "llama.cpp's server did not start:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        ),
    }
    server
}

fn providers(url: &str) -> [(&'static str, ProviderConfig); 3] {
    [
        (
            "chat completions",
            ProviderConfig::openai(format!("{url}/v1")),
        ),
        (
            "responses",
            ProviderConfig::openai(format!("{url}/v1")).with_wire_api(WireApi::Responses),
        ),
        ("anthropic messages", ProviderConfig::anthropic(url)),
    ]
}

async fn session(client: &Client, provider: ProviderConfig, streaming: bool, cap: u32) -> Session {
    client
        .create_session(
            SessionConfig::new(ALIAS, provider.with_max_output_tokens(cap))
                .with_streaming(streaming)
                .with_system_message("You are a helpful assistant. Answer briefly."),
        )
        .await
        .expect("session")
}

/// The answer, the streamed deltas joined, and the last usage (input, output, finish reason).
async fn turn(s: &Session, prompt: &str) -> (String, String, (u64, u64, String)) {
    let mut events = s.events_with_buffer(100_000);
    let reply = s
        .send_and_wait(prompt, WAIT)
        .await
        .expect("turn")
        .expect("an answer");
    let mut deltas = String::new();
    let mut usage = (0, 0, String::new());
    while let Some(Ok(e)) = events.next().await {
        match &e.data {
            EventData::MessageDelta(d) => deltas.push_str(&d.delta_content),
            EventData::Usage(u) => {
                usage = (
                    u.input_tokens,
                    u.output_tokens,
                    u.finish_reason.clone().unwrap_or_default(),
                )
            }
            EventData::TurnRetry(r) => eprintln!("retried: {}", r.reason),
            EventData::SessionIdle(_) => break,
            _ => {}
        }
    }
    (
        reply.content().unwrap_or_default().to_owned(),
        deltas,
        usage,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_cpp_server_in_every_wire_format() {
    let server = tokio::task::spawn_blocking(start_server)
        .await
        .expect("join");
    let started = Instant::now();
    let client = Client::new(ClientOptions::default()).expect("client");
    let mut cases = Vec::new();
    for (name, provider) in providers(&server.url) {
        // A non-streaming turn and a streaming one.
        let s = session(&client, provider.clone(), false, 24).await;
        let (text, deltas, (input, output, _)) = turn(&s, "Say hello in one short sentence.").await;
        assert!(!text.trim().is_empty(), "{name}: empty answer");
        assert!(deltas.is_empty(), "{name}: no deltas when not streaming");
        assert!(input > 0 && output > 0, "{name}: usage {input}/{output}");
        cases.push(format!("{name}: non-streaming turn"));

        let s = session(&client, provider.clone(), true, 24).await;
        let (text, deltas, (input, output, _)) = turn(&s, "Name a colour.").await;
        assert!(!text.trim().is_empty(), "{name}: empty streamed answer");
        assert_eq!(
            deltas, text,
            "{name}: the deltas concatenate to the message"
        );
        assert!(
            input > 0 && output > 0,
            "{name}: streamed usage {input}/{output}"
        );
        cases.push(format!(
            "{name}: streaming turn, deltas = message, usage > 0"
        ));

        // A two-turn conversation: the second request carries the first exchange.
        let (first, _, (input1, _, _)) = turn(&s, "My name is Ada. Reply with one word.").await;
        let (second, _, (input2, _, _)) = turn(&s, "What is my name?").await;
        assert!(!second.trim().is_empty(), "{name}: second turn");
        assert!(
            input2 > input1,
            "{name}: the history grew ({input1} -> {input2})"
        );
        assert_eq!(s.history().len(), 6, "{name}: {first:?} / {second:?}");
        cases.push(format!("{name}: two-turn conversation"));

        // The output cap ends the answer with finish reason length.
        let s = session(&client, provider.clone(), true, 4).await;
        let (_, _, (_, output, finish)) = turn(&s, "Write a long story about a dragon.").await;
        assert_eq!(finish, "length", "{name}");
        assert!(output <= 4, "{name}: {output} tokens with a cap of 4");
        cases.push(format!("{name}: max_output_tokens ends with length"));

        // Abort in the middle of a streamed answer capped at a few hundred tokens; the server,
        // which serves one request at a time, then answers the next one.
        let s = session(&client, provider.clone(), true, 300).await;
        let mut events = s.events();
        s.send("Write a very long story about the sea.")
            .await
            .expect("send");
        let mut deltas = 0;
        while let Some(Ok(e)) = events.next().await {
            if e.kind() == "assistant.message_delta" {
                deltas += 1;
                if deltas == 5 {
                    break;
                }
            }
        }
        let aborted_at = Instant::now();
        s.abort().await;
        let s2 = session(&client, provider.clone(), false, 8).await;
        let (text, _, _) = turn(&s2, "Say yes.").await;
        assert!(
            !text.is_empty(),
            "{name}: the server answered after the abort"
        );
        assert!(
            aborted_at.elapsed() < Duration::from_secs(20),
            "{name}: the aborted generation stopped"
        );
        cases.push(format!("{name}: abort mid-stream, next request answered"));
    }
    let listing = Client::new(
        ClientOptions::default()
            .with_provider(ProviderConfig::openai(format!("{}/v1", server.url))),
    )
    .expect("client")
    .list_models()
    .await
    .expect("models");
    assert!(listing.iter().any(|m| m.id == ALIAS), "{listing:?}");
    cases.push("list_models returns the alias".to_owned());
    client.stop().await;
    eprintln!(
        "llama.cpp interop, {} cases in {:.1} s:\n  {}",
        cases.len(),
        started.elapsed().as_secs_f64(),
        cases.join("\n  ")
    );
}
