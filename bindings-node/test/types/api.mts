// The rest of the API under --strict: tools (JSON schema and zod), event narrowing, the iterator,
// errors, the token provider, approveAll, and modelport/testing.
import { z } from "zod";
import modelport, {
    AbortError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    approveAll,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigError,
    ContextLengthError,
    defineTool,
    InternalServerError,
    InvalidOutputError,
    ModelportError,
    NotFoundError,
    PermissionDeniedError,
    providerFromEnv,
    RateLimitError,
    setLogHandler,
    type LogLevel,
    type ModelportErrorCode,
    type SessionEvent,
    type SessionMetadata,
    type ToolResultObject,
} from "modelport";
import testing, { ReplayServer } from "modelport/testing";

const server = await ReplayServer.start({ path: "conversations.yaml", deltaChars: 3 });
const client = new Client({ retry: { maxRetries: 1 }, timeouts: { idleMs: 30_000 } });

const weather = defineTool("get_weather", {
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    handler: async (args: { city: string }, invocation) => `${args.city} for ${invocation.toolCallId}`,
});

interface MySchema {
    type: "object";
    properties: Record<string, { type: string }>;
}
const typedSchema: MySchema = { type: "object", properties: { q: { type: "string" } } };
const search = defineTool("search", { description: "Search", parameters: typedSchema, handler: (args) => String(args.q) });

const booking = defineTool("book_table", {
    description: "Books a table",
    parameters: z.object({ restaurant: z.string(), guests: z.number().int() }),
    handler: ({ restaurant, guests }): ToolResultObject => {
        const r: string = restaurant;
        const g: number = guests;
        // @ts-expect-error: the zod schema makes `guests` a number
        const wrong: string = guests;
        void wrong;
        return { textResultForLlm: `${r} x${g}`, resultType: "success" };
    },
});

const session = await client.createSession({
    model: "test-model",
    provider: {
        type: "openai",
        baseUrl: server.openaiUrl,
        bearerTokenProvider: async ({ providerName }) => ({ token: providerName, expiresAt: new Date(Date.now() + 3_600_000) }),
    },
    tools: [weather, booking, search],
    streaming: true,
    onPermissionRequest: approveAll,
    reasoningEffort: "low",
    toolChoice: "auto",
});

const off = session.on("assistant.message_delta", (event) => {
    const text: string = event.data.deltaContent;
    const ephemeral: true = event.ephemeral;
    void text, ephemeral;
});
off();
session.on("assistant.message", (event) => {
    // @ts-expect-error: assistant.message has no deltaContent
    console.log(event.data.deltaContent);
});
// @ts-expect-error: not an event type
session.on("assistant.nonsense", () => {});
session.on("tool.execution_complete", (event) => {
    if (!event.data.success) console.log(event.data.error?.message, event.data.error?.code);
});
session.on((event: SessionEvent) => {
    switch (event.type) {
        case "assistant.usage":
            console.log(event.data.inputTokens, event.data.timeToFirstTokenMs ?? "n/a");
            break;
        case "session.error":
            console.log(event.data.errorType, event.data.statusCode);
            break;
        case "session.idle":
            console.log(event.data.aborted === true);
            break;
        case "session.resume":
            console.log(event.data.resumeTime, event.data.eventCount + 1);
            break;
        case "session.usage_info":
            console.log(event.data.tokenLimit - event.data.currentTokens, event.data.messagesLength);
            break;
        case "session.compaction_complete":
            console.log(event.data.success, event.data.error?.length, event.data.messagesRemoved);
            console.log(event.data.preCompactionTokens - event.data.postCompactionTokens);
            break;
    }
});

try {
    const answer = await session.sendAndWait({ prompt: "What is 2+2?" }, 30_000);
    console.log(answer?.data.content, answer?.data.toolRequests?.length);
    for await (const event of session.events()) {
        if (event.type === "assistant.message") console.log(event.data.model);
        if (event.type === "session.idle") break;
    }
} catch (e) {
    if (e instanceof ModelportError) {
        const code: ModelportErrorCode = e.code;
        console.log(code, e.status, e.requestId, e.retryAfter, e.providerCode, e.retryable);
    }
}
await session.abort();
await session.setModel("test-model-2");
console.log(session.getEvents().length, server.requests()[0]?.headers["authorization"]);
await session.disconnect();

