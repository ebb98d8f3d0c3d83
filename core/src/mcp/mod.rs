//! MCP servers as tool sources, on the official Rust SDK (`rmcp`).
//!
//! A session's `mcpServers` start together when the session is created; a server that fails to
//! start leaves the session working without its tools. Each server's tools reach the model as
//! `<server>-<tool>` and run through the same permission and hook path as the application's own.
//! A server that dies is started again, once, by the next call of one of its tools; a server's
//! `tools/list_changed` refreshes the list before the next model call. Disconnecting the session
//! ends every server and everything they started.

mod config;
mod conn;
mod content;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use serde_json::Value;

use crate::events::{EventData, McpServerInfo, McpServerStatusChangedData, McpServersLoadedData};
use crate::session::SessionInner;
use crate::session::tools::{Tool, ToolError, ToolResult};
use crate::types::ToolSpec;
use crate::util::lock;

use config::ServerSpec;
pub(crate) use config::check;
pub use config::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_STARTUP_TIMEOUT, INHERITED_VARIABLES,
    McpServerConfig,
};
use conn::{Connection, Listener, ServerTool};

/// The longest tool name every provider takes (`^[a-zA-Z0-9_-]{1,64}$`).
const MAX_TOOL_NAME: usize = 64;

/// How long `tools/list` may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// A server's state.
enum Link {
    Up(Arc<Connection>),
    /// The connection ended (the process exited, the HTTP session closed): the next call starts
    /// the server again, once.
    Lost(String),
    /// It did not start (or did not start again): its tools fail until the session ends.
    Down(String),
    /// The session disconnected.
    Closed,
}

struct Server {
    spec: ServerSpec,
    listener: Listener,
    link: tokio::sync::Mutex<Link>,
    /// The tools it listed last.
    tools: Mutex<Vec<ServerTool>>,
}

