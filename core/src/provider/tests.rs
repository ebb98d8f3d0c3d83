use std::collections::HashMap;

use super::*;
use crate::ErrorKind;
use crate::wire::WireFormat;

fn resolve(config: &ProviderConfig, model: &str) -> Endpoint {
    config.resolve(Some(model)).unwrap()
}

fn config_error(config: &ProviderConfig, model: Option<&str>) -> String {
    let e = config.resolve(model).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    e.message().to_owned()
}

#[test]
fn routing_table_openai() {
    let e = resolve(
        &ProviderConfig::openai("https://api.openai.com/v1/"),
        "gpt-4o",
    );
    assert_eq!(e.wire_format(), WireFormat::OpenAiChat);
    assert_eq!(e.call_url(), "https://api.openai.com/v1/chat/completions");
    assert_eq!(e.models_url(), "https://api.openai.com/v1/models");
    let e = resolve(
        &ProviderConfig::openai("https://api.openai.com/v1").with_wire_api(WireApi::Responses),
        "gpt-5",
    );
    assert_eq!(e.wire_format(), WireFormat::OpenAiResponses);
    assert_eq!(e.call_url(), "https://api.openai.com/v1/responses");
    // Local servers and Azure AI Foundry's OpenAI-compatible route.
    let e = resolve(
        &ProviderConfig::openai("http://localhost:11434/v1"),
        "llama3",
    );
    assert_eq!(e.call_url(), "http://localhost:11434/v1/chat/completions");
    let e = resolve(
        &ProviderConfig::openai("https://res.openai.azure.com/openai/v1/")
            .with_wire_api(WireApi::Responses),
        "dep",
    );
    assert_eq!(
        e.call_url(),
        "https://res.openai.azure.com/openai/v1/responses"
    );
    assert_eq!(
        e.models_url(),
        "https://res.openai.azure.com/openai/v1/models"
    );
}

#[test]
fn routing_table_azure_versioned() {
    let e = resolve(
        &ProviderConfig::azure("https://res.openai.azure.com/"),
        "my dep",
    );
    assert_eq!(
        e.call_url(),
        "https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(
        e.models_url(),
        "https://res.openai.azure.com/openai/models?api-version=2024-10-21"
    );
    assert_eq!(e.azure_deployment(), Some(("my dep", "2024-10-21")));
    let e = resolve(
        &ProviderConfig::azure("https://res.openai.azure.com")
            .with_wire_api(WireApi::Responses)
            .with_azure_api_version("2025-04-01-preview"),
        "dep",
    );
    assert_eq!(
        e.call_url(),
        "https://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview"
    );
}

#[test]
fn routing_table_azure_v1() {
    let e = resolve(
        &ProviderConfig::azure("https://res.openai.azure.com").with_azure_api_version("v1"),
        "dep",
    );
    assert_eq!(
        e.call_url(),
        "https://res.openai.azure.com/openai/v1/chat/completions"
    );
    assert_eq!(
        e.models_url(),
        "https://res.openai.azure.com/openai/v1/models"
    );
    // Responses without an explicit version uses the v1 route.
    let e = resolve(
        &ProviderConfig::azure("https://res.cognitiveservices.azure.com")
            .with_wire_api(WireApi::Responses),
        "dep",
    );
    assert_eq!(
        e.call_url(),
        "https://res.cognitiveservices.azure.com/openai/v1/responses"
    );
    assert_eq!(e.wire_model(), "dep");
}

#[test]
fn routing_table_anthropic_has_no_double_v1() {
    for base in [
        "https://api.anthropic.com",
        "https://api.anthropic.com/",
        "https://api.anthropic.com/v1",
        "https://api.anthropic.com/v1/",
    ] {
        let e = resolve(&ProviderConfig::anthropic(base), "claude");
        assert_eq!(
            e.call_url(),
            "https://api.anthropic.com/v1/messages",
            "{base}"
        );
        assert_eq!(
            e.models_url(),
            "https://api.anthropic.com/v1/models",
            "{base}"
        );
        assert_eq!(e.wire_format(), WireFormat::AnthropicMessages);
    }
    // Wire API is ignored for Anthropic; a proxy path is kept.
    let e = resolve(
        &ProviderConfig::anthropic("http://127.0.0.1:8080/proxy").with_wire_api(WireApi::Responses),
        "c",
    );
    assert_eq!(e.call_url(), "http://127.0.0.1:8080/proxy/v1/messages");
}

