// Model controls and the answer's shape through the Node binding: the session options and the send
// options reach the provider's request as the wire format spells them (core maps them; the binding
// only passes them on).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

const ANSWER = '{"ok":true}';
const T = 30_000;

/** A client and a replay server answering JSON, stopped after the test. */
async function setUp(t) {
  const server = await startReplay({ fallback: ANSWER });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  return { server, client };
}

test("session model controls reach the request", async (t) => {
  const { server, client } = await setUp(t);
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server),
    temperature: 0.25,
    topP: 0.5,
    seed: 7,
    stop: ["END"],
    maxOutputTokens: 99,
    extraBody: { custom_field: { nested: 1 } },
  });
  await session.sendAndWait("Anything", T);
  const [request] = server.requests();
  assert.equal(request.body.temperature, 0.25);
  assert.equal(request.body.top_p, 0.5);
  assert.equal(request.body.seed, 7);
  assert.deepEqual(request.body.stop, ["END"]);
  assert.equal(request.body.max_completion_tokens, 99);
  assert.deepEqual(request.body.custom_field, { nested: 1 });
});

test("send options override the session's", async (t) => {
  const { server, client } = await setUp(t);
  const session = await client.createSession({ model: "test-model", provider: openai(server), temperature: 0.25 });
  await session.sendAndWait({ prompt: "Anything", temperature: 0.75, extraBody: { user: "u1" } }, T);
  const { body } = server.requests()[0];
  assert.equal(body.temperature, 0.75);
  assert.equal(body.user, "u1");
});

test("a json_object responseFormat reaches the request", async (t) => {
  const { server, client } = await setUp(t);
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server),
    responseFormat: { type: "json_object" },
  });
  const reply = await session.sendAndWait("Anything as JSON", T);
  assert.deepEqual(JSON.parse(reply.data.content), { ok: true });
  assert.deepEqual(server.requests()[0].body.response_format, { type: "json_object" });
});
