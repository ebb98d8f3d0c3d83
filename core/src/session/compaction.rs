//! Infinite sessions: knowing how full the context window is, and compacting the history before it
//! overflows. A compaction asks the session's own model for a summary of the older part of the
//! history and replaces that part with one marked summary message; the last turns stay verbatim and
//! a tool call is never separated from its result.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::SessionInner;
use super::events::{
    CompactionCompleteData, CompactionStartData, EventData, UsageData, UsageInfoData,
};
use super::model_call::{self, millis};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ContentPart, Message, Usage};
use crate::util::lock;

/// What the summary call is told (system prompt). The older history follows as a transcript.
pub const SUMMARY_PROMPT: &str = "You compact the history of a conversation between a user and an \
AI assistant that uses tools, because it no longer fits the model's context window. Write a summary \
that lets the assistant continue the conversation as if it remembered everything: the user's goals \
and instructions, decisions and facts established, names, numbers, file names and identifiers \
exactly as written, what tools were called and what they returned when it matters later, and what \
was still open or in progress. Write in the conversation's language, as compact notes, without \
preamble. Do not answer the user and do not continue the conversation.";

/// The first line of the summary message that replaces the older history.
pub const SUMMARY_MARKER: &str = "[Summary of the earlier conversation, written when it no longer \
fit the context window]";

/// `infiniteSessions`: automatic compaction. JSON `{enabled?: true,
/// backgroundCompactionThreshold?: 0.80, bufferExhaustionThreshold?: 0.95}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InfiniteSessions {
    /// Compact automatically (default true). Off: the provider's context-length error fails the
    /// send, as without infinite sessions.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// At this fraction of the window a compaction starts in the background after the send.
    #[serde(
        default = "background_default",
        alias = "background_compaction_threshold"
    )]
    pub background_compaction_threshold: f64,
    /// A send (or a model call of it) that would cross this fraction waits for a compaction first.
    #[serde(default = "buffer_default", alias = "buffer_exhaustion_threshold")]
    pub buffer_exhaustion_threshold: f64,
}

fn yes() -> bool {
    true
}
fn background_default() -> f64 {
    0.80
}
fn buffer_default() -> f64 {
    0.95
}

impl Default for InfiniteSessions {
    fn default() -> Self {
        InfiniteSessions {
            enabled: true,
            background_compaction_threshold: background_default(),
            buffer_exhaustion_threshold: buffer_default(),
        }
    }
}

impl InfiniteSessions {
    /// Checks the thresholds: 0 < background <= buffer <= 1.
    pub(crate) fn validate(&self) -> Result<()> {
        let (bg, buf) = (
            self.background_compaction_threshold,
            self.buffer_exhaustion_threshold,
        );
        let fraction = |f: f64| f > 0.0 && f <= 1.0;
        if !fraction(bg) || !fraction(buf) || bg > buf {
            return Err(Error::config(format!(
                "infiniteSessions: backgroundCompactionThreshold ({bg}) and \
                 bufferExhaustionThreshold ({buf}) must be fractions of the window with \
                 0 < background <= buffer <= 1 (defaults 0.80 and 0.95)"
            )));
        }
        Ok(())
    }
}

/// What the provider last counted: the prompt and answer tokens of the last call, and the history
/// length then (what was added since is estimated).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokenCount {
    pub reported: Option<u64>,
    pub at_len: usize,
}

/// Estimated tokens of some messages: characters / 4, plus a little per message (roles,
/// separators). Images count as 1,000 tokens.
pub(crate) fn estimate(messages: &[Message]) -> u64 {
    let mut chars = 0usize;
    let mut extra = 0u64;
    for m in messages {
        extra += 4;
        match m {
            Message::User { content } => {
                for p in content {
                    match p {
                        ContentPart::Text { text } => chars += text.len(),
                        ContentPart::Image { .. } => extra += 1_000,
                    }
                }
            }
            Message::Assistant {
                text, tool_calls, ..
            } => {
                chars += text.len();
                for c in tool_calls {
                    chars += c.name.len() + c.arguments.len() + c.id.len();
                }
            }
            Message::Tool { content, .. } => chars += content.len(),
        }
    }
    (chars as u64).div_ceil(4) + extra
}

