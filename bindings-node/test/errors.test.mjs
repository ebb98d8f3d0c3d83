// Errors: a stable ModelportError code per core kind and the class of that code (instanceof through
// the hierarchy), status, providerCode, requestId, retryAfter; retries (429 with retry-after, an
// error before output); no retry after output (a scripted error event, and a raw socket reset
// mid-stream); secrets never in messages.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import * as modelport from "modelport";
import { Client, ModelportError } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

/** Runs one "What is 2+2?" send against a replay server scripted with `errors`. */
async function withScripted(errors, fn, { client: clientOptions, session: sessionOptions, providerExtra } = {}) {
  const server = await startReplay({ errors });
  const client = new Client(clientOptions);
  try {
    const session = await client.createSession({
      model: "test-model",
      ...sessionOptions,
      provider: openai(server, providerExtra),
    });
    const events = [];
    session.on((e) => events.push(e));
    await fn({ server, session, events });
  } finally {
    await client.stop();
    await server.stop();
  }
}

/** The class each code is raised as, and the classes it is also an instance of. */
const CLASSES = {
  config: ["ConfigError"],
  cancelled: ["AbortError"],
  invalid_request: ["BadRequestError", "APIError"],
  context_length: ["ContextLengthError", "BadRequestError", "APIError"],
  auth: ["AuthenticationError", "APIError"],
  permission_denied: ["PermissionDeniedError", "APIError"],
  not_found: ["NotFoundError", "APIError"],
  rate_limited: ["RateLimitError", "APIError"],
  server: ["InternalServerError", "APIError"],
  transport: ["APIConnectionError", "APIError"],
  timeout: ["APITimeoutError", "APIConnectionError", "APIError"],
};

const isError = (code, extra = () => true) => (e) => {
  assert.ok(e instanceof ModelportError, `not a ModelportError: ${e}`);
  assert.ok(e instanceof Error);
  assert.equal(e.code, code, e.message);
  const [own, ...bases] = CLASSES[code];
  assert.ok(e instanceof modelport[own], `${code}: ${e.name} is not a ${own}`);
  assert.equal(e.name, own);
  for (const base of bases) assert.ok(e instanceof modelport[base], `${own} is not a ${base}`);
  // No other class of the table claims it.
  for (const other of Object.values(CLASSES).flat()) {
    if (![own, ...bases].includes(other)) assert.ok(!(e instanceof modelport[other]), `${own} is also a ${other}`);
  }
  return extra(e) !== false;
};

test("429 with retry-after is retried after at least that delay, then answers", async () => {
  await withScripted("rate_limit_then_success", async ({ server, session, events }) => {
    const started = performance.now();
    const answer = await session.sendAndWait("What is 2+2?");
    const elapsed = performance.now() - started;
    assert.equal(answer.data.content, "2 + 2 = 4.");
    assert.equal(server.requestCount, 2);
    assert.ok(elapsed >= 950, `retried after ${elapsed} ms`);
    const retry = events.find((e) => e.type === "assistant.turn_retry");
    assert.ok(retry, "an assistant.turn_retry event");
    assert.equal(retry.data.statusCode, 429);
    assert.equal(retry.data.attempt, 1);
    assert.equal(retry.data.delayMs, 1000);
  });
});

test("a 429 that is not retried carries retryAfter in seconds", async () => {
  await withScripted(
    "rate_limited_always",
    async ({ server, session }) => {
      await assert.rejects(
        session.sendAndWait("What is 2+2?"),
        isError("rate_limited", (e) => {
          assert.equal(e.status, 429);
          assert.equal(e.retryAfter, 2);
          assert.equal(e.errorType, "rate_limit");
          assert.equal(e.retryable, true);
        }),
      );
      assert.equal(server.requestCount, 1);
    },
    { client: { retry: { maxRetries: 0 } } },
  );
});

test("429 insufficient_quota: code rate_limited, providerCode kept, not retried", async () => {
  await withScripted("insufficient_quota", async ({ server, session, events }) => {
    await assert.rejects(
      session.sendAndWait("What is 2+2?"),
      isError("rate_limited", (e) => {
        assert.equal(e.status, 429);
        assert.equal(e.providerCode, "insufficient_quota");
        assert.equal(e.errorType, "quota");
        assert.equal(e.retryable, false);
        assert.match(e.requestId, /^req_replay_/);
      }),
    );
    assert.equal(server.requestCount, 1);
    const error = events.find((e) => e.type === "session.error");
    assert.equal(error.data.errorType, "quota");
    assert.equal(error.data.statusCode, 429);
    assert.equal(events.at(-1).type, "session.idle");
  });
});

