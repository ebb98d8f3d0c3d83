//! The neutral conversation: history entries, tool calls, usage and the controls every wire format
//! shares. Wire adapters translate these to and from their formats; the session keeps them.

use std::time::Duration;

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
    /// OpenAI "xhigh" (models that have it); Anthropic budget 32768 tokens.
    #[serde(rename = "xhigh")]
    XHigh,
}

impl ReasoningEffort {
    /// "low", "medium", "high" or "xhigh".
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::XHigh => "xhigh",
        }
    }

    /// Anthropic's `thinking.budget_tokens` for this effort.
    pub fn anthropic_budget(self) -> u32 {
        match self {
            ReasoningEffort::Low => 1024,
            ReasoningEffort::Medium => 4096,
            ReasoningEffort::High => 16384,
            ReasoningEffort::XHigh => 32768,
        }
    }
}

/// What shape the answer must have. JSON `{type: "json_schema", name, schema, strict?}` or
/// `{type: "json_object"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseFormat {
    /// JSON matching `schema`.
    JsonSchema {
        /// A name for the schema (letters, digits, `_`, `-`).
        name: String,
        /// The JSON Schema.
        schema: serde_json::Value,
        /// OpenAI's strict mode: the schema is transformed as it requires (every object closed,
        /// every property required, optional ones nullable) and the provider enforces it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
    /// Any JSON object.
    JsonObject,
}

impl ResponseFormat {
    /// The schema name (`json_object` for [`ResponseFormat::JsonObject`]).
    pub fn name(&self) -> &str {
        match self {
            ResponseFormat::JsonSchema { name, .. } => name,
            ResponseFormat::JsonObject => "json_object",
        }
    }

    /// The schema the answer must match (`{"type": "object"}` for a JSON object).
    pub fn schema(&self) -> serde_json::Value {
        match self {
            ResponseFormat::JsonSchema { schema, .. } => schema.clone(),
            ResponseFormat::JsonObject => serde_json::json!({"type": "object"}),
        }
    }

    /// Checks the name.
    pub fn check(&self) -> crate::Result<()> {
        let name = self.name();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(crate::Error::config(format!(
                "responseFormat.name \"{name}\" is not valid: use 1 to 64 letters, digits, '_' or '-'"
            )));
        }
        Ok(())
    }
}

/// Sampling controls. Each wire format sends what it has: Chat Completions `temperature`, `top_p`,
/// `stop`, `seed`; Responses `temperature`, `top_p`; Anthropic `temperature`, `top_p`,
/// `stop_sequences`. A control the format lacks is a Config error, never silently dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Sampling temperature (0 to 2; Anthropic 0 to 1).
    pub temperature: Option<f64>,
    /// Nucleus sampling (0 to 1).
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Vec<String>>,
    /// Seed for reproducible sampling (Chat Completions only).
    pub seed: Option<i64>,
}

impl Sampling {
    /// No control set.
    pub const NONE: Sampling = Sampling {
        temperature: None,
        top_p: None,
        stop: None,
        seed: None,
    };

    /// `over`'s controls where it sets them, this one's elsewhere.
    pub fn merged(&self, over: &Sampling) -> Sampling {
        Sampling {
            temperature: over.temperature.or(self.temperature),
            top_p: over.top_p.or(self.top_p),
            stop: over.stop.clone().or_else(|| self.stop.clone()),
            seed: over.seed.or(self.seed),
        }
    }

    /// Checks the values and that `format` has each control set; `thinking` says whether
    /// extended thinking is on (Anthropic then takes temperature 1 only).
    pub fn check(&self, format: WireFormat, thinking: bool) -> crate::Result<()> {
        let err = |m: String| Err(crate::Error::config(m));
        let name = format.display_name();
        if let Some(t) = self.temperature {
            let max = if format == WireFormat::AnthropicMessages {
                1.0
            } else {
                2.0
            };
            if !(0.0..=max).contains(&t) {
                return err(format!(
                    "temperature {t} is out of range for {name}: use 0 to {max}"
                ));
            }
            if thinking && format == WireFormat::AnthropicMessages && t != 1.0 {
                return err(format!(
                    "temperature {t} with reasoningEffort: Anthropic's extended thinking takes                      temperature 1 only; remove temperature or reasoningEffort"
                ));
            }
        }
        if let Some(p) = self.top_p
            && !(0.0..=1.0).contains(&p)
        {
            return err(format!("topP {p} is out of range: use 0 to 1"));
        }
        if let Some(stop) = &self.stop {
            if format == WireFormat::OpenAiResponses {
                return err(format!(
                    "stop is not supported by {name}: remove it, or use wireApi \"completions\""
                ));
            }
            if stop.iter().any(String::is_empty) {
                return err("stop: a stop sequence is empty".to_owned());
            }
        }
        if self.seed.is_some() && format != WireFormat::OpenAiChat {
            return err(format!(
                "seed is not supported by {name}: only Chat Completions takes a seed; remove it"
            ));
        }
        Ok(())
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

/// The three wire formats modelport speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Chat Completions (also Azure, Ollama, vLLM, LiteLLM, llama.cpp, Foundry Local).
    OpenAiChat,
    /// OpenAI Responses API.
    OpenAiResponses,
    /// Anthropic Messages API.
    AnthropicMessages,
}

impl WireFormat {
    /// A short name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::OpenAiChat => "openai_chat",
            WireFormat::OpenAiResponses => "openai_responses",
            WireFormat::AnthropicMessages => "anthropic_messages",
        }
    }

    /// The API's name, for messages: "Chat Completions", "the Responses API", "Anthropic Messages".
    pub fn display_name(self) -> &'static str {
        match self {
            WireFormat::OpenAiChat => "Chat Completions",
            WireFormat::OpenAiResponses => "the Responses API",
            WireFormat::AnthropicMessages => "Anthropic Messages",
        }
    }
}

/// When and how often a failed model call is retried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2, like the official SDKs).
    #[serde(alias = "max_retries")]
    pub max_retries: u32,
    /// The first backoff (default 500 ms); doubled each retry.
    #[serde(
        with = "millis",
        rename = "initialBackoffMs",
        alias = "initial_backoff_ms"
    )]
    pub initial_backoff: Duration,
    /// The largest backoff (default 8 s).
    #[serde(with = "millis", rename = "maxBackoffMs", alias = "max_backoff_ms")]
    pub max_backoff: Duration,
    /// The largest retry-after honoured (default 60 s); a longer one falls back to backoff.
    #[serde(
        with = "millis",
        rename = "maxRetryAfterMs",
        alias = "max_retry_after_ms"
    )]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }
}

/// How long each phase of a model call may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Timeouts {
    /// Opening the connection (default 10 s).
    #[serde(with = "millis", rename = "connectMs", alias = "connect_ms")]
    pub connect: Duration,
    /// From sending to the first byte of the response (default 120 s).
    #[serde(with = "millis", rename = "firstByteMs", alias = "first_byte_ms")]
    pub first_byte: Duration,
    /// The longest gap between two chunks of a streamed body (default 120 s).
    #[serde(with = "millis", rename = "idleMs", alias = "idle_ms")]
    pub idle: Duration,
    /// One whole model call, retries excluded (default 600 s).
    #[serde(with = "millis", rename = "totalMs", alias = "total_ms")]
    pub total: Duration,
    /// One call of the bearer token provider (default 30 s); every request waiting for that token
    /// then fails with an Auth error.
    #[serde(with = "millis", rename = "tokenMs", alias = "token_ms")]
    pub token: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
            token: Duration::from_secs(30),
        }
    }
}

pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
