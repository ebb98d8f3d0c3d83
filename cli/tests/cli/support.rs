//! Running `modelport` as a child process: a clean environment, the fixture's expected texts, the
//! replay provider as a child (`modelport replay serve`) and a pseudo-terminal.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use modelport::replay::snapshot::{self, SnapMessage, Snapshot};
use serde_json::Value;

/// How long a test waits for a child's output or exit.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A file under cli/fixtures.
pub fn fixture_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The offline provider's conversations.
pub fn fixture_path() -> PathBuf {
    fixture_file("offline.yaml")
}

/// The fixture the offline provider plays.
pub fn fixture() -> Snapshot {
    let text = std::fs::read_to_string(fixture_path()).expect("read the fixture");
    snapshot::parse(&text).expect("parse the fixture")
}

/// The messages of the fixture conversation whose first prompt contains `key`.
pub fn conversation(key: &str) -> Vec<SnapMessage> {
    fixture()
        .conversations
        .into_iter()
        .find(|c| {
            c.messages
                .first()
                .and_then(|m| m.content.as_deref())
                .is_some_and(|text| text.contains(key))
        })
        .unwrap_or_else(|| {
            panic!("no fixture conversation starts with a prompt containing {key:?}")
        })
        .messages
}

/// The (prompt, final answer) pairs of a conversation.
pub fn exchanges(messages: &[SnapMessage]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for m in messages {
        let text = m.content.clone().unwrap_or_default();
        match m.role.as_str() {
            "user" => pairs.push((text, String::new())),
            "assistant" => {
                if let Some(last) = pairs.last_mut() {
                    last.1 = text;
                }
            }
            _ => {}
        }
    }
    pairs
}

/// `modelport ARGS` with no provider in the environment and a throwaway MODELPORT_HOME.
pub fn modelport(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modelport"));
    cmd.args(args).env("MODELPORT_HOME", home);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MODELPORT_") && key != "MODELPORT_HOME" {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Runs `cmd` with `input` on its stdin (a pipe) and returns its output.
pub fn run_with_input(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start modelport");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait for modelport")
}

/// Runs `cmd` with an empty stdin.
pub fn run(cmd: Command) -> Output {
    run_with_input(cmd, "")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Both streams, for assertion messages.
pub fn both(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

/// The one JSON document on stdout.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", both(output)))
}

/// `modelport replay serve FIXTURE` as a child, stopped (killed) on drop.
pub struct Served {
    child: Child,
    /// The first line it printed.
    pub banner: String,
}

impl Served {
    pub fn start(home: &Path, extra: &[&str]) -> Served {
        Served::start_file(home, &fixture_path(), extra)
    }

    pub fn start_file(home: &Path, fixture: &Path, extra: &[&str]) -> Served {
        let mut args = vec!["replay", "serve", fixture.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let mut child = modelport(home, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start modelport replay serve");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut banner)
            .expect("read the replay banner");
        Served { child, banner }
    }

    /// `http://127.0.0.1:PORT`, from the banner.
    pub fn url(&self) -> String {
        let start = self
            .banner
            .find("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("no URL in {:?}", self.banner));
        self.banner[start..]
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Stops it with SIGINT (Ctrl-C) and returns how it exited.
    #[cfg(unix)]
    pub fn interrupt(mut self) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("send SIGINT");
        wait_exit(&mut self.child)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to [`PATIENCE`] for `child` to exit.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "modelport did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nothing listens on (bound, then released).
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `text` without ANSI escape sequences and carriage returns.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The session ids printed as `session ID` at the start of each session, in order.
pub fn session_ids(text: &str) -> Vec<String> {
    plain(text)
        .lines()
        .filter_map(|l| l.strip_prefix("session "))
        .filter(|rest| rest.contains("(model "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `modelport` on a pseudo-terminal: stdin, stdout and stderr are its slave side.
#[cfg(unix)]
pub struct Pty {
    child: Child,
    input: std::fs::File,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

#[cfg(unix)]
impl Pty {
    pub fn spawn(mut cmd: Command) -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        cmd.stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        let child = cmd.spawn().expect("start modelport on a pty");
        // Our copies of the slave side must close, or the master never sees the end.
        drop(cmd);
        drop(pty.slave);
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut reader = std::fs::File::from(pty.master.try_clone().expect("dup"));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Linux reports EIO once the child side is closed.
            while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            input: std::fs::File::from(pty.master),
            output,
        }
    }

    /// Types `line` and Enter.
    pub fn send(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to the pty");
    }

    /// Everything written so far, escape codes included.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("lock")).into_owned()
    }

    /// Waits until `needle` appears `times` times in the output (escape codes removed).
    pub fn wait_for(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = plain(&self.raw());
            if text.matches(needle).count() >= times {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {needle:?} x{times}; the terminal shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit.
    pub fn exit(mut self) -> ExitStatus {
        wait_exit(&mut self.child)
    }
}

#[cfg(unix)]
impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