/// A session's MCP servers and the tools they offer now.
pub(crate) struct Hub {
    servers: Vec<Arc<Server>>,
    /// The application's tool names, which MCP names must not take.
    app_names: HashSet<String>,
    available: Option<Vec<String>>,
    excluded: Option<Vec<String>>,
    /// The exposed tools, rebuilt when a list changes.
    exposed: Mutex<Arc<Vec<Tool>>>,
    /// Set once the session exists; every tool reads it for status events.
    session: Arc<OnceLock<Weak<SessionInner>>>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field(
                "servers",
                &self
                    .servers
                    .iter()
                    .map(|s| s.spec.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Starts every server at once and lists their tools; returns the hub and the loaded event.
    pub async fn start(
        specs: Vec<ServerSpec>,
        app_names: HashSet<String>,
        available: Option<Vec<String>>,
        excluded: Option<Vec<String>>,
    ) -> (Arc<Hub>, EventData) {
        let servers: Vec<Arc<Server>> = specs
            .into_iter()
            .map(|spec| {
                Arc::new(Server {
                    spec,
                    listener: Listener::default(),
                    link: tokio::sync::Mutex::new(Link::Closed),
                    tools: Mutex::new(Vec::new()),
                })
            })
            .collect();
        let loaded = futures::future::join_all(servers.iter().map(|s| s.connect())).await;
        let infos = servers
            .iter()
            .zip(loaded)
            .map(|(s, r)| McpServerInfo {
                name: s.spec.name.clone(),
                status: if r.is_ok() { "connected" } else { "failed" }.to_owned(),
                transport: s.spec.transport().to_owned(),
                error: r.err(),
            })
            .collect();
        let hub = Arc::new(Hub {
            servers,
            app_names,
            available,
            excluded,
            exposed: Mutex::new(Arc::new(Vec::new())),
            session: Arc::new(OnceLock::new()),
            runtime: tokio::runtime::Handle::current(),
        });
        hub.rebuild();
        (
            hub,
            EventData::McpServersLoaded(McpServersLoadedData { servers: infos }),
        )
    }

    /// Ties the hub to its session, for the status events of later restarts.
    pub fn attach(&self, session: &Arc<SessionInner>) {
        let _ = self.session.set(Arc::downgrade(session));
    }

    /// The tools offered now.
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        lock(&self.exposed).clone()
    }

    /// The application's specs followed by the servers'.
    pub fn specs_after(&self, app: &[ToolSpec]) -> Vec<ToolSpec> {
        let mcp = self.tools();
        app.iter()
            .cloned()
            .chain(mcp.iter().map(|t| t.spec().clone()))
            .collect()
    }

    /// Lists again the tools of every server that said its list changed.
    pub async fn refresh(&self) {
        let mut changed = false;
        for server in &self.servers {
            if !server.listener.tools_changed.swap(false, Ordering::AcqRel) {
                continue;
            }
            let conn = match &*server.link.lock().await {
                Link::Up(c) => c.clone(),
                _ => continue,
            };
            match conn.list_tools(LIST_TIMEOUT).await {
                Ok(tools) => {
                    *lock(&server.tools) = tools;
                    changed = true;
                }
                Err(e) => tracing::warn!(server = %server.spec.name, "{e}"),
            }
        }
        if changed {
            self.rebuild();
        }
    }

    /// Ends every server (and whatever it started) and closes HTTP sessions.
    pub async fn close(&self) {
        let closing = self.servers.iter().map(|s| async move {
            let old = std::mem::replace(&mut *s.link.lock().await, Link::Closed);
            if let Link::Up(conn) = old {
                match Arc::try_unwrap(conn) {
                    Ok(conn) => conn.close().await,
                    // A call still holds it: kill the group now; the call ends with an error.
                    Err(shared) => shared.kill_now(),
                }
            }
        });
        futures::future::join_all(closing).await;
    }

    /// Rebuilds the exposed tools: names made valid for every provider, made unique in server
    /// order (servers by name, tools in the order listed), then filtered.
    fn rebuild(self: &Hub) {
        let mut taken: HashSet<String> = self.app_names.clone();
        let mut tools = Vec::new();
        for server in &self.servers {
            let listed = lock(&server.tools).clone();
            for t in listed {
                if !server.spec.offers(&t.name) {
                    continue;
                }
                let name = unique_name(&server.spec.name, &t.name, &mut taken);
                let origin = Some((server.spec.name.as_str(), t.name.as_str()));
                let selected = crate::session::offered(
                    self.available.as_deref(),
                    self.excluded.as_deref(),
                    &name,
                    origin,
                );
                if selected {
                    tools.push(mcp_tool(server.clone(), self.session_ref(), name, t));
                }
            }
        }
        *lock(&self.exposed) = Arc::new(tools);
    }

    fn session_ref(&self) -> Arc<OnceLock<Weak<SessionInner>>> {
        // Tools hold the slot, not the hub: the hub is reached from the session, so a tool holding
        // it would be a cycle.
        self.session.clone()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // A session dropped without disconnect (a host's garbage collector, say): kill every
        // group now; the connections' own clean-up needs the runtime.
        let _entered = self.runtime.enter();
        for server in &self.servers {
            if let Ok(mut link) = server.link.try_lock()
                && let Link::Up(conn) = std::mem::replace(&mut *link, Link::Closed)
            {
                conn.kill_now();
            }
        }
    }
}

impl Server {
    /// Starts the server and lists its tools.
    async fn connect(&self) -> Result<(), String> {
        let opened = self.open().await;
        self.install(&mut *self.link.lock().await, opened)
    }

    async fn open(&self) -> Result<(Connection, Vec<ServerTool>), String> {
        let conn = Connection::start(&self.spec, self.listener.clone()).await?;
        let tools = conn.list_tools(LIST_TIMEOUT).await?;
        Ok((conn, tools))
    }

    fn install(
        &self,
        link: &mut Link,
        opened: Result<(Connection, Vec<ServerTool>), String>,
    ) -> Result<(), String> {
        match opened {
            Ok((conn, tools)) => {
                *lock(&self.tools) = tools;
                self.listener.tools_changed.store(false, Ordering::Release);
                *link = Link::Up(Arc::new(conn));
                Ok(())
            }
            Err(e) => {
                let e = format!("MCP server \"{}\": {e}", self.spec.name);
                *link = Link::Down(e.clone());
                Err(e)
            }
        }
    }

