//! The provider registry and fallback over loopback HTTP: two replay servers speaking different
//! wire formats, each checked to receive only its own requests.

use std::time::Duration;

use modelport::registry::{NamedProvider, RegistryModel};
use modelport::replay::{ErrorStage, ReplayConfig, ReplayServer, ScriptedError, snapshot};
use modelport::{
    Client, ClientOptions, ErrorKind, EventData, ProviderConfig, RetryPolicy, SessionConfig, Tool,
    ToolError,
};
use modelport_e2e::{Recorder, Route, e2e_server, fixtures};
use serde_json::{Value, json};

fn weather() -> Tool {
    Tool::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value, _| async move {
            Ok::<_, ToolError>(match args["city"].as_str() {
                Some("Paris") => "sunny, 22C in Paris",
                _ => "unknown",
            })
        },
    )
}

fn model(provider: &str) -> RegistryModel {
    RegistryModel {
        id: "e2e-model".into(),
        provider: provider.into(),
        wire_model: None,
        max_prompt_tokens: None,
        max_output_tokens: None,
    }
}

fn no_retry(mut p: ProviderConfig) -> ProviderConfig {
    p.retry = Some(RetryPolicy {
        max_retries: 0,
        ..Default::default()
    });
    p
}

fn registry(a: ProviderConfig, b: ProviderConfig) -> ClientOptions {
    ClientOptions {
        providers: vec![
            NamedProvider {
                name: "openai-side".into(),
                config: a,
            },
            NamedProvider {
                name: "anthropic-side".into(),
                config: b,
            },
        ],
        models: vec![model("openai-side"), model("anthropic-side")],
        ..Default::default()
    }
    .with_session_store("memory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_of_different_formats_in_one_session() {
    let openai = e2e_server(ReplayConfig::default()).await;
    let anthropic = e2e_server(ReplayConfig {
        fallback: Some("You asked about the weather in Paris: sunny.".into()),
        ..Default::default()
    })
    .await;
    let client = Client::new(registry(
        Route::OpenAiChat.provider(&openai),
        Route::Anthropic.provider(&anthropic),
    ))
    .unwrap();
    let listed: Vec<String> = client
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        listed,
        ["openai-side/e2e-model", "anthropic-side/e2e-model"]
    );
    let session = client
        .create_session(
            SessionConfig::default()
                .with_model("openai-side/e2e-model")
                .with_tool(weather()),
        )
        .await
        .unwrap();
    let recorder = Recorder::attach(&session);
    let first = session
        .send_and_wait("What's the weather in Paris?", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.content(), Some("It is sunny and 22C in Paris."));
    session.set_model("anthropic-side/e2e-model").await.unwrap();
    let second = session
        .send_and_wait("Thanks!", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        second.content(),
        Some("You asked about the weather in Paris: sunny.")
    );
    recorder.check(false, "registry switch");
    // Each server got only its own requests: the OpenAI one the tool loop, the Anthropic one the
    // switched conversation, tool call and result carried over in its own format.
    assert!(
        openai
            .requests()
            .iter()
            .all(|r| r.path == "/v1/chat/completions")
    );
    assert_eq!(openai.requests().len(), 2);
    let requests = anthropic.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages");
    let body = &requests[0].body;
    assert_eq!(body["model"], "e2e-model");
    let blocks: Vec<String> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["type"].as_str().map(str::to_owned))
        .collect();
    assert!(
        blocks.iter().any(|b| b == "tool_use") && blocks.iter().any(|b| b == "tool_result"),
        "{body}"
    );
    let change = session
        .get_events()
        .into_iter()
        .find_map(|e| match &e.data {
            EventData::ModelChange(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(change.new_model, "anthropic-side/e2e-model");
    client.stop().await;
    openai.stop().await;
    anthropic.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_or_failing_first_provider_falls_back_but_never_after_output() {
    let answering = e2e_server(ReplayConfig {
        fallback: Some("answered by the fallback".into()),
        ..Default::default()
    })
    .await;
    // Connection refused: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refusing =
        ProviderConfig::openai(format!("http://127.0.0.1:{closed}/v1")).with_api_key("k");
    // 503 on every request, and (second case) a stream that fails after some text.
    let (_, mut snap) = snapshot::load(&fixtures().join("replay/resilience.yaml"))
        .unwrap()
        .remove(0);
    snap.errors = vec![ScriptedError {
        status: Some(503),
        ..Default::default()
    }];
    let unavailable = ReplayServer::start(vec![snap.clone()], ReplayConfig::default())
        .await
        .unwrap();
    snap.errors = vec![ScriptedError {
        stage: ErrorStage::AfterOutput,
        ..Default::default()
    }];
    let breaking = ReplayServer::start(vec![snap], ReplayConfig::default())
        .await
        .unwrap();

    for (label, first, streaming, falls_back) in [
        ("refused", refusing, false, true),
        ("503", Route::OpenAiChat.provider(&unavailable), false, true),
        (
            "after output",
            Route::OpenAiChat.provider(&breaking),
            true,
            false,
        ),
    ] {
        let before = answering.requests().len();
        let client = Client::new(registry(
            no_retry(first),
            no_retry(Route::Anthropic.provider(&answering)),
        ))
        .unwrap();
        let config = SessionConfig {
            fallback_models: vec!["anthropic-side/e2e-model".into()],
            ..SessionConfig::default()
                .with_model("openai-side/e2e-model")
                .with_streaming(streaming)
        };
        let session = client.create_session(config).await.unwrap();
        let recorder = Recorder::attach(&session);
        let result = session
            .send_and_wait("Ping", Some(Duration::from_secs(20)))
            .await;
        recorder.check(streaming, label);
        let retries: Vec<_> = recorder
            .events()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::TurnRetry(r) if r.reason == "fallback" => Some(r.clone()),
                _ => None,
            })
            .collect();
        if falls_back {
            let answer = result.unwrap().unwrap();
            assert_eq!(
                answer.content(),
                Some("answered by the fallback"),
                "{label}"
            );
            assert_eq!(retries.len(), 1, "{label}");
            assert_eq!(retries[0].from.as_deref(), Some("openai-side/e2e-model"));
            assert_eq!(retries[0].to.as_deref(), Some("anthropic-side/e2e-model"));
            let usage_model = recorder
                .events()
                .iter()
                .find_map(|e| match &e.data {
                    EventData::Usage(u) => Some(u.model.clone()),
                    _ => None,
                })
                .unwrap();
            assert_eq!(usage_model, "anthropic-side/e2e-model", "{label}");
            assert_eq!(answering.requests().len(), before + 1);
        } else {
            let e = result.unwrap_err();
            assert_ne!(e.kind(), ErrorKind::Config, "{label}: {e}");
            assert!(retries.is_empty(), "{label}: no fallback after output");
            assert_eq!(answering.requests().len(), before, "{label}");
        }
        client.stop().await;
    }
    for s in [answering, unavailable, breaking] {
        s.stop().await;
    }
}

#[test]
fn registry_mistakes_are_config_errors_naming_the_field() {
    let p = || ProviderConfig::openai("http://127.0.0.1:9/v1");
    let named = |name: &str| NamedProvider {
        name: name.into(),
        config: p(),
    };
    let msg = |o: ClientOptions| Client::new(o).unwrap_err().message().to_owned();
    let m = msg(ClientOptions {
        provider: Some(p()),
        providers: vec![named("a")],
        ..Default::default()
    });
    assert!(
        m.contains("provider and providers cannot be combined"),
        "{m}"
    );
    let m = msg(ClientOptions {
        providers: vec![named("a/b")],
        ..Default::default()
    });
    assert!(m.starts_with("providers[0].name"), "{m}");
    let m = msg(ClientOptions {
        providers: vec![named("a")],
        models: vec![model("a"), model("a")],
        ..Default::default()
    });
    assert!(m.contains("listed twice"), "{m}");
    let m = msg(ClientOptions {
        providers: vec![named("a")],
        models: vec![model("zzz")],
        ..Default::default()
    });
    assert!(m.starts_with("models[0].provider \"zzz\""), "{m}");
    let json = ClientOptions::from_json(
        r#"{"providers": [{"name": "a", "type": "openai", "baseUrl": "http://127.0.0.1:9/v1"}],
            "models": [{"id": "m", "provider": "a", "maxPromptTokens": 1000}],
            "sessionStore": "memory"}"#,
    )
    .unwrap();
    assert_eq!(json.providers[0].name, "a");
    assert_eq!(json.models[0].max_prompt_tokens, Some(1000));
}