// Durable sessions.
const durable = new Client({ sessionStore: "memory", sessionLease: { ttlMs: 10_000, waitMs: 500 } });
const resumed = await durable.resumeSession("an-id", { suppressResumeEvent: true });
const messages: SessionEvent[] = await resumed.getMessages();
const sessions: SessionMetadata[] = await durable.listSessions();
const meta: SessionMetadata | undefined = await durable.getSessionMetadata(sessions[0]?.sessionId ?? "x");
const last: string | undefined = await durable.getLastSessionId();
const deleted: boolean = await durable.deleteSession("an-id");
const busy: ModelportErrorCode = "session_busy";
console.log(messages.length, meta?.summary, meta?.startTime, last, deleted, busy);
await durable.stop();

// Infinite sessions.
const small = await ReplayServer.start({ yaml: [], fallback: "ok", contextWindow: 3000 });
const compacting = await client.createSession({
    model: "test-model",
    provider: { baseUrl: small.openaiUrl, maxPromptTokens: 2700 },
    infiniteSessions: { enabled: true, backgroundCompactionThreshold: 0.8, bufferExhaustionThreshold: 0.95 },
});
await compacting.compact();

// Model controls, structured output, the provider registry, the new events and error codes.
const controlled = await client.createSession({
    model: "test-model",
    provider: { baseUrl: small.openaiUrl, nativeStructuredOutput: false },
    temperature: 0.2,
    topP: 0.9,
    stop: ["END"],
    seed: 7,
    maxOutputTokens: 100,
    extraBody: { user: "u1" },
    maxTurns: 4,
    reasoningEffort: "xhigh",
    responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true },
    fallbackModels: ["test-model-2"],
});
await controlled.sendAndWait({
    prompt: "hi",
    temperature: 0.5,
    toolChoice: "none",
    parallelToolCalls: false,
    responseFormat: { type: "json_object" },
});
controlled.on("hook.end", (e) => console.log(e.data.hookType, e.data.success, e.data.error?.message));
controlled.on("permission.completed", (e) => console.log(e.data.result.kind));
controlled.on("session.model_change", (e) => console.log(e.data.previousModel, e.data.newModel));
controlled.on("assistant.turn_retry", (e) => console.log(e.data.from, e.data.to));
const hooked = await client.createSession({
    model: "test-model",
    provider: { baseUrl: small.openaiUrl },
    hooks: {
        onPreToolUse: (input, invocation) =>
            input.toolName === "rm" ? { permissionDecision: "deny", permissionDecisionReason: invocation.sessionId } : undefined,
        onUserPromptSubmitted: async ({ prompt }) => ({ modifiedPrompt: prompt.trim() }),
        onSessionEnd: () => {},
    },
});
const parsed: { city: string } = await hooked.sendAndParse({
    prompt: "weather",
    schema: z.object({ city: z.string() }),
});
const plain: unknown = await hooked.sendAndParse({ prompt: "x", schema: { type: "object" }, retries: 0 });
console.log(parsed.city, plain);
await hooked.disconnect();
// MCP servers: both entry shapes, the permission request of kind "mcp", the two events.
const withMcp = await client.createSession({
    model: "test-model",
    provider: { baseUrl: small.openaiUrl },
    mcpServers: {
        files: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], tools: ["*"] },
        local: { type: "stdio", command: "python3", env: { A: "1" }, workingDirectory: "/tmp", inheritEnv: true, startupTimeoutMs: 5000 },
        remote: { type: "http", url: "http://127.0.0.1:1/mcp", headers: { Authorization: "Bearer x" }, timeout: 1000, maxOutputBytes: 4096 },
        // @ts-expect-error: a remote server needs its url
        nourl: { type: "sse" },
    },
    onPermissionRequest: (request) => {
        if (request.kind === "mcp") {
            const server: string = request.serverName;
            return { kind: "reject", feedback: `${server}/${request.toolName}` };
        }
        // @ts-expect-error: only kind "mcp" has a serverName
        console.log(request.serverName);
        return { kind: "approve-once" };
    },
});
withMcp.on("session.mcp_server_status_changed", (e) => {
    const ephemeral: true = e.ephemeral;
    console.log(ephemeral, e.data.serverName, e.data.status, e.data.error?.length);
});
for (const e of withMcp.getEvents()) {
    if (e.type === "session.mcp_servers_loaded") {
        for (const s of e.data.servers) console.log(s.name, s.status === "failed" ? s.error : s.transport);
    }
}
await withMcp.disconnect();
const registry = new Client({
    providers: [{ name: "local", baseUrl: small.openaiUrl }],
    models: [{ id: "m", provider: "local", maxPromptTokens: 1000 }],
});
await registry.stop();
// Error classes: instanceof narrows, each keeps its code.
function describe(e: unknown): string {
    if (e instanceof RateLimitError) {
        const code: "rate_limited" = e.code;
        return `${code} ${e.retryAfter ?? 0} ${e.providerCode}`;
    }
    if (e instanceof AbortError) {
        const name: "AbortError" = e.name;
        const code: "cancelled" = e.code;
        return `${name} ${code}`;
    }
    if (e instanceof APITimeoutError) return `${e.timeoutKind}`;
    if (e instanceof APIConnectionError) return e.code;
    if (e instanceof ContextLengthError) return e.providerCode ?? "";
    if (e instanceof BadRequestError) return `${e.status}`;
    if (e instanceof AuthenticationError || e instanceof PermissionDeniedError || e instanceof NotFoundError) return e.code;
    if (e instanceof InternalServerError) return `${e.retryable}`;
    if (e instanceof InvalidOutputError) return e.validationErrors?.join() ?? "";
    if (e instanceof ConfigError) return e.message;
    if (e instanceof APIError) return e.code;
    if (e instanceof ModelportError) return e.code;
    return String(e);
}
// @ts-expect-error: an AbortError's code is "cancelled"
const notCancelled: "auth" = new AbortError("x").code;
void notCancelled;

