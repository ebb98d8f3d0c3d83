//! The native part of the `modelport` Python package (`modelport._native`).
//!
//! Thin pyo3 wrappers over the Rust core: every behaviour lives in core; this crate converts data,
//! maps errors ([`error`]), owns the tokio runtime ([`runtime`]), hands callbacks to the asyncio
//! event loop ([`callbacks`]) and core's log records to Python's `logging` ([`logging`]). The
//! public API, with its Python conveniences, is in the Python files beside it
//! (`python/modelport`). The modules mirror core's: client, session (events, tools), provider,
//! models, replay, logging.

mod callbacks;
mod client;
mod error;
mod logging;
mod models;
mod provider;
mod replay;
mod runtime;
mod session;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<session::SendCancel>()?;
    m.add_class::<session::EventStream>()?;
    m.add_class::<session::Subscription>()?;
    m.add_class::<session::HandlerBatch>()?;
    m.add_class::<session::events::Event>()?;
    m.add_class::<session::events::EventData>()?;
    m.add_class::<session::events::Attachment>()?;
    m.add_class::<session::events::ToolRequest>()?;
    m.add_class::<session::events::ToolExecutionResult>()?;
    m.add_class::<session::events::ToolExecutionError>()?;
    m.add_class::<session::events::McpServerInfo>()?;
    m.add_class::<replay::ReplayServer>()?;
    m.add_function(wrap_pyfunction!(provider::provider_from_env, m)?)?;
    m.add_function(wrap_pyfunction!(session::tools::invalid_arguments, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_log_install, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_log_set_level, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_log_received, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_log_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_log_after_fork, m)?)?;
    m.add_function(wrap_pyfunction!(logging::flush_logs, m)?)?;
    Ok(())
}
