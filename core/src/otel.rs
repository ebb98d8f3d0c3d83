//! OpenTelemetry export of modelport's spans (feature `otel`): an OTLP/HTTP exporter set up the way
//! modelport makes its own HTTP calls, the `tracing` layer that turns the `invoke_agent`, `chat` and
//! `execute_tool` spans into OpenTelemetry spans, and W3C `traceparent` strings in and out.
//!
//! ```no_run
//! # fn main() -> modelport::Result<()> {
//! // Spans of every session go to a collector until the guard is dropped.
//! let _guard = modelport::otel::install_otlp("http://127.0.0.1:4318/v1/traces", "my-agent")?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;

use crate::error::{Error, Result};

pub use opentelemetry_sdk;
pub use tracing_opentelemetry;

/// A tracer provider exporting to an OTLP/HTTP (protobuf) endpoint such as
/// `http://127.0.0.1:4318/v1/traces`, in batches from a background thread.
pub fn otlp_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider> {
    let client = crate::transport::blocking_http_client()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::config(format!("otel: the OTLP exporter for {endpoint}: {e}")))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder_empty()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

/// The `tracing` layer that exports modelport's spans through `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("modelport"))
}

/// Flushes and shuts the provider down when dropped.
#[derive(Debug)]
pub struct OtelGuard(SdkTracerProvider);

impl OtelGuard {
    /// The provider, e.g. to flush it by hand.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.0
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        let _ = self.0.shutdown();
    }
}

/// Installs a process-wide `tracing` subscriber exporting modelport's spans to `endpoint` (see
/// [`otlp_provider`]). Fails when a subscriber is already installed: add [`layer`] to yours then.
pub fn install_otlp(endpoint: &str, service_name: &str) -> Result<OtelGuard> {
    let provider = otlp_provider(endpoint, service_name)?;
    tracing_subscriber::registry()
        .with(layer(&provider))
        .try_init()
        .map_err(|e| Error::config(format!("otel: {e} (a tracing subscriber is already set)")))?;
    Ok(OtelGuard(provider))
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`), when it is exported.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}