test("401: code auth, and the API key echoed by the provider is redacted everywhere", async () => {
  const key = "sk-test-SECRET-12345";
  await withScripted(
    "unauthorized",
    async ({ session, events }) => {
      await assert.rejects(
        session.sendAndWait("What is 2+2?"),
        isError("auth", (e) => {
          assert.equal(e.status, 401);
          assert.equal(e.errorType, "authentication");
          assert.equal(e.retryable, false);
          assert.ok(!e.message.includes(key), e.message);
          assert.ok(!String(e.stack).includes(key));
        }),
      );
      assert.ok(events.some((e) => e.type === "session.error"));
      assert.ok(!JSON.stringify(events).includes(key));
      assert.ok(!JSON.stringify(session.getEvents()).includes(key));
    },
    { providerExtra: { apiKey: key } },
  );
});

test("403 and 400 map to permission_denied and invalid_request, not retried", async () => {
  await withScripted("forbidden", async ({ server, session }) => {
    await assert.rejects(
      session.sendAndWait("What is 2+2?"),
      isError("permission_denied", (e) => {
        assert.equal(e.status, 403);
        assert.equal(e.providerCode, "PermissionDenied");
        assert.equal(e.retryable, false);
      }),
    );
    assert.equal(server.requestCount, 1);
  });
  await withScripted("bad_request", async ({ server, session }) => {
    await assert.rejects(
      session.sendAndWait("What is 2+2?"),
      isError("invalid_request", (e) => e.status === 400 && /temperature/.test(e.message)),
    );
    assert.equal(server.requestCount, 1);
  });
});

test("the classes are exported once, from both entries, and subclass as documented", async () => {
  const esm = await import("modelport");
  const { createRequire } = await import("node:module");
  const cjs = createRequire(import.meta.url)("modelport");
  for (const name of Object.values(CLASSES).flat().concat(["ModelportError", "InvalidOutputError"])) {
    assert.equal(typeof esm[name], "function", name);
    assert.equal(esm[name], cjs[name], `${name} is the same class from import and require`);
    assert.ok(esm[name] === ModelportError || esm[name].prototype instanceof ModelportError, name);
  }
  assert.ok(modelport.InvalidOutputError.prototype instanceof ModelportError);
  assert.ok(!(modelport.InvalidOutputError.prototype instanceof modelport.APIError));
  // Constructed by hand, an error keeps its code and fields.
  const e = new modelport.RateLimitError("slow down", { code: "rate_limited", status: 429, retryAfter: 3 });
  assert.equal(e.name, "RateLimitError");
  assert.equal(e.retryAfter, 3);
  assert.equal(e.retryable, false);
});

test("404, context length and 5xx map to not_found, context_length and server", async () => {
  await withScripted("not_found", async ({ session }) => {
    await assert.rejects(session.sendAndWait("What is 2+2?"), isError("not_found", (e) => e.status === 404));
  });
  await withScripted("context_length", async ({ session }) => {
    await assert.rejects(
      session.sendAndWait("What is 2+2?"),
      isError("context_length", (e) => e.providerCode === "context_length_exceeded" && e.errorType === "context_limit"),
    );
  });
  await withScripted(
    "server_error",
    async ({ server, session }) => {
      await assert.rejects(
        session.sendAndWait("What is 2+2?"),
        isError("server", (e) => e.status === 500 && e.retryable === true),
      );
      assert.equal(server.requestCount, 2, "one retry (retry.maxRetries = 1)");
    },
    { client: { retry: { maxRetries: 1, initialBackoffMs: 5 } } },
  );
});