#[test]
fn auth_headers_per_type_and_precedence() {
    let h = |c: ProviderConfig| resolve(&c, "m").headers().clone();
    let openai = h(ProviderConfig::openai("https://x.example/v1").with_api_key("sk-1"));
    assert_eq!(openai["authorization"], "Bearer sk-1");
    let azure = h(ProviderConfig::azure("https://r.openai.azure.com").with_api_key("az-1"));
    assert_eq!(azure["api-key"], "az-1");
    assert!(azure.get("authorization").is_none());
    let anthropic = h(ProviderConfig::anthropic("https://api.anthropic.com").with_api_key("ak-1"));
    assert_eq!(anthropic["x-api-key"], "ak-1");
    assert_eq!(anthropic["anthropic-version"], "2023-06-01");
    // A bearer token wins over the key, for every type.
    for c in [
        ProviderConfig::openai("https://x.example/v1"),
        ProviderConfig::azure("https://r.openai.azure.com"),
        ProviderConfig::anthropic("https://api.anthropic.com"),
    ] {
        let headers = h(c.with_api_key("key").with_bearer_token("tok"));
        assert_eq!(headers["authorization"], "Bearer tok");
        assert!(headers.get("api-key").is_none() && headers.get("x-api-key").is_none());
    }
    // A token provider wins over both: no static auth header at all.
    let tp = TokenProvider::new(|_| async { Ok(BearerToken::new("t")) });
    let headers = h(ProviderConfig::openai("https://x.example/v1")
        .with_api_key("key")
        .with_bearer_token("tok")
        .with_bearer_token_provider(tp));
    assert!(headers.get("authorization").is_none());
    // No key: no auth header (local servers).
    assert!(
        h(ProviderConfig::openai("http://localhost:11434/v1"))
            .get("authorization")
            .is_none()
    );
}

#[test]
fn provider_headers_override_defaults() {
    let e = resolve(
        &ProviderConfig::openai("https://x.example/v1")
            .with_api_key("sk")
            .with_header("User-Agent", "my-app/1.0")
            .with_header("X-Tenant", "t1"),
        "m",
    );
    assert_eq!(e.headers()["user-agent"], "my-app/1.0");
    assert_eq!(e.headers()["x-tenant"], "t1");
}

#[test]
fn validation_errors_name_the_field_and_the_fix() {
    let openai = ProviderConfig::openai("https://api.openai.com/v1");
    assert!(config_error(&openai, None).starts_with("Model not specified"));
    assert!(config_error(&openai, Some("  ")).starts_with("Model not specified"));

    let m = config_error(&ProviderConfig::default(), Some("m"));
    assert!(m.contains("provider.base_url is required"), "{m}");
    let m = config_error(&ProviderConfig::openai("api.openai.com/v1"), Some("m"));
    assert!(
        m.contains("is not a valid URL") && m.contains("https://"),
        "{m}"
    );
    let m = config_error(&ProviderConfig::openai("ftp://x.example"), Some("m"));
    assert!(m.contains("http:// or https://"), "{m}");

    let m = config_error(
        &ProviderConfig::openai("https://res.openai.azure.com"),
        Some("m"),
    );
    assert!(
        m.contains("native Azure endpoint")
            && m.contains("type \"azure\"")
            && m.contains("/openai/v1/"),
        "{m}"
    );
    let m = config_error(
        &ProviderConfig::openai("https://res.cognitiveservices.azure.com/openai/deployments/x"),
        Some("m"),
    );
    assert!(m.contains("native Azure endpoint"), "{m}");
    let m = config_error(
        &ProviderConfig::azure("https://res.openai.azure.com/openai/v1/"),
        Some("m"),
    );
    assert!(
        m.contains("must be just the host") && m.contains("use type \"openai\""),
        "{m}"
    );
    // The suggestion keeps the scheme and port the user gave, so it can be copied as it is.
    let m = config_error(
        &ProviderConfig::azure("http://127.0.0.1:18555/openai/v1/"),
        Some("m"),
    );
    assert!(
        m.contains("must be just the host (http://127.0.0.1:18555)"),
        "{m}"
    );
    let m = config_error(
        &ProviderConfig::openai("http://res.openai.azure.com:8443/openai/deployments/x"),
        Some("m"),
    );
    assert!(
        m.contains("base_url http://res.openai.azure.com:8443/openai/v1/ with type \"openai\""),
        "{m}"
    );

    let m = config_error(
        &ProviderConfig::openai("https://x.example/v1").with_header("", "v"),
        Some("m"),
    );
    assert!(m.contains("empty header name"), "{m}");
    let m = config_error(
        &ProviderConfig::openai("https://x.example/v1").with_header("bad name", "v"),
        Some("m"),
    );
    assert!(m.contains("not a valid header name"), "{m}");
    let m = config_error(
        &ProviderConfig::openai("https://x.example/v1").with_api_key("sk-1\n"),
        Some("m"),
    );
    assert!(m.contains("provider.api_key") && !m.contains("sk-1"), "{m}");
    let m = config_error(
        &ProviderConfig::azure("https://r.openai.azure.com").with_azure_api_version(" "),
        Some("m"),
    );
    assert!(m.contains("provider.azure.api_version"), "{m}");
    let m = config_error(
        &ProviderConfig::openai("https://x.example/v1").with_max_output_tokens(0),
        Some("m"),
    );
    assert!(m.contains("max_output_tokens"), "{m}");
}

