// modelport for Node.js: the Copilot SDK's BYOK API, running in-process. Hand-written public types
// of lib/index.cjs; the native layer's generated types are ../native/index.d.ts.

import type { AssistantMessageEvent, Attachment, SessionEvent, SessionEventOf, SessionEventType } from "./events";

export * from "./events";

/** Provider type: "openai" (also Ollama, vLLM, LiteLLM, llama.cpp, Foundry Local, Azure AI Foundry /openai/v1/), "azure" or "anthropic". */
export type ProviderType = "openai" | "azure" | "anthropic";

/** What a `bearerTokenProvider` is asked for. */
export interface TokenRequest {
  /** "openai", "azure" or "anthropic". */
  providerName: string;
  /** The session the request is for (null for listModels). */
  sessionId: string | null;
}

/** A token, optionally with its expiry: then it is reused until 60 s before it. An Azure Identity
 * `AccessToken` ({token, expiresOnTimestamp}) works as is. */
export type BearerTokenResult =
  | string
  | { token: string; expiresAt?: Date | number }
  | { token: string; expiresOnTimestamp: number };

/** When and how often a failed model call is retried (defaults like the official SDKs). */
export interface RetryPolicy {
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** First backoff in ms (default 500), doubled each retry. */
  initialBackoffMs?: number;
  /** Largest backoff in ms (default 8000). */
  maxBackoffMs?: number;
  /** Largest retry-after honoured, in ms (default 60000). */
  maxRetryAfterMs?: number;
}

/** How long each phase of a model call may take, in ms. */
export interface Timeouts {
  /** Opening the connection (default 10000). */
  connectMs?: number;
  /** Until the first byte of the response (default 120000). */
  firstByteMs?: number;
  /** The longest gap between two streamed chunks (default 120000). */
  idleMs?: number;
  /** One whole model call, retries excluded (default 600000). */
  totalMs?: number;
}

/** Where and how to reach a model provider (the Copilot SDK's ProviderConfig, plus extras). */
export interface ProviderConfig {
  /** Default "openai". */
  type?: ProviderType;
  /** Required. openai: include /v1; azure: just the host; anthropic: https://api.anthropic.com. */
  baseUrl: string;
  /** Optional for local servers. */
  apiKey?: string;
  /** A static bearer token; wins over apiKey. */
  bearerToken?: string;
  /** Called for a fresh token before every request (retries included); wins over both. */
  bearerTokenProvider?: (request: TokenRequest) => BearerTokenResult | Promise<BearerTokenResult>;
  /** "completions" (default) or "responses". Ignored for anthropic. */
  wireApi?: "completions" | "responses";
  azure?: {
    /** Default "2024-10-21" for completions; "v1" selects /openai/v1/; responses without a version use v1. */
    apiVersion?: string;
  };
  /** Extra headers on every request to this provider. */
  headers?: Record<string, string>;
  /** The model name sent on the wire, if it differs from the session's model. */
  wireModel?: string;
  /** Output cap (Anthropic max_tokens, default 8192). */
  maxOutputTokens?: number;
  /**
   * The model's prompt window in tokens: sessions compact their history before it fills up (see
   * `SessionConfig.infiniteSessions`). Keep a margin below the model's real window.
   */
  maxPromptTokens?: number;
  /**
   * Anthropic: structured answers (`responseFormat`) through Anthropic's native `output_format` (a
   * beta) instead of a forced answer tool (default false).
   */
  nativeStructuredOutput?: boolean;
  /** This provider's retry policy (overrides the client's). */
  retry?: RetryPolicy;
  /** This provider's timeouts (override the client's). */
  timeouts?: Timeouts;
}

/** A model as listModels() returns it. */
export interface ModelInfo {
  id: string;
  name: string;
  capabilities?: {
    supports?: { vision?: boolean; reasoningEffort?: boolean };
    limits?: { max_context_window_tokens?: number; max_prompt_tokens?: number };
  };
}

