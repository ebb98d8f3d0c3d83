// Session events: plain objects in the wire JSON shape, one interface per `type`.

/** Fields every event has. */
export interface SessionEventBase {
  /** A UUID v4. */
  id: string;
  /** RFC 3339 UTC with milliseconds. */
  timestamp: string;
  /** The id of the session's previous event (null for the first). */
  parentId: string | null;
}

/** An event kept by `getEvents()`. */
export interface PersistedEvent<T extends string, D> extends SessionEventBase {
  ephemeral?: undefined;
  type: T;
  data: D;
}

/** A transient event (deltas, usage, idle): not kept by `getEvents()`. */
export interface EphemeralEvent<T extends string, D> extends SessionEventBase {
  ephemeral: true;
  type: T;
  data: D;
}

/** An inline image sent with a message. */
export interface BlobAttachment {
  type: "blob";
  /** The bytes, base64-encoded. */
  data: string;
  /** image/png, image/jpeg, ... */
  mimeType: string;
  displayName?: string;
}

export type Attachment = BlobAttachment;

/** A tool call the model requested. */
export interface ToolRequest {
  toolCallId: string;
  name: string;
  /** The parsed arguments (the raw text when they are not valid JSON). */
  arguments: unknown;
}

export type SessionStartEvent = PersistedEvent<"session.start", { sessionId: string; selectedModel: string }>;
export type SessionResumeEvent = PersistedEvent<
  "session.resume",
  {
    /** When the session was resumed (RFC 3339 UTC). */
    resumeTime: string;
    /** How many events the session's log held before this one. */
    eventCount: number;
  }
>;
export type UserMessageEvent = PersistedEvent<"user.message", { content: string; attachments?: Attachment[] }>;
export type AssistantTurnStartEvent = PersistedEvent<"assistant.turn_start", { turnId: string }>;
export type AssistantTurnEndEvent = PersistedEvent<"assistant.turn_end", { turnId: string }>;
export type AssistantTurnRetryEvent = PersistedEvent<
  "assistant.turn_retry",
  {
    turnId: string;
    /** What failed. */
    reason: string;
    /** How long modelport waits before the retry. */
    delayMs: number;
    /** 1 for the first retry. */
    attempt: number;
    statusCode?: number;
    /** reason "fallback": the model that failed. */
    from?: string;
    /** reason "fallback": the model tried next. */
    to?: string;
  }
>;
export type AssistantMessageStartEvent = EphemeralEvent<"assistant.message_start", { messageId: string }>;
export type AssistantMessageDeltaEvent = EphemeralEvent<
  "assistant.message_delta",
  { messageId: string; deltaContent: string }
>;
export type AssistantReasoningDeltaEvent = EphemeralEvent<
  "assistant.reasoning_delta",
  { reasoningId: string; deltaContent: string }
>;
export type AssistantReasoningEvent = PersistedEvent<"assistant.reasoning", { reasoningId: string; content: string }>;
export type AssistantMessageEvent = PersistedEvent<
  "assistant.message",
  {
    messageId: string;
    content: string;
    toolRequests?: ToolRequest[];
    reasoningText?: string;
    /** The model that answered. */
    model: string;
  }
>;
export type AssistantUsageEvent = EphemeralEvent<
  "assistant.usage",
  {
    model: string;
    /** All input tokens, cache reads and writes included. */
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    reasoningTokens: number;
    /** Milliseconds. */
    duration: number;
    /** null for non-streaming calls. */
    timeToFirstTokenMs: number | null;
    finishReason?: "stop" | "length" | "tool_calls" | "content_filter" | "refusal";
  }
>;
export type ToolExecutionStartEvent = PersistedEvent<
  "tool.execution_start",
  { toolCallId: string; toolName: string; arguments: unknown }
>;
export type ToolExecutionCompleteEvent = PersistedEvent<
  "tool.execution_complete",
  {
    toolCallId: string;
    success: boolean;
    /** What the model saw. */
    result?: { content: string };
    /** Why the call did not succeed (a throwing handler's real message is here, not sent to the model). */
    error?: { message: string; code?: "failure" | "denied" | "rejected" | "interrupted" | (string & {}) };
  }
>;
export type AbortEvent = PersistedEvent<"abort", { reason: "user_initiated" | (string & {}) }>;
export type SessionErrorEvent = PersistedEvent<
  "session.error",
  {
    errorType:
      | "authentication"
      | "authorization"
      | "quota"
      | "rate_limit"
      | "context_limit"
      | "model_call"
      | "timeout"
      | "transport"
      | "tool"
      | "config"
      | "cancelled"
      | "limit";
    message: string;
    statusCode?: number;
    providerCode?: string;
    requestId?: string;
  }