impl SessionInner {
    /// The tokens the next request would carry.
    pub(crate) fn current_tokens(&self) -> u64 {
        let state = lock(&self.state);
        match state.tokens.reported {
            Some(n) => n + estimate(&state.history[state.tokens.at_len.min(state.history.len())..]),
            None => estimate(&state.history) + self.settings.fixed_tokens,
        }
    }

    /// Whether the history has reached `fraction` of a known window, with compaction on.
    pub(crate) fn compaction_due(&self, fraction: f64) -> bool {
        let c = &self.settings.compaction;
        match self.settings.window {
            Some(window) if c.enabled => self.current_tokens() as f64 >= fraction * window as f64,
            _ => false,
        }
    }

    /// After a model call: records the provider's count and reports the window's use.
    pub(crate) fn count_tokens(&self, usage: Option<Usage>) {
        let (current, len) = {
            let mut state = lock(&self.state);
            let len = state.history.len();
            if let Some(u) = usage.filter(|u| u.input_tokens > 0) {
                state.tokens = TokenCount {
                    reported: Some(u.input_tokens + u.output_tokens),
                    at_len: len,
                };
            }
            drop(state);
            (self.current_tokens(), len)
        };
        if let Some(window) = self.settings.window {
            self.bus.emit(EventData::UsageInfo(UsageInfoData {
                token_limit: window,
                current_tokens: current,
                messages_length: len as u64,
            }));
        }
    }
}

/// Where the kept tail of the history starts: the earliest message boundary (a user or assistant
/// message, never a tool result) from which the rest fits in `budget` tokens; at least the last
/// boundary. 0 when nothing older can be removed.
fn split_point(history: &[Message], budget: u64) -> usize {
    let boundaries: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(_, m)| !matches!(m, Message::Tool { .. }))
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = boundaries.last() else {
        return 0;
    };
    let mut split = last;
    for &b in boundaries.iter().rev().skip(1) {
        if estimate(&history[b..]) > budget {
            break;
        }
        split = b;
    }
    split
}

/// The older history as a transcript for the summary call, at most `max_chars` (its end kept).
/// Returns the text and the number of images left out.
fn transcript(messages: &[Message], max_chars: usize) -> (String, usize) {
    const TOOL_RESULT_CHARS: usize = 4_000;
    let mut out = String::new();
    let mut images = 0;
    for m in messages {
        match m {
            Message::User { content } => {
                out.push_str("User: ");
                for p in content {
                    match p {
                        ContentPart::Text { text } => out.push_str(text),
                        ContentPart::Image { .. } => {
                            images += 1;
                            out.push_str("[an image, not included]");
                        }
                    }
                }
            }
            Message::Assistant {
                text, tool_calls, ..
            } => {
                out.push_str("Assistant: ");
                out.push_str(text);
                for c in tool_calls {
                    out.push_str(&format!("\n[called tool {} with {}]", c.name, c.arguments));
                }
            }
            Message::Tool {
                content, is_error, ..
            } => {
                let cut: String = content.chars().take(TOOL_RESULT_CHARS).collect();
                let more = if cut.len() < content.len() {
                    " [cut]"
                } else {
                    ""
                };
                let kind = if *is_error { "failed" } else { "returned" };
                out.push_str(&format!("[the tool {kind}: {cut}{more}]"));
            }
        }
        out.push_str("\n\n");
    }
    if out.len() > max_chars {
        let mut start = out.len() - max_chars;
        while !out.is_char_boundary(start) {
            start += 1;
        }
        out = format!("[the beginning is cut]\n{}", &out[start..]);
    }
    (out, images)
}

