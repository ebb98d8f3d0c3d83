#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
pub mod error;
mod events;
pub mod logging;
pub mod mcp;
pub mod models;
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel;
pub mod provider;
pub mod registry;
#[cfg(feature = "replay")]
#[cfg_attr(docsrs, doc(cfg(feature = "replay")))]
pub mod replay;
mod secret;
pub mod session;
pub mod store;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod transport;
pub mod types;
mod util;
pub mod wire;

pub use error::{Error, ErrorKind, Result, TimeoutKind};
pub use provider::{
    AzureOptions, BearerToken, Endpoint, ProviderConfig, ProviderType, TokenProvider, TokenRequest,
    WireApi,
};
pub use secret::{Headers, SecretString, is_sensitive_header};
pub use transport::{
    HttpRequest, HttpResponse, ReqwestTransport, RetryPolicy, Timeouts, Transport,
};
pub use types::{FinishReason, Message, ReasoningEffort, ToolChoice, Usage};
pub use wire::WireFormat;

pub use client::{Client, ClientOptions};
pub use mcp::McpServerConfig;
pub use models::{ListModelsHandler, ModelCapabilities, ModelInfo, ModelLimits, ModelSupports};
pub use session::events::{
    Event, EventData, EventFeed, EventRecord, EventStream, FeedBatch, FeedItem, Lagged,
};
pub use session::tools::{
    HostAnswer, PermissionDecision, PermissionHandler, PermissionRequest, Tool, ToolError,
    ToolInvocation, ToolResult, ToolResultType, define_tool,
};
pub use session::{
    SendCancel, SendOptions, Session, SessionConfig, Subscription, SystemMessage, SystemMessageMode,
};
pub use store::{LeaseOptions, SessionMetadata, SessionStore};

#[cfg(test)]
mod test_support;

/// The schema derive users' types need for [`define_tool`] and `send_and_parse`: the same
/// `schemars` modelport uses, so `#[derive(modelport::schemars::JsonSchema)]` always matches.
pub use schemars;

/// The repository README's Rust snippets, compiled as doctests so they stay in step.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
