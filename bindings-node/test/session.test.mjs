// Session API: send/queueing, setModel, resumeSession, options, entry points.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import * as esm from "modelport";
import { Client, CopilotClient, CopilotSession, approveAll, Session } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

let server;
before(async () => {
  server = await startReplay();
});
after(() => server.stop());

test("ESM and CommonJS entry points export the same objects", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("modelport");
  for (const name of ["Client", "CopilotClient", "defineTool", "approveAll", "ModelportError", "Session"]) {
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
