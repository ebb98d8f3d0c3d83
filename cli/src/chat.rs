//! `modelport chat`: a streaming chat on a stored session. Lines are prompts, or commands (`/model
//! NAME`, `/reset`, `/exit`); on a terminal a spinner runs until the first token and Ctrl-C stops an
//! answer (or, at the prompt, the chat).

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use futures::{FutureExt, StreamExt};
use modelport::session::events::EventData;
use modelport::{Client, Error, Event, EventStream, Result, Session, SessionConfig};
use tokio::sync::mpsc;

use crate::output::{Out, Style};
use crate::provider::{self, Provider};
use crate::{ProviderArgs, StoreArgs};

/// `modelport chat` options.
#[derive(Args, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    provider: ProviderArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Continues a stored session (its id is printed when a chat starts).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// A session config JSON file, as the bindings take it (systemMessage, mcpServers,
    /// reasoningEffort, ...), without provider or sessionId.
    #[arg(long, value_name = "FILE")]
    session_config: Option<PathBuf>,
}

pub async fn run(args: ChatArgs, out: &Out) -> Result<()> {
    let base = base_config(args.session_config.as_deref())?;
    let provider = provider::resolve(&args.provider).await?;
    let result = async {
        let client = Client::new(args.store.options().with_provider(provider.config.clone()))?;
        let result = chat(&args, &client, &provider, base, out).await;
        client.stop().await;
        result
    }
    .await;
    provider.stop().await;
    result
}

/// The session config from `--session-config`, streaming.
fn base_config(path: Option<&Path>) -> Result<SessionConfig> {
    let mut config = match path {
        None => SessionConfig::default(),
        Some(path) => {
            let name = path.display();
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::config(format!("--session-config {name}: {e}")))?;
            SessionConfig::from_json(&text).map_err(|e| {
                let message = format!("--session-config {name}: {}", e.message());
                e.with_message(message)
            })?
        }
    };
    if config.provider.is_some() || config.session_id.is_some() {
        return Err(Error::config(
            "--session-config: leave provider and sessionId out of the file: the provider comes \
             from the flags or MODELPORT_* variables, and --session ID resumes a session",
        ));
    }
    config.streaming = true;
    Ok(config)
}

async fn chat(
    args: &ChatArgs,
    client: &Client,
    provider: &Provider,
    base: SessionConfig,
    out: &Out,
) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    // An explicit model (flags, environment) wins over the file's; offline, any name will do.
    let model = provider.model.clone().or(base.model.clone());
    let mut new_config = base.clone();
    new_config.model = Some(model.clone().unwrap_or_else(|| provider.model_or_default()));
    if !out.json {
        out.line(&out.paint(
            Style::Dim,
            &format!("modelport chat: {}", provider.describe()),
        ));
    }
    let session = match &args.session {
        Some(id) => {
            // Without an explicit model, the stored one.
            let mut config = base.clone();
            config.model = model;
            client.resume_session(id, config).await?
        }
        None => client.create_session(new_config.clone()).await?,
    };
    let mut view = View::new(out, interactive);
    let mut live = Live::open(session, &mut view);
    if interactive && !out.json {
        out.line(&out.paint(Style::Dim, HELP));
    }
    let mut input = stdin_lines();
    let mut interrupts = interrupts();
    loop {
        if interactive && !out.json {
            out.write(&out.paint(Style::Green, "> "));
        }
        let line = tokio::select! {
            line = input.recv() => line,
            Some(()) = interrupts.recv() => None,
        };
        let Some(line) = line else {
            if interactive && !out.json {
                out.line("");
            }
            break;
        };
        match parse(&line) {
            Input::Empty => {}
            Input::Exit => break,
            Input::Help => out.line(&out.paint(Style::Dim, HELP)),
            Input::Model(None) => {
                out.line(&out.paint(Style::Dim, &format!("model {}", live.session.model())))
            }
            Input::Model(Some(name)) => match live.session.set_model(name).await {
                Ok(()) => live.drain(&mut view),
                Err(e) => out.error(&e),
            },
            Input::Reset => {
                live.session.disconnect().await;
                let session = client.create_session(new_config.clone()).await?;
                live = Live::open(session, &mut view);
            }
            Input::Unknown(command) => {
                out.err_line(Style::Red, &format!("unknown command {command}: {HELP}"))
            }
            Input::Prompt(prompt) => live.turn(prompt, &mut view, &mut interrupts).await,
        }
    }
    let id = live.session.id().to_owned();
    live.session.disconnect().await;
    let memory = matches!(args.store.store.as_deref(), Some("memory" | "memory://"));
    if !out.json && !memory {
        out.line(&out.paint(
            Style::Dim,
            &format!("session {id} is stored: continue it with `modelport chat --session {id}`"),
        ));
    }
    Ok(())
}

const HELP: &str = "/model NAME switches the model, /reset starts a new session, /exit quits (Ctrl-C stops an answer)";

