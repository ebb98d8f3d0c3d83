//! `SessionConfig.mcpServers`: the Copilot SDK's MCP server entries, checked once.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Headers;

/// How long a server may take to start and answer `initialize` unless `startupTimeoutMs` says.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one tool call may take unless the server's `timeout` says.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most text one tool result may give the model unless `maxOutputBytes` says.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// The variables a stdio server inherits from the host, as the official MCP SDKs pass them; the rest
/// of the host's environment stays out unless `inheritEnv` is true.
pub const INHERITED_VARIABLES: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

/// One entry of `mcpServers`: a local server (`type` "local" or "stdio", the default) started as a
/// child process speaking MCP over stdin/stdout, or a remote one (`type` "http" or "sse") reached
/// over Streamable HTTP. Field names are the Copilot SDK's; `startupTimeoutMs`, `maxOutputBytes`
/// and `inheritEnv` are modelport's own.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServerConfig {
    /// "local" / "stdio" (default) or "http" / "sse".
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Local: the program to run (looked up on PATH).
    #[serde(default)]
    pub command: Option<String>,
    /// Local: its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Local: variables set for the server, on top of [`INHERITED_VARIABLES`].
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Local: the server's working directory (default: the host's).
    #[serde(default, alias = "workingDirectory", alias = "working_directory")]
    pub cwd: Option<String>,
    /// Local: pass the host's whole environment instead of [`INHERITED_VARIABLES`].
    #[serde(default, alias = "inherit_env")]
    pub inherit_env: bool,
    /// Remote: the server's Streamable HTTP endpoint.
    #[serde(default)]
    pub url: Option<String>,
    /// Remote: headers sent with every request (secrets, redacted like provider keys).
    #[serde(default)]
    pub headers: Headers,
    /// The server's tools to offer: absent or `["*"]` for all, `[]` for none, else these names.
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// Per tool call, in milliseconds (default 60 000).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Starting and `initialize`, in milliseconds (default 30 000).
    #[serde(default, alias = "startup_timeout_ms")]
    pub startup_timeout_ms: Option<u64>,
    /// The most bytes of text one result gives the model; more is cut with a note (default 65 536).
    #[serde(default, alias = "max_output_bytes")]
    pub max_output_bytes: Option<usize>,
}

impl fmt::Debug for McpServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Environment values are often credentials: only their names are shown.
        f.debug_struct("McpServerConfig")
            .field("type", &self.kind)
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

/// How a server is reached, checked.
#[derive(Clone, Debug)]
pub(crate) enum Launch {
    Local {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<String>,
        inherit_env: bool,
    },
    Http {
        url: String,
        headers: Headers,
    },
}

/// One server's entry, checked: what to start and how to treat its tools.
#[derive(Clone, Debug)]
pub(crate) struct ServerSpec {
    pub name: String,
    pub launch: Launch,
    /// `None`: every tool.
    pub tools: Option<Vec<String>>,
    pub call_timeout: Duration,
    pub startup_timeout: Duration,
    pub max_output_bytes: usize,
}

impl ServerSpec {
    /// "stdio" or "http", as the loaded event says.
    pub fn transport(&self) -> &'static str {
        match self.launch {
            Launch::Local { .. } => "stdio",
            Launch::Http { .. } => "http",
        }
    }

    /// Whether the server's tool `tool` is offered.
    pub fn offers(&self, tool: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == tool))
    }
}

/// Checks every entry; errors name the field and the fix.
pub(crate) fn check(servers: &BTreeMap<String, McpServerConfig>) -> Result<Vec<ServerSpec>> {
    servers.iter().map(|(name, c)| check_one(name, c)).collect()
}

fn check_one(name: &str, c: &McpServerConfig) -> Result<ServerSpec> {
    let at = |field: &str| format!("mcpServers[\"{name}\"].{field}");
    if name.trim().is_empty() || name.contains('/') {
        return Err(Error::config(format!(
            "mcpServers: \"{name}\" is not a server name: use a non-empty name without '/'"
        )));
    }
    let kind = c.kind.as_deref().unwrap_or("local");
    let launch = match kind {
        "local" | "stdio" => {
            if c.url.is_some() || !c.headers.is_empty() {
                return Err(Error::config(format!(
                    "{}: a local server has no url or headers: set type \"http\" for a remote server",
                    at("url")
                )));
            }
            let command = c
                .command
                .clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| {
                    Error::config(format!(
                        "{}: a local server needs the program to run, e.g. \"command\": \"python3\", \
                         \"args\": [\"server.py\"]",
                        at("command")
                    ))
                })?;
            Launch::Local {
                command,
                args: c.args.clone(),
                env: c.env.clone(),
                cwd: c.cwd.clone(),
                inherit_env: c.inherit_env,
            }
        }
        "http" | "sse" => {
            if c.command.is_some() || !c.args.is_empty() || !c.env.is_empty() || c.cwd.is_some() {
                return Err(Error::config(format!(
                    "{}: a remote server has no command, args, env or cwd: remove them, or use type \
                     \"local\"",
                    at("command")
                )));
            }
            let url = c.url.clone().unwrap_or_default();
            let parsed = url::Url::parse(&url).map_err(|_| {
                Error::config(format!(
                    "{}: \"{url}\" is not a URL: give the server's MCP endpoint, e.g. \
                     \"http://127.0.0.1:8000/mcp\"",
                    at("url")
                ))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::config(format!(
                    "{}: \"{url}\" is not an http(s) URL",
                    at("url")
                )));
            }
            Launch::Http {
                url,
                headers: c.headers.clone(),
            }
        }
        other => {
            return Err(Error::config(format!(
                "{}: \"{other}\" is not a server type: use \"local\" (or \"stdio\") or \"http\" (or \
                 \"sse\")",
                at("type")
            )));
        }
    };
    let tools = match &c.tools {
        Some(t) if t.iter().any(|n| n == "*") => None,
        other => other.clone(),
    };
    let positive = |v: Option<u64>, field: &str, default: Duration| match v {
        Some(0) => Err(Error::config(format!(
            "{}: 0 is not a timeout: give milliseconds above 0, or leave it out",
            at(field)
        ))),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(default),
    };
    Ok(ServerSpec {
        name: name.to_owned(),
        launch,
        tools,
        call_timeout: positive(c.timeout, "timeout", DEFAULT_CALL_TIMEOUT)?,
        startup_timeout: positive(
            c.startup_timeout_ms,
            "startupTimeoutMs",
            DEFAULT_STARTUP_TIMEOUT,
        )?,
        max_output_bytes: match c.max_output_bytes {
            Some(0) => {
                return Err(Error::config(format!(
                    "{}: 0 bytes leaves the model nothing: give a limit above 0",
                    at("maxOutputBytes")
                )));
            }
            Some(n) => n,
            None => DEFAULT_MAX_OUTPUT_BYTES,
        },
    })
}
