//! Where output goes and how it looks: JSON or text, colours only on a terminal.

use std::io::{IsTerminal, Write};

use modelport::Error;
use serde_json::Value;

/// The output mode of one run.
#[derive(Debug)]
pub struct Out {
    /// JSON for scripts instead of text.
    pub json: bool,
    /// Text styles on stdout (a terminal, no `--json`, no `NO_COLOR`).
    pub color: bool,
    /// Styles on stderr.
    err_color: bool,
    /// Whether stdout is a terminal (the spinner's condition).
    pub terminal: bool,
}

/// An ANSI text style.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    Bold,
    Dim,
    Red,
    Green,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "\x1b[1m",
            Style::Dim => "\x1b[2m",
            Style::Red => "\x1b[31m",
            Style::Green => "\x1b[32m",
            Style::Cyan => "\x1b[36m",
        }
    }
}

const RESET: &str = "\x1b[0m";

impl Out {
    pub fn new(json: bool) -> Out {
        // https://no-color.org: any non-empty value turns colours off.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let terminal = std::io::stdout().is_terminal();
        Out {
            json,
            color: terminal && !json && !no_color,
            err_color: std::io::stderr().is_terminal() && !json && !no_color,
            terminal,
        }
    }

    /// `text` in `style` when styles are on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
    }

    /// Writes `text` to stdout as it is, and flushes (streamed text shows at once).
    pub fn write(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (`| head`) is not worth a failure of its own.
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// Writes a line to stdout.
    pub fn line(&self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    /// Writes a line to stderr, after what stdout holds.
    pub fn err_line(&self, style: Style, text: &str) {
        let _ = std::io::stdout().flush();
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", paint(self.err_color, style, text));
    }

    /// One JSON value on one line of stdout.
    pub fn json_document(&self, value: &Value) {
        self.line(&value.to_string());
    }

    /// Reports a failure: `{"error": {code, message, ...}}` on stdout with `--json`, else
    /// `error: MESSAGE` on stderr (the message says what was wrong and what to do).
    pub fn error(&self, error: &Error) {
        if self.json {
            self.json_document(&serde_json::json!({"error": error.to_json_record()}));
        } else {
            self.err_line(Style::Red, &format!("error: {error}"));
        }
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{}{text}{RESET}", style.code())
    } else {
        text.to_owned()
    }
}
