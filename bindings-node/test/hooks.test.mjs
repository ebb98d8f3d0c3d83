// Session hooks through the Node binding: JavaScript functions (sync and async) called by core with
// their input, their answers applied by core (a denied tool call, modified arguments, prompt and
// results, context for the model, retried or skipped model calls, a blocked stop), a throwing or hung
// hook failing its tool call but not the session, hook events.
//
// What the model receives is checked against tests/fixtures/replay/hooks.yaml (hooksSession): each
// stored tool or user message is what core sends for that hook's answer, so a request that departs
// from it gets the replay's 500 instead of the stored answer.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Client, defineTool } from "modelport";
import { ReplayServer } from "modelport/testing";
import { HOOKS, deferred, hooksSession, ofType, openai, toolMessages } from "./helpers.mjs";

const T = 30_000;
// The end-to-end conversations: "What's the weather in Paris?" calls get_weather.
const E2E = new URL("../../tests/fixtures/replay/e2e.yaml", import.meta.url);

/** A client and a replay server, stopped after the test. */
async function setUp(t) {
  const server = await ReplayServer.start({ yaml: [readFileSync(E2E, "utf8")], fallback: "Understood." });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  return { server, client };
}

function weatherTool(calls) {
  return defineTool("get_weather", {
    description: "Get the current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    handler: ({ city }) => {
      calls.push(city);
      return `sunny, 22C in ${city}`;
    },
  });
}

test("onPreToolUse deny: the handler never runs and the model gets the reason", async (t) => {
  const { server, client } = await setUp(t);
  const calls = [];
  const inputs = [];
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server),
    tools: [weatherTool(calls)],
    hooks: {
      onPreToolUse: (input, invocation) => {
        inputs.push([input, invocation]);
        return { permissionDecision: "deny", permissionDecisionReason: "weather is a secret" };
      },
    },
  });
  const events = [];
  session.on((e) => events.push(e));
  await session.sendAndWait("What's the weather in Paris?", T);

  assert.deepEqual(calls, []);
  const [input, invocation] = inputs[0];
  assert.equal(input.toolName, "get_weather");
  assert.deepEqual(input.toolArgs, { city: "Paris" });
  assert.equal(invocation.sessionId, session.sessionId);
  assert.match(JSON.stringify(server.requests().at(-1).body), /weather is a secret/);
  const starts = events.filter((e) => e.type === "hook.start");
  const ends = events.filter((e) => e.type === "hook.end");
  assert.deepEqual(
    starts.map((e) => e.data.hookType),
    ["preToolUse"],
  );
  assert.equal(ends[0].data.success, true);
  assert.equal(ends[0].data.hookInvocationId, starts[0].data.hookInvocationId);
});

test("onUserPromptSubmitted modifiedPrompt reaches the request", async (t) => {
  const { server, client } = await setUp(t);
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server),
    hooks: { onUserPromptSubmitted: async ({ prompt }) => ({ modifiedPrompt: `${prompt} (rewritten)` }) },
  });
  await session.sendAndWait("Anything", T);
  const users = server.requests()[0].body.messages.filter((m) => m.role === "user");
  assert.equal(users.at(-1).content, "Anything (rewritten)");
});

test("a throwing hook fails its tool call, not the session", async (t) => {
  const { client, server } = await setUp(t);
  const calls = [];
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server),
    tools: [weatherTool(calls)],
    hooks: {
      onPreToolUse: () => {
        throw new Error("the policy service is down");
      },
    },
  });
  const events = [];
  session.on((e) => events.push(e));
  const reply = await session.sendAndWait("What's the weather in Paris?", T);
  assert.ok(reply);
  assert.deepEqual(calls, []);
  const ends = events.filter((e) => e.type === "hook.end");
  assert.equal(ends[0].data.success, false);
  assert.match(ends[0].data.error.message, /the policy service is down/);
  assert.equal(events.filter((e) => e.type === "session.error").length, 0);
  assert.ok(await session.sendAndWait("Say hello", T));
});

test("a hook that is not a function is a config error", async (t) => {
  const { client, server } = await setUp(t);
  await assert.rejects(
    client.createSession({ model: "test-model", provider: openai(server), hooks: { onPreToolUse: 1 } }),
    { code: "config" },
  );
});

