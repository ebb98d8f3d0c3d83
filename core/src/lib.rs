#![doc = include_str!("../../README.md")]

pub mod error;
pub mod provider;
mod secret;
pub mod transport;
pub mod wire;

pub use error::{Error, ErrorKind, Result, TimeoutKind};
pub use provider::{
    AzureOptions, BearerToken, Endpoint, ProviderConfig, ProviderType, TokenProvider, TokenRequest,
    WireApi,
};
pub use secret::SecretString;
pub use transport::{HttpRequest, HttpResponse, RetryPolicy, Timeouts, Transport};
pub use wire::{FinishReason, ReasoningEffort, ToolChoice, Usage, WireFormat};

#[cfg(test)]
mod test_support;
