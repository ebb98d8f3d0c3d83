//! Helpers shared by the end-to-end tests in `tests/tests/`: fixture locations, the provider routes
//! every test runs through, event recording with the order check, and a misbehaving server.

pub mod fault;
pub mod traced_turn;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::testing::check_event_order;
use modelport::{Event, ProviderConfig, Session, WireApi};

/// The project's own fixtures (`tests/fixtures`).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `../shared/fixtures` beside the checkout (or `MODELPORT_SHARED_FIXTURES`): `None` with a message when
/// absent, a panic when absent under CI=true.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("MODELPORT_SHARED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "the shared fixtures folder {} is missing, and CI=true requires it",
        dir.display()
    );
    eprintln!(
        "skipping: the shared fixtures folder {} is absent",
        dir.display()
    );
    None
}

/// Every way modelport reaches a provider: wire format x provider route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// type openai, Chat Completions.
    OpenAiChat,
    /// type openai, Responses API.
    OpenAiResponses,
    /// type azure, deployment route with ?api-version (chat completions).
    AzureVersioned,
    /// type azure, versioned Responses route (/openai/responses?api-version=).
    AzureVersionedResponses,
    /// type azure, api_version "v1" (chat completions).
    AzureV1,
    /// type azure, Responses without a version (the v1 route).
    AzureV1Responses,
    /// type anthropic.
    Anthropic,
}

/// All routes.
pub const ROUTES: [Route; 7] = [
    Route::OpenAiChat,
    Route::OpenAiResponses,
    Route::AzureVersioned,
    Route::AzureVersionedResponses,
    Route::AzureV1,
    Route::AzureV1Responses,
    Route::Anthropic,
];

impl Route {
    /// The provider config for this route against `server`.
    pub fn provider(self, server: &ReplayServer) -> ProviderConfig {
        match self {
            Route::OpenAiChat => ProviderConfig::openai(server.openai_url()).with_api_key("sk-e2e"),
            Route::OpenAiResponses => ProviderConfig::openai(server.openai_url())
                .with_wire_api(WireApi::Responses)
                .with_api_key("sk-e2e"),
            Route::AzureVersioned => ProviderConfig::azure(server.url()).with_api_key("az-e2e"),
            Route::AzureVersionedResponses => ProviderConfig::azure(server.url())
                .with_wire_api(WireApi::Responses)
                .with_azure_api_version("2025-04-01-preview")
                .with_api_key("az-e2e"),
            Route::AzureV1 => ProviderConfig::azure(server.url())
                .with_azure_api_version("v1")
                .with_api_key("az-e2e"),
            Route::AzureV1Responses => ProviderConfig::azure(server.url())
                .with_wire_api(WireApi::Responses)
                .with_api_key("az-e2e"),
            Route::Anthropic => ProviderConfig::anthropic(server.url()).with_api_key("ak-e2e"),
        }
    }

    /// The request path this route must use (without the query).
    pub fn path(self) -> &'static str {
        match self {
            Route::OpenAiChat => "/v1/chat/completions",
            Route::OpenAiResponses => "/v1/responses",
            Route::AzureVersioned => "/openai/deployments/e2e-model/chat/completions",
            Route::AzureVersionedResponses => "/openai/responses",
            Route::AzureV1 => "/openai/v1/chat/completions",
            Route::AzureV1Responses => "/openai/v1/responses",
            Route::Anthropic => "/v1/messages",
        }
    }
}

/// Starts a replay server on the e2e conversations.
pub async fn e2e_server(config: ReplayConfig) -> ReplayServer {
    ReplayServer::from_path(fixtures().join("replay/e2e.yaml"), config)
        .await
        .expect("the replay server starts")
}

/// Every event a session delivers, recorded through an `on_all` handler.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    /// Records `session`'s events from now on.
    pub fn attach(session: &Session) -> Recorder {
        let r = Recorder::default();
        let sink = r.0.clone();
        session.on_all(move |e| sink.lock().expect("recorder").push(e.clone()));
        r
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("recorder").clone()
    }

    /// The event types so far.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.events().iter().map(Event::kind).collect()
    }

    /// Panics with the sequence when the order rules are broken.
    pub fn check(&self, streaming: bool, label: &str) {
        if let Err(e) = check_event_order(&self.events(), streaming) {
            panic!("{label}: {e}\n{:?}", self.kinds());
        }
    }
}

/// The proxy variables a child case starts without, so that it sees only what its test sets.
const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A command that runs the ignored test `case` of the current test binary in a child process, for
/// settings read once per process (proxies, the trust store). The child starts without any proxy
/// variable nor the ones in `removed`; the caller adds what the case needs.
pub fn child_case(case: &str, removed: &[&str]) -> Command {
    let mut child = Command::new(std::env::current_exe().expect("own path"));
    child.args([case, "--exact", "--ignored", "--nocapture"]);
    for name in PROXY_VARIABLES.iter().chain(removed) {
        child.env_remove(name);
    }
    child
}

/// Runs `child` off the async runtime and fails with its output when it fails.
pub async fn run_child(mut child: Command, what: &str) {
    let out = tokio::task::spawn_blocking(move || child.output())
        .await
        .expect("join")
        .expect("run the case");
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
