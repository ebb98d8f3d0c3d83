// Session hooks through the Node binding: JavaScript functions (sync and async) called by core with
// their input, their answers applied by core (a denied tool call, a modified prompt), a throwing hook
// failing its tool call but not the session, hook events.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Client, defineTool } from "modelport";
import { ReplayServer } from "modelport/testing";
import { openai } from "./helpers.mjs";

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
