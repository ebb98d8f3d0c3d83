// Structured output through the Node binding: sendAndParse with a JSON schema or a zod schema (the
// schema reaches the request; core validates the answer and retries), and the invalid_output error
// with the raw answer when it does not fit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { Client } from "modelport";
import { ReplayServer } from "modelport/testing";
import { HOOKS, openai, startReplay } from "./helpers.mjs";

const T = 30_000;

async function setUp(t, fallback) {
  const server = await startReplay({ fallback });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  return { server, session };
}

test("a JSON schema: the parsed answer, and the schema in the request", async (t) => {
  const { server, session } = await setUp(t, '{"city": "Paris", "temperatureC": 22}');
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, temperatureC: { type: "integer" } },
    required: ["city", "temperatureC"],
  };
  const value = await session.sendAndParse({ prompt: "Weather in Paris as JSON", schema, name: "weather" }, T);
  assert.deepEqual(value, { city: "Paris", temperatureC: 22 });
  const sent = server.requests()[0].body.response_format;
  assert.equal(sent.type, "json_schema");
  assert.equal(sent.json_schema.name, "weather");
  assert.equal(sent.json_schema.strict, true);
});

test("an invalid answer, then a valid one: the retry tells the model what was wrong", async (t) => {
  // hooks.yaml answers '{"city": "Paris"}' first; the corrective retry gets the fallback.
  const server = await ReplayServer.start({ path: HOOKS, fallback: '{"city": "Paris", "temperature_c": 22}' });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  const schema = z.object({ city: z.string(), temperature_c: z.number().int() });
  const weather = await session.sendAndParse({ prompt: "Weather in Paris as JSON", schema }, T);
  assert.deepEqual(weather, { city: "Paris", temperature_c: 22 });
  const [first, retry] = server.requests();
  assert.equal(server.requests().length, 2);
  const [answered, told] = retry.body.messages.slice(-2);
  assert.deepEqual([answered.role, answered.content], ["assistant", '{"city": "Paris"}']);
  // The retry tells the model what was wrong, with the same schema.
  assert.equal(told.role, "user");
  assert.match(told.content, /^Your previous answer does not match the required JSON schema/);
  assert.match(told.content, /temperature_c/);
  assert.deepEqual(retry.body.response_format, first.body.response_format);
});

test("a zod schema", async (t) => {
  const { session } = await setUp(t, '{"city": "Paris"}');
  const weather = await session.sendAndParse({ prompt: "Weather in Paris as JSON", schema: z.object({ city: z.string() }) }, T);
  assert.deepEqual(weather, { city: "Paris" });
});

test("an invalid answer rejects with invalid_output and the raw answer", async (t) => {
  const { server, session } = await setUp(t, "not JSON at all");
  const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
  await assert.rejects(session.sendAndParse({ prompt: "Weather in Paris as JSON", schema }, T), (e) => {
    assert.equal(e.code, "invalid_output");
    assert.equal(e.rawOutput, "not JSON at all");
    assert.ok(e.validationErrors.length > 0);
    return true;
  });
  // One corrective retry.
  assert.equal(server.requests().length, 2);
});
