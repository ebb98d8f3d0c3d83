//! Conversation files (the Copilot SDK's test-snapshot YAML), the history form requests are matched
//! in, and the matching rules: system text ignored, tool-call ids renumbered toolcall_0.., whitespace
//! in JSON arguments ignored, consecutive stored assistant messages merged, the request a prefix of
//! a stored conversation, the first matching conversation in file order wins.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// One snapshot file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Model names, served by `/models`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Scripted failures.
    #[serde(default)]
    pub errors: Vec<ScriptedError>,
    /// Stored conversations.
    #[serde(default)]
    pub conversations: Vec<Conversation>,
}

/// A stored conversation.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Conversation {
    /// Its messages in Chat Completions form.
    pub messages: Vec<SnapMessage>,
}

/// A stored message.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SnapMessage {
    /// system, user, assistant or tool.
    pub role: String,
    /// The text.
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default)]
    pub tool_calls: Vec<SnapToolCall>,
    /// The call a tool message answers.
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// A stored tool call.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SnapToolCall {
    /// `toolcall_N`.
    pub id: String,
    /// The function.
    pub function: SnapFunction,
}

/// A stored function call.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SnapFunction {
    /// The tool name.
    pub name: String,
    /// The arguments JSON text.
    #[serde(default)]
    pub arguments: String,
}

/// Where in the response a scripted error happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStage {
    /// An HTTP error status (default).
    #[default]
    Http,
    /// HTTP 200, then an error event before any output.
    BeforeOutput,
    /// HTTP 200, some text, then an error event.
    AfterOutput,
}

/// A scripted failure: answers the requests whose history equals `messages` (every request when
/// absent), `times` times (always when absent).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptedError {
    /// The HTTP status (200 for mid-stream stages).
    #[serde(default)]
    pub status: Option<u16>,
    /// The provider error code or type (`insufficient_quota`, `overloaded_error`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// The error message.
    #[serde(default)]
    pub message: Option<String>,
    /// `retry-after` in seconds.
    #[serde(default)]
    pub retry_after_seconds: Option<f64>,
    /// `retry-after-ms`.
    #[serde(default)]
    pub retry_after_ms: Option<f64>,
    /// `retry-after` as given (an HTTP date, an absurd value...).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// `x-should-retry`.
    #[serde(default)]
    pub should_retry: Option<bool>,
    /// The history this answers.
    #[serde(default)]
    pub messages: Option<Vec<SnapMessage>>,
    /// How many times (always when absent).
    #[serde(default)]
    pub times: Option<u32>,
    /// Where the error happens.
    #[serde(default)]
    pub stage: ErrorStage,
    /// Append every request header, values included, to the message: the gateways that echo the
    /// request back, for tests that a client scrubs its credentials from errors.
    #[serde(default)]
    pub echo_headers: bool,
    /// Answer `GET …/models` requests instead of model calls.
    #[serde(default)]
    pub list_models: bool,
}

/// A message in the form requests are matched in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Norm {
    User(String),
    Assistant {
        content: String,
        calls: Vec<(String, String, Value)>,
    },
    Tool {
        call_id: String,
        content: String,
    },
}

/// Arguments compared as JSON values (whitespace and key order ignored); non-JSON as trimmed text.
pub(crate) fn args_value(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Object(Default::default());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.trim().to_owned()))
}

/// Renumbers tool-call ids toolcall_0.. in order of appearance, in calls and in tool results.
pub(crate) fn renumber(messages: &mut [Norm]) {
    let mut map: HashMap<String, String> = HashMap::new();
    for m in messages.iter_mut() {
        match m {
            Norm::Assistant { calls, .. } => {
                for (id, _, _) in calls.iter_mut() {
                    let n = map.len();
                    let new = map
                        .entry(id.clone())
                        .or_insert_with(|| format!("toolcall_{n}"))
                        .clone();
                    *id = new;
                }
            }
            Norm::Tool { call_id, .. } => {
                if let Some(new) = map.get(call_id) {
                    *call_id = new.clone();
                }
            }
            Norm::User(_) => {}
        }
    }
}

/// A stored conversation in matching form (consecutive assistant messages merged).
pub(crate) fn normalize_stored(messages: &[SnapMessage]) -> Vec<Norm> {
    let mut out: Vec<Norm> = Vec::new();
    for m in messages {
        let content = m.content.clone().unwrap_or_default().trim().to_owned();
        match m.role.as_str() {
            "user" => out.push(Norm::User(content)),
            "assistant" => {
                let calls: Vec<_> = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        (
                            c.id.clone(),
                            c.function.name.clone(),
                            args_value(&c.function.arguments),
                        )
                    })
                    .collect();
                if let Some(Norm::Assistant {
                    content: prev,
                    calls: prev_calls,
                }) = out.last_mut()
                {
                    if !content.is_empty() {
                        if !prev.is_empty() {
                            prev.push('\n');
                        }
                        prev.push_str(&content);
                    }
                    prev_calls.extend(calls);
                } else {
                    out.push(Norm::Assistant { content, calls });
                }
            }
            "tool" => out.push(Norm::Tool {
                call_id: m.tool_call_id.clone().unwrap_or_default(),
                content,
            }),
            _ => {}
        }
    }
    renumber(&mut out);
    out
}