test("onPreToolUse modifiedArgs reach the handler and tool.execution_start; additionalContext the model", async (t) => {
  const inputs = [];
  const { server, session, runs, events } = await hooksSession(t, {
    hooks: {
      onPreToolUse: (input) => {
        inputs.push(input);
        return { modifiedArgs: { key: "cached-h" }, additionalContext: "note: the key was rewritten" };
      },
    },
  });
  assert.equal((await session.sendAndWait("Look up h", T))?.data.content, "h is value-of-cached-h.");
  assert.deepEqual(inputs[0].toolArgs, { key: "h" });
  assert.deepEqual(runs, ["cached-h"]);
  assert.deepEqual(
    ofType(events, "tool.execution_start").map((s) => s.arguments),
    [{ key: "cached-h" }],
  );
  assert.deepEqual(toolMessages(server, 1), ["value-of-cached-h\n\nnote: the key was rewritten"]);
});

for (const [key, modifiedResult, seen, success] of [
  ["secret", "[redacted]", "[redacted]", true],
  ["private", { textResultForLlm: "[withheld]", resultType: "failure" }, "[withheld]", false],
]) {
  test(`onPostToolUse modifiedResult as ${typeof modifiedResult === "string" ? "a string" : "an object"}`, async (t) => {
    const results = [];
    const { session, events } = await hooksSession(t, {
      hooks: {
        onPostToolUse: async ({ toolResult }) => {
          results.push(toolResult);
          return { modifiedResult };
        },
      },
    });
    // The model got the modified result (the fixture holds it) and answered.
    const reply = await session.sendAndWait(`Look up ${key}`, T);
    assert.equal(reply?.data.content, `The value is ${seen.slice(1, -1)}.`);
    assert.deepEqual(results, [{ textResultForLlm: `value-of-${key}`, resultType: "success" }]);
    const [complete] = ofType(events, "tool.execution_complete");
    assert.equal(complete.success, success);
    assert.equal(complete.result.content, seen);
    if (!success) assert.equal(complete.error.code, "failure");
  });
}

test("onPostToolUseFailure: its additionalContext follows the failure text", async (t) => {
  const failures = [];
  const successes = [];
  const { session } = await hooksSession(t, {
    hooks: {
      onPostToolUse: (input) => void successes.push(input),
      onPostToolUseFailure: (input) => {
        failures.push(input);
        return { additionalContext: "try another key" };
      },
    },
  });
  assert.equal((await session.sendAndWait("Look up boom", T))?.data.content, "That key is broken.");
  assert.deepEqual(successes, []);
  assert.equal(failures[0].toolName, "lookup");
  assert.deepEqual(failures[0].toolArgs, { key: "boom" });
  assert.match(failures[0].error, /lookup exploded/);
});

test("onSessionStart: source new, then resume; its context follows the system prompt", async (t) => {
  const inputs = [];
  const onSessionStart = (input) => {
    inputs.push(input);
    return { additionalContext: `context for ${input.source}` };
  };
  const { server, client, session } = await hooksSession(t, { hooks: { onSessionStart } });
  assert.deepEqual(
    inputs.map((i) => [i.source, i.sessionId]),
    [["new", session.sessionId]],
  );
  assert.ok(await session.sendAndWait("Hello", T));
  await session.disconnect();
  const resumed = await client.resumeSession(session.sessionId, { provider: openai(server), hooks: { onSessionStart } });
  assert.deepEqual(
    inputs.map((i) => i.source),
    ["new", "resume"],
  );
  assert.equal((await resumed.sendAndWait("Still there?", T))?.data.content, "Yes.");
  assert.deepEqual(
    server.requests().map((r) => r.body.messages[0]),
    [
      { role: "system", content: "context for new" },
      { role: "system", content: "context for resume" },
    ],
  );
});

test("onSessionEnd: user_exit on disconnect, complete on client.stop()", async (t) => {
  const server = await ReplayServer.start({ path: HOOKS });
  t.after(() => server.stop());
  const reasons = [];
  const hooks = { onSessionEnd: ({ reason }) => void reasons.push(reason) };
  const client = new Client({ sessionStore: "memory" });
  const disconnected = await client.createSession({ model: "test-model", provider: openai(server), hooks });
  // Kept alive: the client holds its sessions weakly, and stop() ends the live ones.
  const running = await client.createSession({ model: "test-model", provider: openai(server), hooks });
  await disconnected.disconnect();
  assert.deepEqual(reasons, ["user_exit"]);
  assert.deepEqual(await client.stop(), []);
  assert.deepEqual(reasons, ["user_exit", "complete"]);
  assert.ok(running.sessionId);
});