#[test]
fn unknown_type_and_wire_api_are_rejected_with_the_choices() {
    let e = ProviderConfig::from_json(r#"{"type":"gemini","baseUrl":"https://x"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("`type`") && e.message().contains("\"anthropic\""),
        "{}",
        e.message()
    );
    let e = ProviderConfig::from_json(r#"{"baseUrl":"https://x","wireApi":"chat-completions"}"#)
        .unwrap_err();
    assert!(
        e.message().contains("`wireApi`") && e.message().contains("\"responses\""),
        "{}",
        e.message()
    );
    let e = ProviderConfig::from_json(r#"{"baseURL":"https://x"}"#).unwrap_err();
    assert!(e.message().contains("baseURL"), "{}", e.message());
    let e = ProviderConfig::from_json(r#"{"azure":{"apiVersion":7}}"#).unwrap_err();
    assert!(e.message().contains("azure.apiVersion"), "{}", e.message());
}

#[test]
fn serde_accepts_camel_and_snake_case_and_never_writes_secrets() {
    let camel = ProviderConfig::from_json(
        r#"{"type":"azure","baseUrl":"https://r.openai.azure.com","apiKey":"k1","bearerToken":"b1",
            "wireApi":"responses","azure":{"apiVersion":"v1"},"headers":{"x-a":"1"},
            "wireModel":"w","maxOutputTokens":77}"#,
    )
    .unwrap();
    let snake = ProviderConfig::from_json(
        r#"{"type":"azure","base_url":"https://r.openai.azure.com","api_key":"k1","bearer_token":"b1",
            "wire_api":"responses","azure":{"api_version":"v1"},"headers":{"x-a":"1"},
            "wire_model":"w","max_output_tokens":77}"#,
    )
    .unwrap();
    for c in [&camel, &snake] {
        assert_eq!(c.provider_type, ProviderType::Azure);
        assert_eq!(c.base_url.as_deref(), Some("https://r.openai.azure.com"));
        assert_eq!(c.api_key.as_ref().unwrap().expose(), "k1");
        assert_eq!(c.bearer_token.as_ref().unwrap().expose(), "b1");
        assert_eq!(c.wire_api, WireApi::Responses);
        assert_eq!(c.azure.as_ref().unwrap().api_version.as_deref(), Some("v1"));
        assert_eq!(c.wire_model.as_deref(), Some("w"));
        assert_eq!(c.max_output_tokens, Some(77));
    }
    let out = serde_json::to_value(&camel).unwrap();
    assert_eq!(
        out,
        serde_json::json!({"type":"azure","baseUrl":"https://r.openai.azure.com","wireApi":"responses",
                           "azure":{"apiVersion":"v1"},"headers":{"x-a":"1"},"wireModel":"w",
                           "maxOutputTokens":77})
    );
    // Defaults: type openai, wire api completions.
    let d = ProviderConfig::from_json(r#"{"baseUrl":"http://localhost:11434/v1"}"#).unwrap();
    assert_eq!(d.provider_type, ProviderType::OpenAi);
    assert_eq!(d.wire_api, WireApi::Completions);
}

#[test]
fn debug_of_a_config_with_secrets_shows_no_secret() {
    let c = ProviderConfig::openai("https://x.example/v1")
        .with_api_key("sk-live-SECRET-1")
        .with_bearer_token("bearer-SECRET-2")
        .with_bearer_token_provider(TokenProvider::new(|_| async {
            Ok(BearerToken::new("provided-SECRET-3"))
        }));
    let endpoint = resolve(&c, "m");
    for text in [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{endpoint:?}"),
        format!("{:?}", endpoint.headers()),
        serde_json::to_string(&c).unwrap(),
    ] {
        assert!(!text.contains("SECRET"), "{text}");
    }
    assert!(format!("{c:?}").contains("[redacted]"));
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn from_env_is_explicit_opt_in() {
    // Stray provider keys are never picked up without MODELPORT_PROVIDER.
    let none = ProviderConfig::from_env_with(env(&[
        ("OPENAI_API_KEY", "sk-stray"),
        ("ANTHROPIC_API_KEY", "ak-stray"),
        ("MODELPORT_MODEL", "gpt-4o"),
    ]))
    .unwrap();
    assert!(none.is_none());

    let (c, model) = ProviderConfig::from_env_with(env(&[
        ("MODELPORT_PROVIDER", "openai"),
        ("MODELPORT_MODEL", "gpt-4o"),
        ("OPENAI_API_KEY", "sk-1"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(model, "gpt-4o");
    assert_eq!(c.base_url.as_deref(), Some("https://api.openai.com/v1"));
    assert_eq!(c.api_key.unwrap().expose(), "sk-1");

    let (c, _) = ProviderConfig::from_env_with(env(&[
        ("MODELPORT_PROVIDER", "anthropic"),
        ("MODELPORT_MODEL", "claude"),
        ("MODELPORT_API_KEY", "mp-key"),
        ("ANTHROPIC_API_KEY", "ak"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(c.base_url.as_deref(), Some("https://api.anthropic.com"));
    assert_eq!(
        c.api_key.unwrap().expose(),
        "mp-key",
        "MODELPORT_API_KEY wins"
    );

    let (c, _) = ProviderConfig::from_env_with(env(&[
        ("MODELPORT_PROVIDER", "azure"),
        ("MODELPORT_BASE_URL", "https://r.openai.azure.com"),
        ("MODELPORT_MODEL", "dep"),
        ("AZURE_OPENAI_API_KEY", "az"),
        ("MODELPORT_WIRE_API", "responses"),
        ("MODELPORT_AZURE_API_VERSION", "v1"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(c.api_key.unwrap().expose(), "az");
    assert_eq!(c.wire_api, WireApi::Responses);

    let e = ProviderConfig::from_env_with(env(&[
        ("MODELPORT_PROVIDER", "azure"),
        ("MODELPORT_MODEL", "dep"),
    ]))
    .unwrap_err();
    assert!(
        e.message().contains("MODELPORT_BASE_URL"),
        "{}",
        e.message()
    );
    let e = ProviderConfig::from_env_with(env(&[("MODELPORT_PROVIDER", "openai")])).unwrap_err();
    assert!(
        e.message().starts_with("Model not specified"),
        "{}",
        e.message()
    );
    let e = ProviderConfig::from_env_with(env(&[("MODELPORT_PROVIDER", "gemini")])).unwrap_err();
    assert!(
        e.message().contains("MODELPORT_PROVIDER"),
        "{}",
        e.message()
    );
}

#[test]
fn scrub_removes_every_secret_of_the_provider() {
    let e = resolve(
        &ProviderConfig::openai("https://x.example/v1")
            .with_api_key("sk-abcdef")
            .with_bearer_token("tok-123456"),
        "m",
    );
    let err = crate::Error::new(ErrorKind::Auth, "bad key sk-abcdef and token tok-123456");
    assert_eq!(
        e.scrub(err).message(),
        "bad key [redacted] and token [redacted]"
    );
}

#[tokio::test]
async fn a_call_that_was_running_when_the_token_was_invalidated_does_not_refill_the_cache() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    use crate::provider::{BearerToken, TokenProvider, TokenRequest};

    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let provider = {
        let calls = calls.clone();
        TokenProvider::new(move |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            let mut released = released.clone();
            async move {
                // The first call waits until the test has invalidated the token.
                if n == 1 {
                    let _ = released.wait_for(|r| *r).await;
                }
                Ok(BearerToken::with_expiry(
                    format!("token-{n}"),
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            }
        })
    };
    let request = || TokenRequest {
        provider_name: "openai".into(),
        session_id: None,
    };
    let first = tokio::spawn({
        let p = provider.clone();
        async move { p.token(request(), Duration::from_secs(10)).await }
    });
    while calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // A 401 elsewhere rejects the token while this call is still running.
    provider.invalidate();
    release.send(true).expect("release");
    let t1 = first.await.expect("task").expect("token");
    assert_eq!(t1.expose(), "token-1", "the caller still gets its answer");
    let t2 = provider
        .token(request(), Duration::from_secs(10))
        .await
        .expect("token");
    assert_eq!(
        t2.expose(),
        "token-2",
        "a fresh call, not the invalidated one's token"
    );
    let t3 = provider
        .token(request(), Duration::from_secs(10))
        .await
        .expect("token");
    assert_eq!(t3.expose(), "token-2", "the fresh token is cached");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