/// What a line of input asks for.
#[derive(Debug, PartialEq, Eq)]
enum Input<'a> {
    Empty,
    Exit,
    Help,
    Model(Option<&'a str>),
    Reset,
    Unknown(&'a str),
    Prompt(&'a str),
}

fn parse(line: &str) -> Input<'_> {
    let line = line.trim();
    if line.is_empty() {
        return Input::Empty;
    }
    let Some(command) = line.strip_prefix('/') else {
        return Input::Prompt(line);
    };
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(n, r)| (n, r.trim()));
    match name {
        "exit" | "quit" => Input::Exit,
        "help" => Input::Help,
        "reset" => Input::Reset,
        "model" => Input::Model((!rest.is_empty()).then_some(rest)),
        _ => Input::Unknown(line),
    }
}

/// The stdin lines, read on a thread of their own (a blocking read would hold a runtime worker).
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Each Ctrl-C as a message (none if the handler cannot be installed).
fn interrupts() -> mpsc::UnboundedReceiver<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    rx
}

/// The open session and its events.
struct Live {
    session: Session,
    events: EventStream,
    /// The ids of the events already shown from the log.
    shown: HashSet<String>,
}

impl Live {
    /// Subscribes to `session` and shows its log (a resumed session's earlier conversation).
    fn open(session: Session, view: &mut View<'_>) -> Live {
        let events = session.events();
        let log = session.get_events();
        for event in &log {
            view.show(event, true);
        }
        Live {
            shown: log.iter().map(|e| e.id.clone()).collect(),
            session,
            events,
        }
    }

    /// Shows the events that are already there (after `/model`).
    fn drain(&mut self, view: &mut View<'_>) {
        while let Some(Some(item)) = self.events.next().now_or_never() {
            if let Ok(event) = item
                && !self.shown.remove(&event.id)
            {
                view.show(&event, false);
            }
        }
    }

    /// Sends `prompt` and shows its events until the session is idle.
    async fn turn(
        &mut self,
        prompt: &str,
        view: &mut View<'_>,
        interrupts: &mut mpsc::UnboundedReceiver<()>,
    ) {
        if let Err(e) = self.session.send(prompt).await {
            view.out.error(&e);
            return;
        }
        let mut spinner = Spinner::new(view.out);
        let mut ticks = tokio::time::interval(Duration::from_millis(80));
        loop {
            tokio::select! {
                item = self.events.next() => {
                    let Some(item) = item else {
                        spinner.clear();
                        return;
                    };
                    // After a lag (dropped deltas) the final message still has the whole text.
                    let Ok(event) = item else { continue };
                    if self.shown.remove(&event.id) {
                        continue;
                    }
                    spinner.clear();
                    let wrote = view.show(&event, false);
                    match &event.data {
                        EventData::TurnStart(_) => spinner.waiting = true,
                        EventData::SessionIdle(_) => return,
                        _ if wrote => spinner.waiting = false,
                        _ => {}
                    }
                }
                _ = ticks.tick(), if spinner.waiting => spinner.draw(),
                Some(()) = interrupts.recv() => {
                    spinner.clear();
                    self.session.abort().await;
                }
            }
        }
    }
}

/// Shows events: JSON lines, or text.
pub(crate) struct View<'a> {
    out: &'a Out,
    /// Show user messages (the terminal already shows what is typed on it).
    echo_user: bool,
    /// The message being streamed and the text shown of it; the cursor is after that text.
    streamed: Option<(String, String)>,
    /// Tool names by call id.
    tools: HashMap<String, String>,
}

/// A line of text for stdout (styled), or for stderr (styled there).
enum Said {
    Out(String),
    Err(String),
}

