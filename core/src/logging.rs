//! modelport's `tracing` output for hosts that do not use `tracing`: each record handed to a sink
//! (Python's `logging`, a Node or C callback) or written to stderr when `MODELPORT_LOG` asks.
//!
//! Rust applications install their own `tracing` subscriber instead; these functions install a
//! process-wide one and fail if one is already installed. Records are the library's own (targets
//! `modelport` and below); secrets are scrubbed before anything is logged (see the secret tests).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::error::{Error, Result};

/// One log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// "error", "warn", "info", "debug" or "trace".
    pub level: &'static str,
    /// The module that logged it (`modelport::transport::call`, ...).
    pub target: String,
    /// The message, then its fields as `name=value`.
    pub message: String,
}

/// Where records go.
pub type LogSink = Arc<dyn Fn(&LogRecord) + Send + Sync>;

/// The most verbose level the sink wants; records below it cost one atomic load.
#[derive(Clone, Debug)]
pub struct LogLevel(Arc<AtomicU8>);

impl LogLevel {
    /// Changes the level (e.g. when the host's logger level changes); `None` turns logging off.
    pub fn set(&self, level: Option<Level>) {
        self.0.store(rank(level), Ordering::Relaxed);
    }
}

fn rank(level: Option<Level>) -> u8 {
    match level {
        None => 0,
        Some(Level::ERROR) => 1,
        Some(Level::WARN) => 2,
        Some(Level::INFO) => 3,
        Some(Level::DEBUG) => 4,
        Some(Level::TRACE) => 5,
    }
}

/// Parses "error" / "warn" / "info" / "debug" / "trace" / "off" (any case).
pub fn parse_level(s: &str) -> Result<Option<Level>> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "" => Ok(None),
        "error" => Ok(Some(Level::ERROR)),
        "warn" | "warning" => Ok(Some(Level::WARN)),
        "info" => Ok(Some(Level::INFO)),
        "debug" => Ok(Some(Level::DEBUG)),
        "trace" => Ok(Some(Level::TRACE)),
        other => Err(Error::config(format!(
            "log level \"{other}\": use error, warn, info, debug, trace or off"
        ))),
    }
}

struct SinkLayer {
    sink: LogSink,
    level: LogLevel,
}

