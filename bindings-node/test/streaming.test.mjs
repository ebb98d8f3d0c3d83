// Streaming: delta events through on() and the async iterator, in order, and the event loop stays free.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

const HAIKU = "Tokens drift like rain,\neach one a small falling word,\nthe sentence takes shape.";
let server;
before(async () => {
  server = await startReplay({ deltaChars: 3 });
});
after(() => server.stop());

test("on() sees message_start, every delta, then the message, in order", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server), streaming: true });
    const seen = [];
    session.on((e) => seen.push(e));
    await session.sendAndWait({ prompt: "Write a haiku about streaming tokens." });
    const types = seen.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ["user.message", "assistant.turn_start", "assistant.message_start"]);
    assert.deepEqual(types.slice(-4), ["assistant.message", "assistant.usage", "assistant.turn_end", "session.idle"]);
    const deltas = seen.filter((e) => e.type === "assistant.message_delta");
    assert.equal(deltas.length, Math.ceil(HAIKU.length / 3));
    assert.equal(deltas.map((e) => e.data.deltaContent).join(""), HAIKU);
    const start = seen.find((e) => e.type === "assistant.message_start");
    const message = seen.find((e) => e.type === "assistant.message");
    assert.ok(deltas.every((d) => d.data.messageId === start.data.messageId && d.ephemeral === true));
    assert.equal(message.data.messageId, start.data.messageId);
    assert.equal(message.data.content, HAIKU);
    assert.equal(message.ephemeral, undefined);
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i].parentId, seen[i - 1].id);
    const usage = seen.find((e) => e.type === "assistant.usage");
    assert.ok(usage.data.outputTokens > 0 && usage.data.timeToFirstTokenMs !== null);
  } finally {
    await client.stop();
  }
});

test("on() handlers get every delta of a fast stream (1-character deltas, no pause), in order", async () => {
  const fast = await startReplay({ deltaChars: 1 });
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(fast), streaming: true });
    let text = "";
    const order = [];
    const offs = [
      session.on("assistant.message_delta", (e) => (text += e.data.deltaContent)),
      session.on((e) => order.push(e.type)),
    ];
    const answer = await session.sendAndWait("Tell me a long story.");
    assert.equal(text, answer.data.content);
    assert.equal(order.filter((t) => t === "assistant.message_delta").length, answer.data.content.length);
    assert.equal(order.at(-1), "session.idle");
    // Removing every handler and adding one again keeps working, without duplicates.
    for (const off of offs) off();
    const again = [];
    session.on((e) => again.push(e.type));
    await session.sendAndWait("Tell me a long story.").catch(() => {});
    assert.equal(again.filter((t) => t === "user.message").length, 1);
    assert.equal(again.at(-1), "session.idle");
  } finally {
    await client.stop();
    await fast.stop();
  }
});

test("for await over session.events() yields the same sequence and ends on break", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server), streaming: true });
    const events = session.events();
    const done = session.sendAndWait({ prompt: "Write a haiku about streaming tokens." });
    const seen = [];
    for await (const e of events) {
      seen.push(e);
      if (e.type === "session.idle") break;
    }
    await done;
    assert.equal(events.skipped, 0);
    assert.equal(seen[0].type, "user.message");
    assert.equal(
      seen.filter((e) => e.type === "assistant.message_delta").map((e) => e.data.deltaContent).join(""),
      HAIKU,
    );
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i].parentId, seen[i - 1].id);
    assert.deepEqual(await events.next(), { done: true, value: undefined });
  } finally {
    await client.stop();
  }
});

test("an iterator ends when the client stops", async () => {
  const client = new Client();
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  const collected = (async () => {
    const types = [];
    for await (const e of session.events()) types.push(e.type);
    return types;
  })();
  await session.sendAndWait("What is 2+2?");
  await client.stop();
  const types = await collected;
  assert.ok(types.includes("assistant.message") && types.at(-1) === "session.idle", types.join());
});

test("getEvents() keeps the persisted events only; non-streaming sends no deltas", async () => {
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    const all = [];
    session.on((e) => all.push(e.type));
    await session.sendAndWait("What is 2+2?");
    assert.ok(!all.some((t) => t.endsWith("_delta") || t === "assistant.message_start"), all.join());
    const persisted = session.getEvents();
    assert.deepEqual(
      persisted.map((e) => e.type),
      ["session.start", "user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end"],
    );
    assert.equal(persisted[0].data.sessionId, session.sessionId);
  } finally {
    await client.stop();
  }
});

test("the event loop keeps running while a slow stream is delivered", async () => {
  const slow = await startReplay({ deltaChars: 4, chunkDelayMs: 5 });
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(slow), streaming: true });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let deltas = 0;
    session.on("assistant.message_delta", () => deltas++);
    await session.sendAndWait("Write a haiku about streaming tokens.");
    clearInterval(timer);
    assert.ok(deltas > 10);
    assert.ok(ticks >= 5, `timers ran ${ticks} times during the send`);
  } finally {
    await client.stop();
    await slow.stop();
  }
});

test("handlers removed with the returned function stop receiving; a throwing handler is reported, not fatal", async () => {
  const client = new Client();
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server) });
    let calls = 0;
    const off = session.on("assistant.message", () => calls++);
    session.on("assistant.message", () => {
      throw new Error("handler bug");
    });
    assert.equal((await session.sendAndWait("My name is Ada.")).data.content, "Nice to meet you, Ada.");
    off();
    assert.equal((await session.sendAndWait("What is my name?")).data.content, "Your name is Ada.");
    assert.equal(calls, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => w.code === "MODELPORT_HANDLER_ERROR" && /handler bug/.test(w.message)));
  } finally {
    process.off("warning", onWarning);
    await client.stop();
  }
});