export interface ClientOptions {
  /** The provider for sessions that do not name one, and for listModels(). */
  provider?: ProviderConfig;
  /** Your own model list; replaces the provider's list endpoint (no fallback). Cached. */
  onListModels?: () => ModelInfo[] | Promise<ModelInfo[]>;
  /** Retries for every provider that does not set its own. */
  retry?: RetryPolicy;
  /** Timeouts for every provider that does not set its own. */
  timeouts?: Timeouts;
  /**
   * Where sessions are kept: "memory", "sqlite:///absolute/path.db" or a "postgres://" URL.
   * Default: SQLite at $MODELPORT_HOME/sessions.db.
   */
  sessionStore?: string;
  /** One client at a time holds a session: how long its lease lasts and how long resumeSession waits. */
  sessionLease?: SessionLease;
  /**
   * The provider registry: named providers; sessions select a model as "<name>/<id>". Not combined
   * with `provider`.
   */
  providers?: NamedProviderConfig[];
  /** The registry's models. */
  models?: RegistryModel[];
}

/** A provider of the registry. */
export interface NamedProviderConfig extends ProviderConfig {
  /** The name models refer to (no "/"). */
  name: string;
}

/** A model of the registry, selected as "<provider>/<id>". */
export interface RegistryModel {
  id: string;
  /** The provider's name. */
  provider: string;
  /** The model name on the wire (default: the id). */
  wireModel?: string;
  maxPromptTokens?: number;
  maxOutputTokens?: number;
}

/** How hard a reasoning model thinks. */
export type ReasoningEffort = "low" | "medium" | "high" | "xhigh";

/** Which tool the model must call: default "auto". */
export type ToolChoice = "auto" | "none" | "required" | { function: string };

/** The answer's shape. */
export type ResponseFormat =
  | {
      type: "json_schema";
      /** A name for the schema (letters, digits, _, -). */
      name: string;
      /** The JSON Schema. */
      schema: JsonSchema;
      /** OpenAI's strict mode: the provider enforces the schema. */
      strict?: boolean;
    }
  | { type: "json_object" };

/** Model controls, for a session or one message (a message's override the session's). */
export interface ModelControls {
  temperature?: number;
  topP?: number;
  /** Stop sequences. */
  stop?: string[];
  /** Sampling seed. */
  seed?: number;
  /** Output cap. */
  maxOutputTokens?: number;
  /** Provider-specific request fields, merged into the request body (a message's over the session's). */
  extraBody?: Record<string, unknown>;
  /** Model calls per send (the tool-loop limit). */
  maxTurns?: number;
  /** The answer's shape (see sendAndParse for a parsed result). */
  responseFormat?: ResponseFormat;
}

/** A session's lease. */
export interface SessionLease {
  /** A holder that stops renewing (it died or stalled) loses the lease after this long, in ms (default 30000). */
  ttlMs?: number;
  /** How long resumeSession waits for a session another client holds, in ms (default 0: it fails at once). */
  waitMs?: number;
}

/** A stored session, as listSessions() and getSessionMetadata() return it. */
export interface SessionMetadata {
  sessionId: string;
  /** When the session was created (RFC 3339 UTC). */
  startTime: string;
  /** When the session last changed (RFC 3339 UTC). */
  modifiedTime: string;
  /** The first user message, shortened. */
  summary?: string;
  model: string;
}

/** What a tool handler is told about the call. */
export interface ToolInvocation {
  sessionId: string;
  toolCallId: string;
  toolName: string;
  arguments: unknown;
}

/** A tool result with its outcome: only `textResultForLlm` reaches the model. */
export interface ToolResultObject {
  textResultForLlm: string;
  /** failure/denied: the model sees the text and the loop continues; rejected: the turn ends. */
  resultType?: "success" | "failure" | "rejected" | "denied";
  error?: string;
  sessionLog?: string;
  /** Kept for the host, never sent to the model. */
  toolTelemetry?: Record<string, unknown>;
}

/** A JSON schema object (any object type, so interfaces such as JSONSchema7 fit). */
export type JsonSchema = object;