>;
export type SessionIdleEvent = EphemeralEvent<"session.idle", { aborted?: boolean }>;
export type SessionUsageInfoEvent = EphemeralEvent<
  "session.usage_info",
  {
    /** The prompt window in tokens. */
    tokenLimit: number;
    /** The tokens the next request would carry (the provider's last count plus an estimate). */
    currentTokens: number;
    /** Messages in the history. */
    messagesLength: number;
  }
>;
export type SessionCompactionStartEvent = PersistedEvent<"session.compaction_start", Record<string, never>>;
export type SessionCompactionCompleteEvent = PersistedEvent<
  "session.compaction_complete",
  {
    /** Whether the older history was summarised (false: nothing to remove, or the oldest turns were dropped). */
    success: boolean;
    /** What went wrong. */
    error?: string;
    /** Estimated tokens before. */
    preCompactionTokens: number;
    /** Estimated tokens after. */
    postCompactionTokens: number;
    /** History messages replaced by the summary (or dropped). */
    messagesRemoved: number;
  }
>;
export type SessionModelChangeEvent = PersistedEvent<
  "session.model_change",
  { previousModel: string; newModel: string }
>;
export type PermissionRequestedEvent = PersistedEvent<
  "permission.requested",
  {
    /** Pairs this event with its permission.completed. */
    requestId: string;
    /** What the handler is asked: {kind, sessionId, serverName? (kind "mcp"), toolName, toolCallId, arguments}. */
    permissionRequest: Record<string, unknown>;
  }
>;
export type PermissionCompletedEvent = PersistedEvent<
  "permission.completed",
  {
    requestId: string;
    result: {
      kind: "approve-once" | "approve-for-session" | "reject" | "user-not-available" | "no-result";
    };
  }
>;
export type HookStartEvent = PersistedEvent<
  "hook.start",
  {
    /** Pairs this event with its hook.end. */
    hookInvocationId: string;
    /** "preToolUse", "postToolUse", "userPromptSubmitted", ... */
    hookType: string;
    /** What the hook is given. */
    input?: unknown;
  }
>;
export type HookEndEvent = PersistedEvent<
  "hook.end",
  {
    hookInvocationId: string;
    hookType: string;
    /** Whether the hook answered. */
    success: boolean;
    /** What it answered. */
    output?: unknown;
    /** Why it failed. */
    error?: { message: string; stack?: string };
  }
>;

/** One MCP server as session.mcp_servers_loaded reports it. */
export interface McpServerInfo {
  /** Its name in `mcpServers`. */
  name: string;
  status: "connected" | "failed";
  transport: "stdio" | "http";
  /** Why it failed. */
  error?: string;
}
export type SessionMcpServersLoadedEvent = PersistedEvent<
  "session.mcp_servers_loaded",
  {
    /** Every configured server, in name order. */
    servers: McpServerInfo[];
  }
>;
export type SessionMcpServerStatusChangedEvent = EphemeralEvent<
  "session.mcp_server_status_changed",
  {
    /** Its name in `mcpServers`. */
    serverName: string;
    /** "failed": it stopped (or did not start again); "pending": starting again; "connected": started again. */
    status: "failed" | "pending" | "connected";
    /** Why it failed. */
    error?: string;
  }
>;

/** Every session event, discriminated by `type`. */
export type SessionEvent =
  | SessionStartEvent
  | SessionResumeEvent
  | UserMessageEvent
  | AssistantTurnStartEvent
  | AssistantTurnEndEvent
  | AssistantTurnRetryEvent
  | AssistantMessageStartEvent
  | AssistantMessageDeltaEvent
  | AssistantReasoningDeltaEvent
  | AssistantReasoningEvent
  | AssistantMessageEvent
  | AssistantUsageEvent
  | ToolExecutionStartEvent
  | ToolExecutionCompleteEvent
  | AbortEvent
  | SessionErrorEvent
  | SessionIdleEvent
  | SessionUsageInfoEvent
  | SessionCompactionStartEvent
  | SessionCompactionCompleteEvent
  | SessionModelChangeEvent
  | PermissionRequestedEvent
  | PermissionCompletedEvent
  | HookStartEvent
  | HookEndEvent
  | SessionMcpServersLoadedEvent
  | SessionMcpServerStatusChangedEvent;

/** Every event `type`. */
export type SessionEventType = SessionEvent["type"];

/** The event of type `T`. */
export type SessionEventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;
