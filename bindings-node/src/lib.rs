//! Node.js binding of modelport (napi-rs): the native half of the `modelport` npm package.
//!
//! Files mirror core's modules. This layer only converts data (JSON text in and out, which
//! `JSON.parse` turns into plain objects faster than napi builds them) and maps errors
//! ([`error`]); the TypeScript conveniences (`defineTool`, `session.on` overloads, the async
//! iterator, `ModelportError`) live in `lib/*.cjs`.
//!
//! Threading: napi's tokio runtime runs core. JavaScript callbacks are called through thread-safe
//! functions; tools, permission, token and model-list callbacks are weak (they never keep Node's
//! event loop alive), the per-session event callback is strong until the last `on()` handler is
//! removed, the session is disconnected or its client is stopped. The log handler ([`logging`]) is
//! weak too, and called without blocking from whichever thread logs.

mod callback;
mod client;
mod error;
mod logging;
mod models;
mod provider;
mod replay;
mod session;

pub use client::{Client, ClientOptions, SessionOptions};
pub use logging::set_log_handler;
pub use provider::provider_from_env;
pub use replay::{ReplayOptions, ReplayServer};
pub use session::events::{EventBatch, EventStream, check_event_type};
pub use session::tools::{ToolDefinition, invalid_arguments};
pub use session::{CancellableSend, Session};