impl<'a> View<'a> {
    pub(crate) fn new(out: &'a Out, interactive: bool) -> View<'a> {
        View {
            out,
            echo_user: !interactive,
            streamed: None,
            tools: HashMap::new(),
        }
    }

    /// Shows `event` (`history`: from the stored log); true when it wrote something.
    pub(crate) fn show(&mut self, event: &Event, history: bool) -> bool {
        let out = self.out;
        if out.json {
            out.line(event.json());
            return true;
        }
        let said = match &event.data {
            EventData::MessageDelta(d) => {
                match &mut self.streamed {
                    Some((id, text)) if *id == d.message_id => text.push_str(&d.delta_content),
                    _ => self.streamed = Some((d.message_id.clone(), d.delta_content.clone())),
                }
                out.write(&d.delta_content);
                return true;
            }
            EventData::AssistantMessage(d) => {
                // The streamed part is on screen; a message that was not streamed (or whose
                // deltas a lag dropped) is shown whole.
                let shown = match self.streamed.take() {
                    Some((id, text)) if id == d.message_id => text,
                    Some(_) => {
                        out.line("");
                        String::new()
                    }
                    None => String::new(),
                };
                let rest = match d.content.strip_prefix(shown.as_str()) {
                    Some(rest) => rest.to_owned(),
                    None => format!("\n{}", d.content),
                };
                if shown.is_empty() && rest.is_empty() {
                    return false;
                }
                out.line(&rest);
                return true;
            }
            EventData::SessionStart(d) => Said::Out(format!(
                "{} {}",
                out.paint(Style::Bold, &format!("session {}", d.session_id)),
                out.paint(Style::Dim, &format!("(model {})", d.selected_model)),
            )),
            EventData::SessionResume(d) => Said::Out(out.paint(
                Style::Dim,
                &format!("resumed: {} earlier events", d.event_count),
            )),
            EventData::UserMessage(d) if history || self.echo_user => {
                Said::Out(out.paint(Style::Bold, &format!("> {}", d.content)))
            }
            EventData::ToolExecutionStart(d) => {
                self.tools
                    .insert(d.tool_call_id.clone(), d.tool_name.clone());
                Said::Out(out.paint(
                    Style::Cyan,
                    &format!("[tool] {} {}", d.tool_name, d.arguments),
                ))
            }
            EventData::ToolExecutionComplete(d) => {
                let name = self
                    .tools
                    .get(&d.tool_call_id)
                    .map_or("tool", String::as_str);
                let (style, text) = match (&d.error, &d.result) {
                    (Some(error), _) if !d.success => (
                        Style::Red,
                        format!("[tool] {name} failed: {}", error.message),
                    ),
                    (_, Some(result)) => (
                        Style::Cyan,
                        format!("[tool] {name} -> {}", first_line(&result.content)),
                    ),
                    _ => (Style::Cyan, format!("[tool] {name} done")),
                };
                Said::Out(out.paint(style, &text))
            }
            EventData::TurnRetry(d) => {
                Said::Out(out.paint(Style::Dim, &format!("(retrying: {})", d.reason)))
            }
            EventData::Abort(_) => Said::Out(out.paint(Style::Dim, "(stopped)")),
            EventData::SessionError(d) => Said::Err(format!("error: {}", d.message)),
            EventData::ModelChange(d) => Said::Out(out.paint(
                Style::Dim,
                &format!("model {} -> {}", d.previous_model, d.new_model),
            )),
            EventData::McpServersLoaded(d) => {
                let lines: Vec<String> = d
                    .servers
                    .iter()
                    .map(|s| mcp_line(&s.name, &s.status, s.error.as_deref()))
                    .collect();
                if lines.is_empty() {
                    return false;
                }
                Said::Out(out.paint(Style::Dim, &lines.join("\n")))
            }
            EventData::McpServerStatusChanged(d) => Said::Out(out.paint(
                Style::Dim,
                &mcp_line(&d.server_name, &d.status, d.error.as_deref()),
            )),
            _ => return false,
        };
        // A line never continues a streamed text that was cut off (an abort, an error).
        if self.streamed.take().is_some() {
            out.line("");
        }
        match said {
            Said::Out(text) => out.line(&text),
            Said::Err(text) => out.err_line(Style::Red, &text),
        }
        true
    }
}

fn mcp_line(name: &str, status: &str, error: Option<&str>) -> String {
    match error {
        Some(e) => format!("[mcp] {name} {status}: {e}"),
        None => format!("[mcp] {name} {status}"),
    }
}

/// The first line of a tool result, at most 200 characters.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() || text.lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// A spinner on a terminal while the model has not answered yet.
struct Spinner<'a> {
    out: &'a Out,
    on: bool,
    waiting: bool,
    drawn: bool,
    frame: usize,
}

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl<'a> Spinner<'a> {
    fn new(out: &'a Out) -> Spinner<'a> {
        Spinner {
            out,
            on: out.terminal && !out.json,
            waiting: true,
            drawn: false,
            frame: 0,
        }
    }

    fn draw(&mut self) {
        if !self.on {
            return;
        }
        let frame = FRAMES[self.frame % FRAMES.len()].to_string();
        self.out
            .write(&format!("\r{}", self.out.paint(Style::Dim, &frame)));
        self.frame += 1;
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            self.out.write("\r\x1b[2K");
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_prompts_or_commands() {
        assert_eq!(parse("  "), Input::Empty);
        assert_eq!(parse("What is 2+2?"), Input::Prompt("What is 2+2?"));
        assert_eq!(parse("/exit"), Input::Exit);
        assert_eq!(parse("/quit"), Input::Exit);
        assert_eq!(parse("/reset"), Input::Reset);
        assert_eq!(parse("/model"), Input::Model(None));
        assert_eq!(parse("/model  gpt-4o "), Input::Model(Some("gpt-4o")));
        assert_eq!(parse("/modelx"), Input::Unknown("/modelx"));
    }

    #[test]
    fn first_line_marks_what_it_cut() {
        assert_eq!(first_line("sunny"), "sunny");
        assert_eq!(first_line("a\nb"), "a…");
        assert_eq!(first_line(&"x".repeat(201)).chars().count(), 201);
    }
}