/// Compacts the history: emits `session.compaction_start`, runs the summary call (its
/// `assistant.usage`), replaces the older history, emits `session.compaction_complete`. Returns
/// whether the history got smaller. When the summary call fails, the oldest messages are dropped
/// instead (the completion says so); a cancelled compaction changes nothing.
pub(crate) async fn compact(session: &Arc<SessionInner>, cancel: &CancellationToken) -> bool {
    session
        .bus
        .emit(EventData::CompactionStart(CompactionStartData {}));
    let pre = session.current_tokens();
    let history = lock(&session.state).history.clone();
    let window = session.settings.window.unwrap_or(pre.max(1));
    // Keep the recent turns within 40% of the window: room for the summary and for what comes.
    let split = split_point(&history, window * 2 / 5);
    let complete = |success: bool, error: Option<String>, post: u64, removed: usize| {
        session
            .bus
            .emit(EventData::CompactionComplete(CompactionCompleteData {
                success,
                error,
                pre_compaction_tokens: pre,
                post_compaction_tokens: post,
                messages_removed: removed as u64,
            }));
    };
    if split == 0 {
        complete(
            false,
            Some("nothing older than the last turn to compact".to_owned()),
            pre,
            0,
        );
        return false;
    }
    // The transcript must fit the summary call's own prompt: at most 60% of the window.
    let (text, images) = transcript(&history[..split], (window as usize * 4) * 3 / 5);
    let started = Instant::now();
    let summary = model_call::summarize(session, SUMMARY_PROMPT, &text, cancel).await;
    let (marker, success, error) = match summary {
        Ok((answer, usage, model)) => {
            session.bus.emit(EventData::Usage(UsageData {
                model,
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache_read_tokens: usage.cache_read_tokens,
                cache_write_tokens: usage.cache_write_tokens,
                reasoning_tokens: usage.reasoning_tokens,
                duration: millis(started.elapsed()),
                time_to_first_token_ms: None,
                finish_reason: None,
            }));
            let note = if images > 0 {
                format!("\n\n({images} image(s) of the earlier conversation were dropped.)")
            } else {
                String::new()
            };
            (
                format!("{SUMMARY_MARKER}\n\n{}{note}", answer.trim()),
                true,
                None,
            )
        }
        Err(e) if e.kind() == ErrorKind::Cancelled || cancel.is_cancelled() => {
            complete(false, Some("cancelled".to_owned()), pre, 0);
            return false;
        }
        Err(e) => (
            format!(
                "[The {split} oldest messages of this conversation were dropped to fit the \
                 context window; no summary could be written.]"
            ),
            false,
            Some(format!(
                "the summary call failed ({e}): dropped the {split} oldest messages instead"
            )),
        ),
    };
    {
        let mut state = lock(&session.state);
        let summary = Message::User {
            content: vec![ContentPart::Text { text: marker }],
        };
        state.history.splice(..split, [summary]);
        state.tokens = TokenCount::default();
    }
    if let Some(d) = &session.durable {
        d.history_rewritten_from(0);
    }
    complete(success, error, session.current_tokens(), split);
    true
}

/// The check a send makes after its user message: compacts when the window is nearly full, and
/// fails the send when its message alone does not fit (that message then leaves the history, so
/// the session stays usable).
pub(crate) async fn before_call(
    session: &Arc<SessionInner>,
    cancel: &CancellationToken,
) -> Result<()> {
    let c = &session.settings.compaction;
    if !session.compaction_due(c.buffer_exhaustion_threshold) {
        return Ok(());
    }
    compact(session, cancel).await;
    let Some(window) = session.settings.window else {
        return Ok(());
    };
    let current = session.current_tokens();
    if current <= window {
        return Ok(());
    }
    // Still too long: the newest user message is what does not fit.
    let mut state = lock(&session.state);
    if let Some(last_user) = state
        .history
        .iter()
        .rposition(|m| matches!(m, Message::User { .. }))
        && estimate(&state.history[last_user..last_user + 1]) + session.settings.fixed_tokens
            > window
    {
        state.history.truncate(last_user);
        drop(state);
        if let Some(d) = &session.durable {
            d.history_rewritten_from(last_user);
        }
        return Err(Error::new(
            ErrorKind::ContextLength,
            format!(
                "the message is larger than the model's context window (about {current} tokens \
                 for a window of {window}): send a shorter message, or raise maxPromptTokens if \
                 the model allows more"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn split_point_for_tests(history: &[Message], budget: u64) -> usize {
    split_point(history, budget)
}