/** A schema with `toJSONSchema()` (zod 4); with `safeParse`, arguments are validated and parsed. */
export interface SchemaLike<T = unknown> {
  toJSONSchema(): object;
  safeParse?(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

/** The arguments type a `parameters` value describes. */
export type InferParameters<P> = P extends { safeParse(data: unknown): infer R }
  ? Extract<R, { success: true }> extends { data: infer T }
    ? T
    : unknown
  : any;

/** A tool: what the model sees and the handler that runs it. */
export interface Tool<TArgs = any> {
  name: string;
  description?: string;
  parameters?: JsonSchema | SchemaLike<TArgs>;
  /** Sync or async. Returns a string, a ToolResultObject, or any value (sent as JSON). A throw is a
   * failure: the model gets a fixed message, `tool.execution_complete` the real one. */
  handler: (args: TArgs, invocation: ToolInvocation) => unknown;
  /** Run without asking onPermissionRequest. */
  skipPermission?: boolean;
}

/** Defines a tool. */
export function defineTool<P extends JsonSchema | SchemaLike = JsonSchema>(
  name: string,
  config: {
    description?: string;
    parameters?: P;
    handler: (args: InferParameters<P>, invocation: ToolInvocation) => unknown;
    skipPermission?: boolean;
  },
): Tool<InferParameters<P>>;

/** What onPermissionRequest is asked about one of the application's tools. */
export interface CustomToolPermissionRequest {
  kind: "custom-tool";
  toolName: string;
  toolCallId: string;
  arguments: unknown;
}

/** What onPermissionRequest is asked about an MCP server's tool. */
export interface McpPermissionRequest {
  kind: "mcp";
  /** The server's name in `mcpServers`. */
  serverName: string;
  /** The server's own name of the tool (the model sees `<server>-<tool>`). */
  toolName: string;
  toolCallId: string;
  arguments: unknown;
}

/** What onPermissionRequest is asked, discriminated by `kind`. */
export type PermissionRequest = CustomToolPermissionRequest | McpPermissionRequest;

/**
 * onPermissionRequest's answer (read by the core, the same in every language): `true` or an
 * approve kind runs the call ("approve-for-session": and every later call of the tool without
 * asking); `false`, "reject" or any Copilot SDK "denied-..." kind refuses it, with `feedback` (or
 * `message`) for the model; "user-not-available" and "no-result" refuse it as the Copilot SDK does.
 * Anything else (or a throw) refuses the call.
 */
export type PermissionRequestResult =
  | boolean
  | { kind: "approve-once" }
  | { kind: "approved" }
  | { kind: "approve-for-session" }
  | { kind: "user-not-available" }
  | { kind: "no-result" }
  | { kind: "reject"; feedback?: string }
  | { kind: `denied-${string}`; feedback?: string; message?: string };

export type PermissionHandler = (
  request: PermissionRequest,
  invocation: { sessionId: string },
) => PermissionRequestResult | Promise<PermissionRequestResult>;

/** Approves every tool call (the Copilot SDK's approveAll). */
export declare const approveAll: PermissionHandler;

/** Automatic compaction of a session's history before it outgrows the model's context window (the
 * window: the provider's `maxPromptTokens`, else the model list's limits). */
export interface InfiniteSessions {
  /** Compact automatically (default true). false: the provider's context-length error fails the send. */
  enabled?: boolean;
  /** At this fraction of the window a compaction runs in the background after the send (default 0.80). */
  backgroundCompactionThreshold?: number;
  /** A send that would cross this fraction waits for a compaction first (default 0.95). */
  bufferExhaustionThreshold?: number;
}

/** Fields every MCP server entry may have. */
interface MCPServerConfigBase {
  /** The server's tools to offer, by their own names: absent or ["*"] for all, [] for none. */
  tools?: string[];
  /** Per tool call, in ms (default 60000); a slower call gives the model a failure result. */
  timeout?: number;
  /** Starting (or connecting) and the initialize handshake, in ms (default 30000). */
  startupTimeoutMs?: number;
  /** The most bytes of text one result gives the model; more is cut with a note (default 65536). */
  maxOutputBytes?: number;
}

/** A server started as a child process, speaking MCP over its stdin and stdout. */
export interface MCPLocalServerConfig extends MCPServerConfigBase {
  /** Default "local". */
  type?: "local" | "stdio";
  /** The program to run (looked up on PATH). */
  command: string;
  args?: string[];
  /**
   * Variables set for the server. Of the host's environment it gets only HOME, LOGNAME, PATH,
   * SHELL, TERM and USER, unless `inheritEnv`.
   */
  env?: Record<string, string>;
  /** The server's working directory (default: the host's). */
  cwd?: string;
  /** The same as `cwd`. */
  workingDirectory?: string;
  /** Pass the host's whole environment (default false). */
  inheritEnv?: boolean;
}

/**
 * A server reached over Streamable HTTP. "sse" connects with Streamable HTTP too: the legacy
 * HTTP+SSE transport (protocol 2024-11-05) is not supported.
 */
export interface MCPRemoteServerConfig extends MCPServerConfigBase {
  type: "http" | "sse";
  /** The server's MCP endpoint, e.g. "https://example.com/mcp". */
  url: string;
  /** Sent with every request; secrets, redacted like provider keys. */
  headers?: Record<string, string>;
}

/** One entry of `SessionConfig.mcpServers`. */
export type MCPServerConfig = MCPLocalServerConfig | MCPRemoteServerConfig;

/** What a hook is told besides its input. */
export interface HookInvocation {
  sessionId: string;
}

/**
 * A session hook: called with its input (the Copilot SDK's fields plus `sessionId` and `timestamp`),
 * returning an output object or nothing (sync or async). A throw fails its tool call (or, for
 * onUserPromptSubmitted, its send), never the session; hook.end carries the error.
 */
export type Hook<I = Record<string, unknown>, O = Record<string, unknown>> = (
  input: I & { sessionId: string; timestamp: string },
  invocation: HookInvocation,
) => O | void | undefined | Promise<O | void | undefined>;

/** The Copilot SDK's session hooks. */
export interface SessionHooks {
  /** Before a tool runs. */
  onPreToolUse?: Hook<
    { toolName: string; toolArgs: unknown },
    {
      permissionDecision?: "allow" | "deny" | "ask";
      permissionDecisionReason?: string;
      modifiedArgs?: unknown;
      additionalContext?: string;
      suppressOutput?: boolean;
    }
  >;
  /** After a tool succeeded. */
  onPostToolUse?: Hook<
    {
      toolName: string;
      toolArgs: unknown;
      /** What the tool returned, as the model would see it. */
      toolResult: { textResultForLlm: string; resultType: NonNullable<ToolResultObject["resultType"]> };
    },
    { modifiedResult?: string | ToolResultObject; additionalContext?: string }
  >;
  /** After a tool failed. */
  onPostToolUseFailure?: Hook<{ toolName: string; toolArgs: unknown; error: string }, { additionalContext?: string }>;
  /** Before a prompt is sent. */
  onUserPromptSubmitted?: Hook<{ prompt: string }, { modifiedPrompt?: string; additionalContext?: string }>;
  onSessionStart?: Hook<{ source: "new" | "resume" }, { additionalContext?: string }>;
  onSessionEnd?: Hook<{ reason: string }, Record<string, never>>;
  onErrorOccurred?: Hook<
    { error: string; errorContext: string; recoverable: boolean },
    { errorHandling?: "retry" | "skip" | "abort" }
  >;
  /** `{decision: "block", reason}`: the reason becomes the next user message. */
  onAgentStop?: Hook<{ finalAnswer: string }, { decision?: "block"; reason?: string }>;
}

/** How to create a session (the Copilot SDK's SessionConfig for BYOK). */
export interface SessionConfig extends ModelControls {
  /** A session id to use (a UUID otherwise). */
  sessionId?: string;
  /** The model (the deployment name on Azure); required with a provider. */
  model?: string;
  /** The provider; the client's default when absent. */
  provider?: ProviderConfig;
  tools?: Tool<any>[];
  /** The system prompt (modelport has no default prompt: both modes send just this content). */
  systemMessage?: { mode?: "append" | "replace"; content?: string };
  /** Stream answers as delta events (default false). */
  streaming?: boolean;
  reasoningEffort?: ReasoningEffort;
  /** Only these tools are offered. */
  availableTools?: string[];
  /** These are never offered (wins over availableTools). */
  excludedTools?: string[];
  /** Asked before each tool call (approve by default). */
  onPermissionRequest?: PermissionHandler;
  /** Default "auto". */
  toolChoice?: ToolChoice;
  /** Default true. */
  parallelToolCalls?: boolean;
  /** resumeSession only: do not emit session.resume. */
  suppressResumeEvent?: boolean;
  /** Compaction of the history before it outgrows the context window (on by default). */
  infiniteSessions?: InfiniteSessions;
  /**
   * Models ("<provider>/<id>" with the client's providers) tried in turn when the model fails
   * before any output.
   */
  fallbackModels?: string[];
  /** Session hooks. */
  hooks?: SessionHooks;
  /** How long a hook may take, in ms (default 30000); a later answer fails its tool call (or its send). */
  hookTimeoutMs?: number;
  /** How many times `onAgentStop` may block one send (default 3). */
  maxAgentStopBlocks?: number;
  /** How many retries `onErrorOccurred` may ask for in one send (default 2). */
  maxErrorRetries?: number;
  /**
   * MCP servers whose tools the model may call (as `<server>-<tool>`), by server name; started
   * with the session, ended with it. A server that fails to start leaves the session without its
   * tools (see the session.mcp_servers_loaded event).
   */
  mcpServers?: Record<string, MCPServerConfig>;
}

/** One message to send. */
export interface MessageOptions extends ModelControls {
  prompt: string;
  attachments?: Attachment[];
  /** Headers for this message's model calls. */
  requestHeaders?: Record<string, string>;
  reasoningEffort?: ReasoningEffort;
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /**
   * Aborting it aborts this send and no other: while it runs, `abort` and an aborted `session.idle`
   * are emitted; while it is queued behind another send, it ends aborted when its turn comes,
   * without a model call, and sendAndWait rejects at once. sendAndWait and sendAndParse reject with
   * an AbortError. Already aborted: rejects at once, nothing is sent.
   */
  signal?: AbortSignal;
}

/** What sendAndParse sends. */
export interface SendAndParseOptions<S> extends Omit<MessageOptions, "responseFormat"> {
  /** A JSON schema, or a schema with toJSONSchema() and parse() (zod 4). */
  schema: S;
  /** The schema's name (letters, digits, _, -; default "answer"). */
  name?: string;
  /** OpenAI's strict mode (default true). */
  strict?: boolean;
  /** Corrective retries (default 1). */
  retries?: number;
}

/** A session's events as an async iterator. */
export declare class EventIterator implements AsyncIterableIterator<SessionEvent> {
  private constructor();
  /** Deltas dropped so far because this consumer fell behind (other events are never dropped). */
  skipped: number;
  next(): Promise<IteratorResult<SessionEvent, undefined>>;
  return(): Promise<IteratorResult<SessionEvent, undefined>>;
  [Symbol.asyncIterator](): EventIterator;
}

/** A conversation with one model. */
export declare class Session {
  private constructor();
  readonly sessionId: string;
  /** The current model. */
  readonly model: string;
  /**
   * Calls `handler` for every event of `type`; returns a function that removes it. A name that is
   * neither a modelport event type nor a Copilot SDK one throws a ConfigError listing the valid names.
   */
  on<K extends SessionEventType>(type: K, handler: (event: SessionEventOf<K>) => void): () => void;
  on(type: "*", handler: (event: SessionEvent) => void): () => void;
  /** Calls `handler` for every event. */
  on(handler: (event: SessionEvent) => void): () => void;
  /** Sends (queued while a send runs); resolves to the id of its user.message event. */
  send(options: MessageOptions | string): Promise<string>;
  /**
   * Sends a message whose answer must be JSON matching `schema` (a JSON schema, or zod: its
   * toJSONSchema(), then its parse) and resolves to the parsed value. Core validates the answer,
   * retries `retries` times (default 1) telling the model what was wrong, then rejects with code
   * "invalid_output" (rawOutput, validationErrors).
   */
  sendAndParse<S>(
    options: SendAndParseOptions<S>,
    timeout?: number,
  ): Promise<S extends { parse(data: unknown): infer T } ? T : unknown>;
  /** Sends and waits until idle (timeout in ms, default 60000; the turn keeps running after it). */
  sendAndWait(options: MessageOptions | string, timeout?: number): Promise<AssistantMessageEvent | undefined>;
  /** The events from now on (`for await`); ends when the session is disconnected or the client stopped. */
  events(options?: { buffer?: number }): EventIterator;
  /** The persisted (non-ephemeral) events so far; after a resume, earlier processes' too. */
  getEvents(): SessionEvent[];
  /** The Copilot SDK's name for getEvents(). */
  getMessages(): Promise<SessionEvent[]>;
  /** Aborts the running send; resolves once it has ended. */
  abort(): Promise<void>;
  /** Compacts the history now, after the running send (session.compaction_start, then session.compaction_complete). */
  compact(): Promise<void>;
  /** Switches the model for the next calls. */
  setModel(model: string): Promise<void>;
  /** Ends the session and gives it up (it stays in the session store for resumeSession). */
  disconnect(): Promise<void>;
  /** `await using`: disconnect() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The entry point. */
export declare class Client {
  constructor(options?: ClientOptions);
  /** Rejects with code "session_exists" when the sessionId is taken. */
  createSession(config?: SessionConfig): Promise<Session>;
  /**
   * Continues a stored session, in this process or any other sharing the store; credentials, tools
   * and handlers are given again. Rejects with "session_not_found" or "session_busy".
   */
  resumeSession(sessionId: string, config?: SessionConfig): Promise<Session>;
  /** The stored sessions, most recently modified first. */
  listSessions(): Promise<SessionMetadata[]>;
  /** The id of the most recently modified session. */
  getLastSessionId(): Promise<string | undefined>;
  getSessionMetadata(sessionId: string): Promise<SessionMetadata | undefined>;
  /** Deletes a session from the store; false when there was none. Rejects with "session_busy" while another client holds it. */
  deleteSession(sessionId: string): Promise<boolean>;
  listModels(): Promise<ModelInfo[]>;
  /** A harmless no-op (drop-in for the Copilot SDK). */
  start(): Promise<void>;
  /** Aborts every send, ends every session and releases every callback, so the process can exit. */
  stop(): Promise<ModelportError[]>;
  /** `await using`: stop() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The Copilot SDK's name for Client. */
export declare const CopilotClient: typeof Client;
export type CopilotClient = Client;
/** The Copilot SDK's name for Session. */
export declare const CopilotSession: typeof Session;
export type CopilotSession = Session;

/** The stable error codes: one per core error kind. */
export type ModelportErrorCode =
  | "config"
  | "auth"
  | "permission_denied"
  | "not_found"
  | "rate_limited"
  | "invalid_request"
  | "context_length"
  | "server"
  | "timeout"
  | "transport"
  | "decode"
  | "tool"
  | "cancelled"
  | "limit"
  | "session_not_found"
  | "session_exists"
  | "session_busy"
  | "storage"
  | "hook"
  | "invalid_output";

/** The fields every modelport error has. */
export declare class ModelportError extends Error {
  constructor(message: string, fields?: Partial<ModelportErrorFields>);
  /** The class name ("ModelportError", "RateLimitError", ...; "AbortError" for code "cancelled"). */
  name: string;
  /** The kind of failure, stable across versions. */
  code: ModelportErrorCode;
  /** The HTTP status, when the provider answered. */
  status?: number;
  /** The provider's error code (insufficient_quota, context_length_exceeded, overloaded_error, ...). */
  providerCode?: string;
  /** The provider's request id. */
  requestId?: string;
  /** Seconds the provider asked to wait. */
  retryAfter?: number;
  /** Which timeout fired (connect, first_byte, idle, total, send_and_wait, server). */
  timeoutKind?: string;
  /** The session.error errorType of this error. */
  errorType?: string;
  /** Whether retrying the same request may succeed. */
  retryable: boolean;
  /** "invalid_output": the model's answer as it came. */
  rawOutput?: string;
  /** "invalid_output": why it does not fit the schema. */
  validationErrors?: string[];
}

/** What a ModelportError carries besides its message. */
export interface ModelportErrorFields {
  code: ModelportErrorCode;
  status: number;
  providerCode: string;
  requestId: string;
  retryAfter: number;
  timeoutKind: string;
  errorType: string;
  retryable: boolean;
  rawOutput: string;
  validationErrors: string[];
  cause: unknown;
}

/** Code "config": bad configuration or arguments; the message names the field and the fix. */
export declare class ConfigError extends ModelportError {
  code: "config";
}
/** Code "cancelled": `abort()`, an AbortSignal or `client.stop()`; `name` is "AbortError". */
export declare class AbortError extends ModelportError {
  name: "AbortError";
  code: "cancelled";
}
/** What the provider, or the way to it, did: the base of the HTTP and connection errors. */
export declare class APIError extends ModelportError {}
/** Code "invalid_request" (HTTP 400, 413, 422, ...), or "context_length" (ContextLengthError). */
export declare class BadRequestError extends APIError {
  code: "invalid_request" | "context_length";
}
/** Code "context_length": the conversation does not fit the model's context window. */
export declare class ContextLengthError extends BadRequestError {
  code: "context_length";
}
/** Code "auth": HTTP 401, or the bearerTokenProvider failed. */
export declare class AuthenticationError extends APIError {
  code: "auth";
}
/** Code "permission_denied": HTTP 403. */
export declare class PermissionDeniedError extends APIError {
  code: "permission_denied";
}
/** Code "not_found": HTTP 404 (model, deployment, route). */
export declare class NotFoundError extends APIError {
  code: "not_found";
}
/** Code "rate_limited": HTTP 429 (providerCode "insufficient_quota" when the quota is exhausted). */
export declare class RateLimitError extends APIError {
  code: "rate_limited";
}
/** Code "server": HTTP 5xx or 529, or an error event in the stream. */
export declare class InternalServerError extends APIError {
  code: "server";
}
/** Code "transport" (connection refused or reset, a stream cut short), or "timeout" (APITimeoutError). */
export declare class APIConnectionError extends APIError {
  code: "transport" | "timeout";
}
/** Code "timeout": a timeout fired (`timeoutKind` says which). */
export declare class APITimeoutError extends APIConnectionError {
  code: "timeout";
}
/** Code "invalid_output": the structured answer does not match the schema. */
export declare class InvalidOutputError extends ModelportError {
  code: "invalid_output";
  rawOutput?: string;
  validationErrors?: string[];
}

/** A log record's level. */
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace" | "off";

/**
 * Sends modelport's log records to `handler` from now on, at `level` and above (default:
 * MODELPORT_LOG when set, else "warn"); `null` stops them. The handler runs on the event loop and
 * is never waited for. Throws a ConfigError when MODELPORT_LOG already sends the logs to stderr (it
 * does from the first Client on): call it before creating a Client.
 */
export declare function setLogHandler(
  handler: ((level: Exclude<LogLevel, "off">, target: string, message: string) => void) | null,
  level?: LogLevel,
): void;

/**
 * The provider and model the environment names (MODELPORT_PROVIDER, MODELPORT_BASE_URL,
 * MODELPORT_API_KEY or the provider's usual key variable, MODELPORT_MODEL, MODELPORT_WIRE_API,
 * MODELPORT_AZURE_API_VERSION), ready to spread into createSession; undefined when
 * MODELPORT_PROVIDER is unset. Throws a ConfigError naming a missing or wrong variable.
 */
export declare function providerFromEnv(): { provider: ProviderConfig; model: string } | undefined;