test("an error event before any output is retried; after output it is not", async () => {
  await withScripted(
    "overloaded_before_output",
    async ({ server, session }) => {
      const answer = await session.sendAndWait("What is 2+2?");
      assert.equal(answer.data.content, "2 + 2 = 4.");
      assert.equal(server.requestCount, 2);
    },
    { session: { streaming: true }, client: { retry: { initialBackoffMs: 5 } } },
  );
  await withScripted(
    "reset_after_output",
    async ({ server, session, events }) => {
      await assert.rejects(session.sendAndWait("What is 2+2?"), isError("server", (e) => /broke after some output/.test(e.message)));
      assert.equal(server.requestCount, 1, "no retry after output reached the user");
      assert.ok(events.some((e) => e.type === "assistant.message_delta"), "some output was streamed");
      assert.ok(!events.some((e) => e.type === "assistant.message"), "the partial answer is dropped");
      assert.ok(events.some((e) => e.type === "session.error"));
    },
    { session: { streaming: true } },
  );
});

test("a connection reset in the middle of a stream: transport error, no retry, session still usable", async () => {
  // A raw server: HTTP 200, one Chat Completions chunk of text, then a TCP reset.
  let connections = 0;
  const raw = net.createServer((socket) => {
    connections++;
    socket.once("data", () => {
      const chunk = { id: "c1", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "Partial" }, finish_reason: null }] };
      socket.write(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
          `${(`data: ${JSON.stringify(chunk)}\n\n`).length.toString(16)}\r\ndata: ${JSON.stringify(chunk)}\n\n\r\n`,
        () => setImmediate(() => socket.resetAndDestroy()),
      );
    });
  });
  await new Promise((resolve) => raw.listen(0, "127.0.0.1", resolve));
  const client = new Client({ retry: { initialBackoffMs: 5 } });
  try {
    const session = await client.createSession({
      model: "m",
      provider: { type: "openai", baseUrl: `http://127.0.0.1:${raw.address().port}/v1` },
      streaming: true,
    });
    const deltas = [];
    session.on("assistant.message_delta", (e) => deltas.push(e.data.deltaContent));
    await assert.rejects(session.sendAndWait("Hello?"), isError("transport", (e) => e.retryable === true));
    assert.deepEqual(deltas, ["Partial"]);
    assert.equal(connections, 1, "not retried after output");
    assert.equal(session.getEvents().filter((e) => e.type === "assistant.message").length, 0);
  } finally {
    await client.stop();
    await new Promise((resolve) => raw.close(resolve));
  }
});

test("configuration errors name the field and the fix", async () => {
  const client = new Client();
  try {
    await assert.rejects(
      client.createSession({ provider: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } }),
      isError("config", (e) => /Model not specified/.test(e.message)),
    );
    await assert.rejects(
      client.createSession({ model: "gpt-4", provider: { type: "openai", baseUrl: "https://YOUR-RESOURCE.openai.azure.com" } }),
      isError("config", (e) => /type "azure"/.test(e.message)),
    );
    await assert.rejects(
      client.createSession({ model: "gpt-4", provider: { type: "azure", baseUrl: "https://RES.openai.azure.com/openai/v1/" } }),
      isError("config"),
    );
    await assert.rejects(
      client.createSession({ model: "m", provider: { type: "nope", baseUrl: "http://127.0.0.1:9/v1" } }),
      isError("config", (e) => /provider.*type|nope/.test(e.message)),
    );
    await assert.rejects(
      client.createSession({ model: "m", provider: { baseUrl: "http://127.0.0.1:9/v1" }, mode: "x" }),
      isError("config", (e) => /mode/.test(e.message)),
    );
    assert.throws(() => new Client({ cliPath: "/usr/bin/copilot" }), isError("config", (e) => /cliPath/.test(e.message)));
    assert.throws(() => new Client({ retry: { maxRetries: "two" } }), isError("config", (e) => /retry/.test(e.message)));
  } finally {
    await client.stop();
  }
});

test("connection refused is a transport error; sendAndWait times out with code timeout", async () => {
  const client = new Client({ retry: { maxRetries: 0 } });
  try {
    const closed = net.createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const session = await client.createSession({ model: "m", provider: { type: "openai", baseUrl: `http://127.0.0.1:${port}/v1` } });
    await assert.rejects(session.sendAndWait("Hello?"), isError("transport"));

    const slow = await startReplay({ deltaChars: 1, chunkDelayMs: 20 });
    try {
      const s2 = await client.createSession({ model: "m", provider: openai(slow), streaming: true });
      await assert.rejects(s2.sendAndWait("Tell me a long story.", 100), isError("timeout", (e) => e.timeoutKind === "send_and_wait"));
      await s2.abort();
    } finally {
      await slow.stop();
    }
  } finally {
    await client.stop();
  }
});