test("onErrorOccurred retry: the failed model call is made again", async (t) => {
  const inputs = [];
  const { server, session } = await hooksSession(t, {
    hooks: {
      onErrorOccurred: (input) => {
        inputs.push(input);
        return { errorHandling: "retry" };
      },
    },
  });
  assert.equal((await session.sendAndWait("Flaky once", T))?.data.content, "Recovered.");
  assert.equal(server.requests().length, 2);
  assert.equal(inputs.length, 1);
  assert.equal(inputs[0].errorContext, "model_call");
  assert.equal(inputs[0].recoverable, true);
  assert.match(inputs[0].error, /The server had an error while processing your request\./);
});

test("onErrorOccurred retry is capped at two retries per send", async (t) => {
  let asked = 0;
  const { server, session } = await hooksSession(t, {
    hooks: { onErrorOccurred: () => (asked++, { errorHandling: "retry" }) },
  });
  await assert.rejects(session.sendAndWait("Always broken", T), { code: "server", status: 500 });
  assert.equal(server.requests().length, 3);
  assert.equal(asked, 3);
});

test("maxErrorRetries sets that cap", async (t) => {
  let asked = 0;
  const { server, session } = await hooksSession(t, {
    hooks: { onErrorOccurred: () => (asked++, { errorHandling: "retry" }) },
    maxErrorRetries: 1,
  });
  await assert.rejects(session.sendAndWait("Always broken", T), { code: "server", status: 500 });
  assert.equal(server.requests().length, 2);
  assert.equal(asked, 2);
});

test("onErrorOccurred skip: the send ends without an answer and without an error", async (t) => {
  const { server, session, events } = await hooksSession(t, {
    hooks: { onErrorOccurred: () => ({ errorHandling: "skip" }) },
  });
  assert.equal(await session.sendAndWait("Always broken", T), undefined);
  assert.equal(server.requests().length, 1);
  assert.deepEqual(ofType(events, "session.error"), []);
  assert.equal(ofType(events, "session.idle").length, 1);
});

test("onErrorOccurred abort: the send fails with the provider's error", async (t) => {
  const { server, session } = await hooksSession(t, {
    hooks: { onErrorOccurred: () => ({ errorHandling: "abort" }) },
  });
  await assert.rejects(session.sendAndWait("Always broken", T), { code: "server", status: 500 });
  assert.equal(server.requests().length, 1);
});

test("onAgentStop block: the reason is the next user message on the wire", async (t) => {
  const answers = [];
  const { server, session } = await hooksSession(t, {
    hooks: {
      onAgentStop: ({ finalAnswer }) => {
        answers.push(finalAnswer);
        return finalAnswer === "First draft." ? { decision: "block", reason: "Cite a source." } : undefined;
      },
    },
  });
  assert.equal((await session.sendAndWait("Write a draft", T))?.data.content, "Final, with a source.");
  assert.deepEqual(answers, ["First draft.", "Final, with a source."]);
  assert.deepEqual(server.requests()[1].body.messages.at(-1), { role: "user", content: "Cite a source." });
});

test("a hook past hookTimeoutMs fails its tool call, not the session", async (t) => {
  const release = deferred();
  const { session, runs, events } = await hooksSession(t, {
    hooks: { onPreToolUse: () => release.promise },
    hookTimeoutMs: 300,
  });
  const started = performance.now();
  let reply;
  try {
    reply = await session.sendAndWait("Look up slow", 10_000);
  } finally {
    release.resolve();
  }
  const elapsed = performance.now() - started;
  assert.equal(reply?.data.content, "The check timed out.");
  assert.deepEqual(runs, []);
  const [end] = ofType(events, "hook.end");
  assert.equal(end.success, false);
  assert.equal(end.error.message, "the hook did not answer within 300 ms");
  assert.ok(elapsed >= 300 && elapsed < 5_000, `took ${elapsed} ms`);
});

test("hookTimeoutMs 0 and a wrong type are config errors naming the option", async (t) => {
  const server = await ReplayServer.start({ path: HOOKS });
  const client = new Client();
  t.after(async () => {
    await client.stop();
    await server.stop();
  });
  await assert.rejects(
    client.createSession({ model: "test-model", provider: openai(server), hookTimeoutMs: 0 }),
    (e) => e.code === "config" && /hookTimeoutMs/.test(e.message),
  );
  await assert.rejects(
    client.createSession({ model: "test-model", provider: openai(server), maxAgentStopBlocks: "two" }),
    (e) => e.code === "config" && /maxAgentStopBlocks/.test(e.message),
  );
});