impl SinkLayer {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        meta.target().starts_with("modelport")
            && rank(Some(*meta.level())) <= self.level.0.load(Ordering::Relaxed)
    }
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn register_callsite(
        &self,
        _meta: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The level can change at run time: decide per event.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.wants(meta) {
            return;
        }
        let mut text = Fields::default();
        event.record(&mut text);
        let level = match *meta.level() {
            Level::ERROR => "error",
            Level::WARN => "warn",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        (self.sink)(&LogRecord {
            level,
            target: meta.target().to_owned(),
            message: text.finish(),
        });
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn finish(mut self) -> String {
        if !self.rest.is_empty() {
            if !self.message.is_empty() {
                self.message.push(' ');
            }
            self.message.push_str(self.rest.trim_start());
        }
        self.message
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

/// Sends modelport's records at `level` and above to `sink`, process-wide. Returns the handle that
/// changes the level later. Fails when a `tracing` subscriber is already installed.
pub fn install_log_sink(level: Option<Level>, sink: LogSink) -> Result<LogLevel> {
    let handle = LogLevel(Arc::new(AtomicU8::new(rank(level))));
    tracing_subscriber::registry()
        .with(SinkLayer {
            sink,
            level: handle.clone(),
        })
        .try_init()
        .map_err(|e| {
            Error::config(format!(
                "cannot install modelport's log sink: {e} (a tracing subscriber is already set)"
            ))
        })?;
    Ok(handle)
}

/// The handler [`set_log_handler`] forwards records to, and the level of the sink it installed.
static HANDLER: std::sync::RwLock<Option<LogSink>> = std::sync::RwLock::new(None);
static HANDLER_LEVEL: std::sync::Mutex<Option<LogLevel>> = std::sync::Mutex::new(None);

/// How a binding names, in [`set_log_handler`]'s error, its own call ("setLogHandler") and what
/// creates the first client there ("creating a Client", "mp_client_new").
#[derive(Clone, Copy, Debug)]
pub struct HandlerCall<'a> {
    /// The binding's function that sets the handler.
    pub call: &'a str,
    /// What creates a client (and may install the stderr output first).
    pub first_client: &'a str,
}

/// Sends modelport's records at `level` and above to `handler`, process-wide, replacing the handler
/// set before (every binding's `setLogHandler`). The first call with a handler and a level installs
/// the sink ([`install_log_sink`]); later calls swap the handler and the level; `None` for either
/// stops the records. The previous handler gets no record once this returns, except one already
/// being delivered on another thread.
///
/// Fails when records already go elsewhere: to stderr because `MODELPORT_LOG` was set when the first
/// client was created (the error says so, naming `names.call`), or to another `tracing` subscriber.
pub fn set_log_handler(
    level: Option<Level>,
    handler: Option<LogSink>,
    names: HandlerCall<'_>,
) -> Result<()> {
    let wanted = handler.as_ref().and(level);
    let mut installed = crate::util::lock(&HANDLER_LEVEL);
    *HANDLER.write().unwrap_or_else(|p| p.into_inner()) = handler;
    if let Some(current) = installed.as_ref() {
        current.set(wanted);
        return Ok(());
    }
    if wanted.is_none() {
        return Ok(());
    }
    let sink: LogSink = Arc::new(|record: &LogRecord| {
        let handler = HANDLER.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(handler) = handler {
            handler(record);
        }
    });
    match install_log_sink(wanted, sink) {
        Ok(level) => {
            *installed = Some(level);
            Ok(())
        }
        Err(e) => {
            *HANDLER.write().unwrap_or_else(|p| p.into_inner()) = None;
            match std::env::var("MODELPORT_LOG") {
                Ok(v) if !v.trim().is_empty() => Err(Error::config(format!(
                    "{call}: modelport's logs already go to stderr (MODELPORT_LOG={v} when the \
                     first client was created): call {call} before {first}, or unset MODELPORT_LOG",
                    call = names.call,
                    first = names.first_client,
                ))),
                _ => Err(e),
            }
        }
    }
}

/// Writes modelport's records to stderr when `MODELPORT_LOG` names a level (`debug`, ...): one line
/// each, `LEVEL target: message`. Does nothing when it is unset or `off`, or when a subscriber is
/// already installed.
pub fn install_stderr_from_env() -> Result<()> {
    let Ok(value) = std::env::var("MODELPORT_LOG") else {
        return Ok(());
    };
    let level = parse_level(&value)
        .map_err(|e| Error::config(format!("MODELPORT_LOG: {}", e.message())))?;
    if level.is_none() {
        return Ok(());
    }
    let sink: LogSink = Arc::new(|r: &LogRecord| {
        eprintln!(
            "{} {}: {}",
            r.level.to_ascii_uppercase(),
            r.target,
            r.message
        );
    });
    let _ = install_log_sink(level, sink);
    Ok(())
}

static CAPTURE: AtomicBool = AtomicBool::new(false);
static CAPTURE_FROM_ENV: std::sync::Once = std::sync::Once::new();

/// Records prompts and completions on the `chat` spans (`gen_ai.input.messages`,
/// `gen_ai.output.messages`, as JSON); off unless this is called with `true` or
/// `MODELPORT_TRACE_CONTENT=1` is set. Credentials are never recorded either way: they travel in
/// headers, which no span carries.
pub fn set_trace_content(on: bool) {
    CAPTURE_FROM_ENV.call_once(|| {});
    CAPTURE.store(on, Ordering::Relaxed);
}

/// Whether prompts and completions are recorded on spans.
pub fn trace_content() -> bool {
    CAPTURE_FROM_ENV.call_once(|| {
        if std::env::var("MODELPORT_TRACE_CONTENT").is_ok_and(|v| v == "1" || v == "true") {
            CAPTURE.store(true, Ordering::Relaxed);
        }
    });
    CAPTURE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn records_reach_the_sink_at_the_level_asked_and_the_level_can_change() {
        let seen: Arc<Mutex<Vec<LogRecord>>> = Arc::default();
        let into = seen.clone();
        let sink: LogSink = Arc::new(move |r: &LogRecord| into.lock().unwrap().push(r.clone()));
        let layer = SinkLayer {
            sink,
            level: LogLevel(Arc::new(AtomicU8::new(rank(Some(Level::INFO))))),
        };
        let level = layer.level.clone();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "modelport::transport", attempt = 2, "retrying");
            tracing::debug!(target: "modelport::transport", "not at info");
            tracing::info!(target: "other_crate", "not ours");
            level.set(Some(Level::DEBUG));
            tracing::debug!(target: "modelport::session", "now at debug");
            level.set(None);
            tracing::error!(target: "modelport::session", "off");
        });
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                LogRecord {
                    level: "info",
                    target: "modelport::transport".into(),
                    message: "retrying attempt=2".into(),
                },
                LogRecord {
                    level: "debug",
                    target: "modelport::session".into(),
                    message: "now at debug".into(),
                },
            ]
        );
    }

    #[test]
    fn levels_parse_and_a_wrong_one_names_the_choices() {
        assert_eq!(parse_level("DEBUG").unwrap(), Some(Level::DEBUG));
        assert_eq!(parse_level("off").unwrap(), None);
        let e = parse_level("verbose").unwrap_err();
        assert!(
            e.message()
                .contains("error, warn, info, debug, trace or off")
        );
    }
}