// AbortSignal on send, sendAndWait and sendAndParse; an already aborted signal rejects at once.
const controller = new AbortController();
await session.send({ prompt: "hi", signal: controller.signal });
await session.sendAndWait({ prompt: "hi", signal: AbortSignal.timeout(1000) }, 5000).catch((e: unknown) => describe(e));
await session.sendAndParse({ prompt: "hi", schema: { type: "object" }, signal: controller.signal });
// @ts-expect-error: signal is an AbortSignal
await session.send({ prompt: "hi", signal: true });

// Logging and the provider from the environment.
const level: LogLevel = "debug";
setLogHandler((lvl, target, message) => console.log(lvl.toUpperCase(), target, message), level);
setLogHandler(() => {});
setLogHandler(null);
// @ts-expect-error: not a level
setLogHandler(null, "verbose");
const fromEnv = providerFromEnv();
if (fromEnv) {
    const envSession = await client.createSession({ ...fromEnv, streaming: true });
    const baseUrl: string = fromEnv.provider.baseUrl;
    console.log(baseUrl, envSession.model === fromEnv.model);
}

// Hook limits.
await client.createSession({
    model: "test-model",
    provider: { baseUrl: server.openaiUrl },
    hooks: { onAgentStop: () => ({ decision: "block", reason: "again" }) },
    hookTimeoutMs: 500,
    maxAgentStopBlocks: 1,
    maxErrorRetries: 0,
});

// await using: the session disconnects, then the client stops, at the end of the scope.
{
    await using scoped = new Client({ sessionStore: "memory" });
    await using scopedSession = await scoped.createSession({ model: "test-model", provider: { baseUrl: server.openaiUrl } });
    await scopedSession.send("hi");
}

// The default exports of the ES module entries.
const defaultClient: Client = new modelport.Client();
await defaultClient.stop();
await testing.ReplayServer.start({ yaml: [] }).then((s) => s.stop());

const codes: ModelportErrorCode[] = ["hook", "invalid_output"];
const invalid = new ModelportError("x");
console.log(codes, invalid.rawOutput, invalid.validationErrors?.length);
await small.stop();
const errors: ModelportError[] = await client.stop();
await server.stop();
void errors;