/// The stored assistant message served for `request`, from the first conversation it is a prefix of.
pub(crate) fn find_answer<'a>(
    conversations: &'a [Vec<Norm>],
    request: &[Norm],
) -> Option<&'a Norm> {
    conversations.iter().find_map(|stored| {
        (stored.len() > request.len() && stored[..request.len()] == *request)
            .then(|| &stored[request.len()])
            .filter(|next| matches!(next, Norm::Assistant { .. }))
    })
}

fn describe(m: &Norm) -> String {
    let short = |s: &str| {
        let s: String = s.chars().take(120).collect();
        format!("{s:?}")
    };
    match m {
        Norm::User(t) => format!("user {}", short(t)),
        Norm::Assistant { content, calls } => {
            let calls: Vec<String> = calls
                .iter()
                .map(|(id, n, a)| format!("{id} {n}({a})"))
                .collect();
            format!("assistant {} calls [{}]", short(content), calls.join(", "))
        }
        Norm::Tool { call_id, content } => format!("tool {call_id} {}", short(content)),
    }
}

/// Why nothing matched: the request, and where it departs from the closest stored conversation.
pub(crate) fn explain_mismatch(conversations: &[Vec<Norm>], request: &[Norm]) -> String {
    let mut out = String::from(
        "replay: no stored conversation matches this request (its history must be a prefix of a \
         stored conversation, followed there by an assistant message).\n",
    );
    let common = |c: &Vec<Norm>| c.iter().zip(request).take_while(|(a, b)| a == b).count();
    let Some(best) = conversations.iter().max_by_key(|c| common(c)) else {
        out.push_str("No conversations are loaded.\n");
        return out;
    };
    let n = common(best);
    let _ = writeln!(
        out,
        "Closest stored conversation agrees on the first {n} message(s) of {}:",
        request.len()
    );
    for m in &request[..n] {
        let _ = writeln!(out, "  {}", describe(m));
    }
    match (request.get(n), best.get(n)) {
        (Some(got), Some(want)) => {
            let _ = writeln!(out, "- stored:   {}", describe(want));
            let _ = writeln!(out, "+ request:  {}", describe(got));
        }
        (None, Some(want)) => {
            let _ = writeln!(
                out,
                "  the stored conversation continues with {}, which is not an assistant message",
                describe(want)
            );
        }
        (Some(got), None) => {
            let _ = writeln!(out, "- stored:   (conversation ends)");
            let _ = writeln!(out, "+ request:  {}", describe(got));
        }
        (None, None) => {
            let _ = writeln!(
                out,
                "  the stored conversation has no answer after this history"
            );
        }
    }
    out
}

/// Loads snapshot files from `path` (a file, or a directory searched recursively for .yaml/.yml),
/// in sorted path order.
pub fn load(path: &Path) -> Result<Vec<(PathBuf, Snapshot)>> {
    let mut files = Vec::new();
    collect(path, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| Error::config(format!("replay: cannot read {}: {e}", f.display())))?;
            let snap = parse(&text)
                .map_err(|e| Error::config(format!("replay: {}: {}", f.display(), e.message())))?;
            Ok((f, snap))
        })
        .collect()
}

/// Parses one snapshot document.
pub fn parse(text: &str) -> Result<Snapshot> {
    serde_norway::from_str(text).map_err(|e| Error::config(format!("invalid snapshot YAML: {e}")))
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::config(format!("replay: cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| Error::config(format!("replay: cannot list {}: {e}", path.display())))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
models: [m1]
conversations:
  - messages:
      - role: system
        content: ${system}
      - role: user
        content: Use safe_lookup
      - role: assistant
        content: I'll look it up.
      - role: assistant
        tool_calls:
          - id: toolcall_0
            type: function
            function: {name: safe_lookup, arguments: '{"id": "x"}'}
      - role: tool
        tool_call_id: toolcall_0
        content: "RESULT: x"
      - role: assistant
        content: Done.
"#;

    #[test]
    fn merging_renumbering_and_prefix_matching() {
        let snap = parse(DOC).unwrap();
        let stored = vec![normalize_stored(&snap.conversations[0].messages)];
        assert_eq!(
            stored[0].len(),
            4,
            "system dropped, two assistants merged: {:?}",
            stored[0]
        );
        let mut request = vec![
            Norm::User("Use safe_lookup".into()),
            Norm::Assistant {
                content: "I'll look it up.".into(),
                calls: vec![(
                    "call_abc".into(),
                    "safe_lookup".into(),
                    args_value("{\"id\":\"x\"}"),
                )],
            },
            Norm::Tool {
                call_id: "call_abc".into(),
                content: "RESULT: x".into(),
            },
        ];
        renumber(&mut request);
        assert_eq!(
            find_answer(&stored, &request),
            Some(&Norm::Assistant {
                content: "Done.".into(),
                calls: vec![]
            })
        );
        let first = find_answer(&stored, &request[..1]).unwrap();
        assert!(matches!(first, Norm::Assistant { calls, .. } if calls.len() == 1));
        // A different tool result does not match, and the explanation shows where.
        request[2] = Norm::Tool {
            call_id: "toolcall_0".into(),
            content: "RESULT: y".into(),
        };
        assert!(find_answer(&stored, &request).is_none());
        let why = explain_mismatch(&stored, &request);
        assert!(
            why.contains("first 2 message(s)") && why.contains("RESULT: y"),
            "{why}"
        );
    }
}
