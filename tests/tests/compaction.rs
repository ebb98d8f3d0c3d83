//! Infinite sessions over loopback HTTP on every provider route: the replay provider has a small
//! context window (counted as its JSON body's bytes / 4, not modelport's estimate) and answers an
//! oversized request with the wire format's real context-length error; the summary call is a model
//! call like any other.

use std::time::Duration;

use modelport::replay::ReplayConfig;
use modelport::{Client, ClientOptions, ErrorKind, EventData, SessionConfig};
use modelport_e2e::{ROUTES, Recorder, e2e_server};

const WINDOW: u64 = 3_000;

fn note(i: usize) -> String {
    format!(
        "Note {i}: {}",
        "please keep this detail in mind. ".repeat(12)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sends_in_a_small_window_on_every_route() {
    let server = e2e_server(ReplayConfig {
        fallback: Some(format!("Noted. {}", "More words here. ".repeat(6))),
        context_window: Some(WINDOW),
        ..Default::default()
    })
    .await;
    let dir = std::env::temp_dir().join(format!("modelport-compaction-{}", std::process::id()));
    let store = format!("sqlite://{}", dir.join("s.db").display());
    for (i, route) in ROUTES.into_iter().enumerate() {
        let streaming = i % 2 == 1;
        let label = format!("{route:?} streaming={streaming}");
        let client = Client::new(ClientOptions::default().with_session_store(store.as_str()))
            .expect("client");
        // A margin below the provider's window, as with any tokenizer modelport does not run.
        let provider = route
            .provider(&server)
            .with_max_prompt_tokens(WINDOW * 9 / 10);
        let config = SessionConfig::new("e2e-model", provider).with_streaming(streaming);
        let session = client
            .create_session(config.clone())
            .await
            .expect("session");
        let recorder = Recorder::attach(&session);
        let first_request = server.requests().len();
        for n in 0..50 {
            session
                .send_and_wait(note(n), Some(Duration::from_secs(30)))
                .await
                .unwrap_or_else(|e| panic!("{label}: send {n}: {e}"));
        }
        // A background compaction may follow the last send.
        for _ in 0..300 {
            let kinds = recorder.kinds();
            let open = kinds
                .iter()
                .filter(|k| **k == "session.compaction_start")
                .count();
            let done = kinds
                .iter()
                .filter(|k| **k == "session.compaction_complete")
                .count();
            if open == done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        recorder.check(streaming, &label);
        let completes: Vec<_> = recorder
            .events()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::CompactionComplete(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert!(completes.len() >= 3, "{label}: {completes:?}");
        assert!(
            completes.iter().all(|c| c.success),
            "{label}: {completes:?}"
        );
        for r in &server.requests()[first_request..] {
            let tokens = (r.body.to_string().len() as u64).div_ceil(4);
            assert!(
                tokens <= WINDOW,
                "{label}: a request of {tokens} tokens was sent"
            );
        }

        // Another client resumes from the compacted history; its next request starts with the
        // summary.
        let id = session.id().to_owned();
        client.stop().await;
        let again = Client::new(ClientOptions::default().with_session_store(store.as_str()))
            .expect("client");
        let resumed = again.resume_session(&id, config).await.expect("resume");
        resumed.send_and_wait(note(50), None).await.expect("send");
        let last = server
            .requests()
            .last()
            .expect("a request")
            .body
            .to_string();
        assert!(
            last.contains("Summary of the earlier conversation"),
            "{label}"
        );
        assert!(
            !last.contains(&note(0)),
            "{label}: the oldest note was summarised"
        );
        again.stop().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_providers_context_error_is_a_context_length_error_in_every_format() {
    let server = e2e_server(ReplayConfig {
        fallback: Some("ok".into()),
        context_window: Some(200),
        ..Default::default()
    })
    .await;
    for route in ROUTES {
        let client =
            Client::new(ClientOptions::default().with_session_store("memory")).expect("client");
        let mut config = SessionConfig::new("e2e-model", route.provider(&server));
        config.infinite_sessions.enabled = false;
        let session = client.create_session(config).await.expect("session");
        let e = session
            .send_and_wait("word ".repeat(400), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ContextLength, "{route:?}: {e}");
        assert_eq!(e.status(), Some(400));
        client.stop().await;
    }
    server.stop().await;
}
