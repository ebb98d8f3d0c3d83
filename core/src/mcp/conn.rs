//! One live MCP server: started (a child process in its own process group, or a Streamable HTTP
//! session), its tools listed, calls made, and ended with everything it started.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

use super::config::{INHERITED_VARIABLES, Launch, ServerSpec};

/// Receives the server's notifications: a changed tool list is noted, to be read before the next
/// model call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listener {
    pub tools_changed: Arc<AtomicBool>,
}

impl ClientHandler for Listener {
    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.tools_changed.store(true, Ordering::Release);
        std::future::ready(())
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("modelport", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// A started server.
pub(crate) struct Connection {
    service: RunningService<RoleClient, Listener>,
    /// A local server's process group (its pid: the server leads its own group).
    group: Option<i32>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// A tool as the server lists it.
#[derive(Clone, Debug)]
pub(crate) struct ServerTool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

impl Connection {
    /// Starts the server and completes `initialize` within the spec's startup timeout.
    pub async fn start(spec: &ServerSpec, listener: Listener) -> Result<Connection, String> {
        let started = tokio::time::timeout(spec.startup_timeout, Self::start_inner(spec, listener));
        match started.await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "it did not start within {} ms (startupTimeoutMs)",
                spec.startup_timeout.as_millis()
            )),
        }
    }

    async fn start_inner(spec: &ServerSpec, listener: Listener) -> Result<Connection, String> {
        match &spec.launch {
            Launch::Local {
                command,
                args,
                env,
                cwd,
                inherit_env,
            } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args);
                if !inherit_env {
                    cmd.env_clear();
                    for name in INHERITED_VARIABLES {
                        if let Some(v) = std::env::var_os(name) {
                            cmd.env(name, v);
                        }
                    }
                }
                cmd.envs(env);
                if let Some(dir) = cwd {
                    cmd.current_dir(dir);
                }
                let mut wrapped = process_wrap::tokio::CommandWrap::from(cmd);
                wrapped.wrap(process_wrap::tokio::ProcessGroup::leader());
                let (transport, stderr) = TokioChildProcess::builder(wrapped)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("could not run \"{command}\": {e}"))?;
                let group = transport.id().and_then(|pid| i32::try_from(pid).ok());
                // Should initialize fail, the group still goes.
                let guard = GroupGuard(group);
                let tail = StderrTail::read(stderr);
                let service = match listener.serve(transport).await {
                    Ok(s) => s,
                    Err(e) => {
                        // What the server said before it gave up is usually the reason.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let secrets: Vec<&str> = env.values().map(String::as_str).collect();
                        return Err(format!(
                            "it did not complete initialize: {e}{}",
                            tail.describe(&secrets)
                        ));
                    }
                };
                std::mem::forget(guard);
                Ok(Connection { service, group })
            }
            Launch::Http { url, headers } => {
                let mut custom = HashMap::new();
                for (name, value, sensitive) in headers.iter() {
                    let n = http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("headers: \"{name}\" is not a valid header name"))?;
                    let mut v = http::HeaderValue::from_str(value)
                        .map_err(|_| format!("headers[\"{name}\"] is not a valid header value"))?;
                    v.set_sensitive(sensitive || crate::secret::is_sensitive_header(name));
                    custom.insert(n, v);
                }
                let config = rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(custom);
                let client = crate::transport::mcp_http_client().map_err(|e| e.to_string())?;
                let transport = StreamableHttpClientTransport::with_client(client, config);
                let service = listener
                    .serve(transport)
                    .await
                    .map_err(|e| format!("it did not complete initialize: {e}"))?;
                Ok(Connection {
                    service,
                    group: None,
                })
            }
        }
    }

    /// Every tool the server lists (all pages).
    pub async fn list_tools(&self, timeout: Duration) -> Result<Vec<ServerTool>, String> {
        let listed = tokio::time::timeout(timeout, self.service.peer().list_all_tools())
            .await
            .map_err(|_| format!("tools/list got no answer within {} ms", timeout.as_millis()))?
            .map_err(|e| format!("tools/list failed: {e}"))?;
        Ok(listed
            .into_iter()
            .map(|t| {
                let v = serde_json::to_value(&t).unwrap_or(Value::Null);
                ServerTool {
                    name: v["name"].as_str().unwrap_or_default().to_owned(),
                    description: v["description"].as_str().unwrap_or_default().to_owned(),
                    input_schema: match v.get("inputSchema") {
                        Some(Value::Object(m)) => Value::Object(m.clone()),
                        _ => serde_json::json!({"type": "object", "properties": {}}),
                    },
                }
            })
            .filter(|t| !t.name.is_empty())
            .collect())
    }

    /// One `tools/call`; its result as JSON. `Err((message, lost))`: `lost` when the connection is
    /// gone (the server exited or the session closed), so the server must be started again.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, (String, bool)> {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        if let Value::Object(map) = arguments {
            params = params.with_arguments(map);
        }
        match self.service.peer().call_tool(params).await {
            Ok(result) => Ok(serde_json::to_value(&result).unwrap_or(Value::Null)),
            Err(e) => {
                let lost = self.service.is_closed()
                    || matches!(
                        e,
                        rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)
                    );
                Err((e.to_string(), lost))
            }
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.service.is_closed()
    }

    /// Ends the session: stdin closed (a well-behaved server exits) or the HTTP session deleted,
    /// then the whole process group killed, so nothing the server started outlives it.
    pub async fn close(self) {
        let Connection { service, group } = self;
        let guard = GroupGuard(group);
        let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
        drop(guard);
    }

    /// Kills the process group at once (for a session dropped without disconnect).
    pub fn kill_now(&self) {
        kill_group(self.group);
    }
}

/// The last bytes a stdio server wrote to stderr. The pipe is read for the server's whole life, so
/// a chatty server never blocks on a full pipe; nothing of it is logged.
#[derive(Clone, Default)]
struct StderrTail(Arc<std::sync::Mutex<Vec<u8>>>);

/// How much of stderr a failed start quotes.
const STDERR_TAIL: usize = 2048;

impl StderrTail {
    fn read(stderr: Option<tokio::process::ChildStderr>) -> StderrTail {
        let tail = StderrTail::default();
        if let Some(mut pipe) = stderr {
            let keep = tail.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = crate::util::lock(&keep.0);
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
            });
        }
        tail
    }

    /// "; its stderr ends: ..." with the configured env values taken out, or nothing.
    fn describe(&self, secrets: &[&str]) -> String {
        let mut text = String::from_utf8_lossy(&crate::util::lock(&self.0))
            .trim()
            .to_owned();
        for s in secrets.iter().filter(|s| s.len() >= 4) {
            text = text.replace(s, "[redacted]");
        }
        if text.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends: {text}")
        }
    }
}

/// Kills a process group when dropped.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// SIGKILL to every process of the group; a group that is already gone is fine.
fn kill_group(group: Option<i32>) {
    #[cfg(unix)]
    if let Some(pgid) = group.filter(|g| *g > 1) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    #[cfg(not(unix))]
    let _ = group;
}