    /// Calls one of its tools; a lost server is started again first (once per loss).
    async fn call(
        &self,
        session: Option<Arc<SessionInner>>,
        tool: &str,
        arguments: Value,
    ) -> ToolResult {
        let emit = |status: &str, error: Option<String>| {
            if let Some(s) = &session {
                s.bus.emit(EventData::McpServerStatusChanged(
                    McpServerStatusChangedData {
                        server_name: self.spec.name.clone(),
                        status: status.to_owned(),
                        error,
                    },
                ));
            }
        };
        let conn = {
            let mut link = self.link.lock().await;
            match &*link {
                Link::Up(c) if !c.is_closed() => c.clone(),
                Link::Up(_) | Link::Lost(_) => {
                    // Started again holding the lock: concurrent calls wait for this one start.
                    emit("pending", None);
                    let opened = self.open().await;
                    match self.install(&mut link, opened) {
                        Ok(()) => {
                            emit("connected", None);
                            // Its tools may differ now: listed again before the next model call.
                            self.listener.tools_changed.store(true, Ordering::Release);
                        }
                        Err(e) => emit("failed", Some(e)),
                    }
                    match &*link {
                        Link::Up(c) => c.clone(),
                        Link::Down(e) | Link::Lost(e) => {
                            return ToolResult::failure(format!(
                                "The tool could not run: {e} (it stopped earlier and did not \
                                 start again)."
                            ));
                        }
                        Link::Closed => return closed(&self.spec.name),
                    }
                }
                Link::Down(e) => {
                    return ToolResult::failure(format!("The tool could not run: {e}."));
                }
                Link::Closed => return closed(&self.spec.name),
            }
        };
        match conn.call(tool, arguments).await {
            Ok(result) => content::to_tool_result(&result, self.spec.max_output_bytes),
            Err((message, lost)) => {
                if lost {
                    let mut link = self.link.lock().await;
                    if matches!(&*link, Link::Up(c) if Arc::ptr_eq(c, &conn)) {
                        *link = Link::Lost(message.clone());
                        drop(link);
                        emit("failed", Some(message.clone()));
                    }
                    // The SDK's wording is for the host; the model gets a fixed sentence.
                    let mut result = ToolResult::failure(format!(
                        "The MCP server \"{}\" stopped during the call; it will be started again \
                         for the next call.",
                        self.spec.name
                    ));
                    result.error = Some(message);
                    result
                } else {
                    ToolResult::failure(format!(
                        "The MCP server \"{}\" answered the call with an error: {message}",
                        self.spec.name
                    ))
                }
            }
        }
    }
}

fn closed(server: &str) -> ToolResult {
    ToolResult::failure(format!(
        "The MCP server \"{server}\" is closed: the session was disconnected."
    ))
}

/// A server's tool as the session's [`Tool`].
fn mcp_tool(
    server: Arc<Server>,
    session: Arc<OnceLock<Weak<SessionInner>>>,
    name: String,
    t: ServerTool,
) -> Tool {
    let tool_name = t.name.clone();
    let server_name = server.spec.name.clone();
    let timeout = server.spec.call_timeout;
    Tool::new(
        name,
        t.description,
        t.input_schema,
        move |arguments: Value, _invocation| {
            let server = server.clone();
            let tool_name = tool_name.clone();
            let session = session.get().and_then(Weak::upgrade);
            async move { Ok::<_, ToolError>(server.call(session, &tool_name, arguments).await) }
        },
    )
    .with_timeout(timeout)
    .with_mcp_origin(server_name, t.name)
}

/// `<server>-<tool>` with every character outside `[a-zA-Z0-9_-]` made `_`, at most 64 bytes, and
/// not yet taken: a clash gets `_2`, `_3`, ... (cut to fit).
fn unique_name(server: &str, tool: &str, taken: &mut HashSet<String>) -> String {
    let base: String = format!("{server}-{tool}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let fit = |s: &str, room: usize| s[..s.len().min(MAX_TOOL_NAME - room)].to_owned();
    let mut name = fit(&base, 0);
    let mut n = 2;
    while taken.contains(&name) {
        let suffix = format!("_{n}");
        name = fit(&base, suffix.len()) + &suffix;
        n += 1;
    }
    taken.insert(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_for_every_provider_and_unique_in_order() {
        let mut taken: HashSet<String> = ["files-read".to_owned()].into_iter().collect();
        // The application's own tool keeps its name; the server's tool gets the first free suffix.
        assert_eq!(unique_name("files", "read", &mut taken), "files-read_2");
        assert_eq!(unique_name("files", "read", &mut taken), "files-read_3");
        assert_eq!(
            unique_name("db", "weird.name/with spaces", &mut taken),
            "db-weird_name_with_spaces"
        );
        let long = "t".repeat(80);
        let first = unique_name("s", &long, &mut taken);
        assert_eq!(first.len(), 64);
        assert!(first.starts_with("s-ttt"));
        let second = unique_name("s", &long, &mut taken);
        assert_eq!(second.len(), 64);
        assert!(second.ends_with("_2"));
        let valid = |n: &str| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        assert!(
            taken
                .iter()
                .all(|n| valid(n) && !n.is_empty() && n.len() <= 64)
        );
    }
}
