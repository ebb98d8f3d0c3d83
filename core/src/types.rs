//! The neutral conversation: history entries, tool calls, usage and the controls every wire format
//! shares. Wire adapters translate these to and from their formats; the session keeps them.

use serde::{Deserialize, Serialize};

/// One part of a user message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, inline as base64.
    #[serde(rename_all = "camelCase")]
    Image {
        /// The MIME type (`image/png`, `image/jpeg`, ...).
        mime_type: String,
        /// The image bytes, base64-encoded.
        data: String,
    },
}

/// A tool call requested by the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id (`call_...`, `toolu_...`).
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments as JSON text, exactly as the model produced them (`{}` when it sent nothing).
    /// Kept as text, never re-serialised: requests send it back byte for byte (key order and spacing
    /// included), since prompt caches and replay proxies key on the exact history.
    pub arguments: String,
}

/// Reasoning the model produced, kept so it can be passed back on the next call where the provider
/// requires it (Anthropic thinking blocks with their signature, Responses encrypted reasoning items).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The provider's item id (Responses `rs_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The readable reasoning (or its summary).
    #[serde(default)]
    pub text: String,
    /// Anthropic's thinking signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Responses `encrypted_content`, or Anthropic `redacted_thinking` data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// Whether this is an Anthropic `redacted_thinking` block.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// One entry of the neutral conversation history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "camelCase")]
pub enum Message {
    /// What the user said.
    User {
        /// Text and images.
        content: Vec<ContentPart>,
    },
    /// What the model answered.
    #[serde(rename_all = "camelCase")]
    Assistant {
        /// The answer text (may be empty when the model only called tools).
        text: String,
        /// The tool calls it requested.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// Its reasoning, passed back where the provider needs it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasoning: Vec<ReasoningItem>,
    },
    /// The result of one tool call.
    #[serde(rename_all = "camelCase")]
    Tool {
        /// The call this answers.
        call_id: String,
        /// What the model sees.
        content: String,
        /// Whether the call failed (Anthropic `is_error`).
        #[serde(default)]
        is_error: bool,
    },
}

impl Message {
    /// A text-only user message.
    pub fn user(text: impl Into<String>) -> Self {
        Message::User {
            content: vec![ContentPart::Text { text: text.into() }],
        }
    }
}

/// A tool as the model sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// The JSON schema of its arguments.
    pub parameters: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolChoice {
    /// The model decides (default).
    #[default]
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Function(String),
}

/// How hard a reasoning model thinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// Anthropic budget 1024 tokens.
    Low,
    /// Anthropic budget 4096 tokens.
    Medium,
    /// Anthropic budget 16384 tokens.
    High,
}

impl ReasoningEffort {
    /// "low", "medium" or "high".
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }

    /// Anthropic's `thinking.budget_tokens` for this effort.
    pub fn anthropic_budget(self) -> u32 {
        match self {
            ReasoningEffort::Low => 1024,
            ReasoningEffort::Medium => 4096,
            ReasoningEffort::High => 16384,
        }
    }
}

/// Token usage, normalised across providers.
///
/// `input_tokens` is the whole input including cache reads and writes (Anthropic's three fields summed;
/// OpenAI's prompt tokens already include cached ones); the cache counts are subsets of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// All input tokens.
    pub input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

/// Why the model stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end.
    Stop,
    /// The output cap (or context window) was reached.
    Length,
    /// The model wants tool results.
    ToolCalls,
    /// A content filter stopped it.
    ContentFilter,
    /// The model refused.
    Refusal,
}

impl FinishReason {
    /// "stop", "length", "tool_calls", "content_filter" or "refusal".
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Refusal => "refusal",
        }
    }
}
