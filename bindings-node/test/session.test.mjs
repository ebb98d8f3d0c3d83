// Session API: send/queueing, setModel, resumeSession, options, entry points, on() names checked by
// core, Symbol.asyncDispose.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import * as esm from "modelport";
import { Client, ConfigError, CopilotClient, CopilotSession, approveAll, Session } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

let server;
before(async () => {
  server = await startReplay();
});
after(() => server.stop());

test("ESM and CommonJS entry points export the same objects", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("modelport");
  for (const name of ["Client", "CopilotClient", "defineTool", "approveAll", "ModelportError", "Session", "setLogHandler", "providerFromEnv"]) {
    assert.equal(esm[name], cjs[name], name);
  }
  assert.equal(CopilotClient, Client);
  assert.equal(CopilotSession, Session);
  assert.deepEqual(approveAll({ kind: "custom-tool" }), { kind: "approved" });
  assert.equal(require("modelport/testing").ReplayServer.name, "ReplayServer");
});

test("send() returns the user.message id and queues behind a running send", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    const messages = [];
    const idle = new Promise((resolve) => {
      session.on("session.idle", () => messages.length === 2 && resolve());
    });
    session.on("assistant.message", (e) => messages.push(e.data.content));
    const first = await session.send({ prompt: "My name is Ada." });
    const second = await session.send("What is my name?");
    await idle;
    assert.deepEqual(messages, ["Nice to meet you, Ada.", "Your name is Ada."]);
    const users = session.getEvents().filter((e) => e.type === "user.message");
    assert.deepEqual(users.map((e) => e.id), [first, second]);
  } finally {
    await client.stop();
  }
});

test("on() with a name that is no event type throws a ConfigError listing the valid names", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    assert.throws(
      () => session.on("assistant.mesage", () => {}),
      (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.code, "config");
        assert.match(e.message, /did you mean assistant\.message\b/);
        assert.match(e.message, /session\.idle/);
        assert.match(e.message, /"\*" subscribes to all/);
        return true;
      },
    );
    assert.throws(() => session.on("idle", () => {}), ConfigError);
    // modelport's names, the Copilot SDK's others, "*" and the handler-only form are accepted.
    const offs = [
      session.on("assistant.message", () => {}),
      session.on("subagent.started", () => {}),
      session.on("*", () => {}),
      session.on(() => {}),
    ];
    for (const off of offs) off();
    // The refused calls registered nothing: the session still answers, and only the real handler runs.
    const seen = [];
    session.on("assistant.message", (e) => seen.push(e.data.content));
    await session.sendAndWait("What is 2+2?");
    assert.deepEqual(seen, ["2 + 2 = 4."]);
  } finally {
    await client.stop();
  }
});

test("Symbol.asyncDispose: a session disconnects, a client stops (await using)", async () => {
  const client = new Client();
  const other = await client.createSession({ model: "test-model", provider: openai(server) });
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  assert.equal(typeof Session.prototype[Symbol.asyncDispose], "function");
  await session[Symbol.asyncDispose]();
  await assert.rejects(session.send("What is 2+2?"), (e) => e.code === "config" && /disconnected/.test(e.message));
  assert.equal((await other.sendAndWait("What is 2+2?")).data.content, "2 + 2 = 4.");
  await client[Symbol.asyncDispose]();
  await assert.rejects(other.send("What is 2+2?"), (e) => e.code === "config" || e.code === "cancelled");
  await assert.rejects(client.createSession({ model: "m", provider: openai(server) }), (e) => e.code === "config");
});

test("setModel() changes the model of the next calls", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    assert.equal(session.model, "test-model");
    await session.setModel("test-model-2");
    assert.equal(session.model, "test-model-2");
    const answer = await session.sendAndWait("What is 2+2?");
    assert.equal(server.requests().at(-1).body.model, "test-model-2");
    assert.equal(answer.data.model, "test-model-2");
    await assert.rejects(session.setModel(" "), (e) => e.code === "config");
  } finally {
    await client.stop();
  }
});

test("a disconnected session resumes with its history; systemMessage, sessionId and requestHeaders", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({
      sessionId: "ada-session",
      model: "test-model",
      provider: openai(server),
      systemMessage: { mode: "replace", content: "You are terse." },
    });
    assert.equal(session.sessionId, "ada-session");
    await session.sendAndWait({ prompt: "My name is Ada.", requestHeaders: { "x-trace": "t-1" } });
    const request = server.requests().at(-1);
    assert.equal(request.headers["x-trace"], "t-1");
    assert.deepEqual(request.body.messages[0], { role: "system", content: "You are terse." });
    await session.disconnect();
    await assert.rejects(session.send("What is my name?"), (e) => e.code === "config");
    const resumed = await client.resumeSession("ada-session", { provider: openai(server) });
    const answer = await resumed.sendAndWait("What is my name?");
    assert.equal(answer.data.content, "Your name is Ada.");
    assert.equal(resumed.getEvents().filter((e) => e.type === "user.message").length, 2);
  } finally {
    await client.stop();
  }
});

test("image attachments reach the provider", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    await session.sendAndWait({ prompt: "What is 2+2?", attachments: [{ type: "blob", data: png, mimeType: "image/png" }] });
    const user = server.requests().at(-1).body.messages.find((m) => m.role === "user");
    assert.match(JSON.stringify(user.content), /data:image\/png;base64,iVBOR/);
    assert.deepEqual(session.getEvents().find((e) => e.type === "user.message").data.attachments[0].mimeType, "image/png");
  } finally {
    await client.stop();
  }
});
