// Infinite sessions through the Node binding: a replay provider with a small context window (it
// answers a larger request with the wire format's context-length error), the compaction events seen
// by on() handlers, compact() on demand, and the error when compaction is off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, ModelportError } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

const WINDOW = 3000;
const ANSWER = `Noted. ${"More words here. ".repeat(6)}`;
const note = (i) => `Note ${i}: ${"please keep this detail in mind. ".repeat(12)}`;

/** A client and a replay server, stopped after the test. */
async function setUp(t, replayOptions) {
  const server = await startReplay(replayOptions);
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  return { server, client };
}

/**
 * Compactions open and close in turn, with only the summary call's usage between; every send ends
 * with session.idle before the next one starts.
 */
function checkOrder(types) {
  let compacting = false;
  let sending = false;
  for (const type of types) {
    if (type === "session.compaction_start") {
      assert.ok(!compacting, types.join(" "));
      compacting = true;
    } else if (type === "session.compaction_complete") {
      assert.ok(compacting, types.join(" "));
      compacting = false;
    } else if (compacting) {
      assert.equal(type, "assistant.usage", types.join(" "));
    } else if (type === "user.message") {
      assert.ok(!sending, types.join(" "));
      sending = true;
    } else if (type === "session.idle") {
      assert.ok(sending, types.join(" "));
      sending = false;
    }
  }
  assert.ok(!sending);
}

/** A background compaction may follow the last send. */
async function untilCompactionsEnd(events) {
  for (let i = 0; i < 300; i++) {
    const count = (type) => events.filter((e) => e.type === type).length;
    if (count("session.compaction_start") === count("session.compaction_complete")) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail("a compaction did not complete");
}

test("30 sends in a small window: compactions instead of errors", async (t) => {
  const { server, client } = await setUp(t, { fallback: ANSWER, contextWindow: WINDOW });
  const limit = Math.floor((WINDOW * 9) / 10);
  const session = await client.createSession({
    model: "node-model",
    provider: openai(server, { maxPromptTokens: limit }),
  });
  const events = [];
  session.on((e) => events.push(e));
  for (let i = 0; i < 30; i++) {
    const reply = await session.sendAndWait(note(i), 30_000);
    assert.equal(reply?.data.content, ANSWER);
  }
  await untilCompactionsEnd(events);

  checkOrder(events.map((e) => e.type));
  assert.deepEqual(events.filter((e) => e.type === "session.error"), []);
  const completes = events.filter((e) => e.type === "session.compaction_complete");
  assert.ok(completes.length >= 1);
  for (const { data } of completes) {
    assert.equal(data.success, true);
    assert.equal(data.error, undefined);
    assert.ok(data.messagesRemoved > 0);
    assert.ok(data.preCompactionTokens > data.postCompactionTokens, JSON.stringify(data));
  }
  const usage = events.filter((e) => e.type === "session.usage_info");
  assert.ok(usage.length >= 30);
  for (const e of usage) {
    assert.equal(e.ephemeral, true);
    assert.equal(e.data.tokenLimit, limit);
    assert.ok(e.data.currentTokens > 0 && e.data.messagesLength > 0);
  }
  // The compaction events are kept, usage_info (ephemeral) is not.
  const kept = session.getEvents().map((e) => e.type);
  assert.equal(kept.filter((type) => type === "session.compaction_complete").length, completes.length);
  assert.ok(!kept.includes("session.usage_info"));
  // No request outgrew the provider's window (its bytes / 4), so none was retried after an error.
  for (const r of server.requests()) assert.ok(JSON.stringify(r.body).length / 4 <= WINDOW);
  await session.disconnect();
});

test("compact() on demand, with its events seen by the handlers when it resolves", async (t) => {
  const { server, client } = await setUp(t, { fallback: ANSWER });
  const session = await client.createSession({ model: "node-model", provider: openai(server) });
  const events = [];
  session.on((e) => events.push(e));
  // Nothing to compact yet: a completion that says so.
  await session.compact();
  assert.deepEqual(
    events.map((e) => e.type),
    ["session.compaction_start", "session.compaction_complete"],
  );
  assert.equal(events[1].data.success, false);
  assert.equal(typeof events[1].data.error, "string");
  assert.equal(events[1].data.messagesRemoved, 0);

  for (let i = 0; i < 4; i++) await session.sendAndWait(note(i));
  const before = server.requestCount;
  await session.compact();
  assert.deepEqual(
    events.slice(-3).map((e) => e.type),
    ["session.compaction_start", "assistant.usage", "session.compaction_complete"],
  );
  const complete = events.at(-1).data;
  assert.equal(complete.success, true);
  assert.ok(complete.messagesRemoved > 0);
  // The summary call is one request; the next send carries the summary, not the oldest note.
  assert.equal(server.requestCount, before + 1);
  await session.sendAndWait(note(4));
  const last = JSON.stringify(server.requests().at(-1).body);
  assert.ok(last.includes("Summary of the earlier conversation"));
  assert.ok(!last.includes(note(0)));
  await session.disconnect();
});

test("infiniteSessions: {enabled: false} fails an overlong send with context_length", async (t) => {
  const { server, client } = await setUp(t, { fallback: "ok", contextWindow: 200 });
  const session = await client.createSession({
    model: "node-model",
    provider: openai(server),
    infiniteSessions: { enabled: false },
  });
  await assert.rejects(
    session.sendAndWait("word ".repeat(400)),
    (e) => e instanceof ModelportError && e.code === "context_length",
  );
  await session.disconnect();
});

test("infiniteSessions thresholds are checked", async (t) => {
  const { server, client } = await setUp(t, {});
  await assert.rejects(
    client.createSession({
      model: "node-model",
      provider: openai(server),
      infiniteSessions: { backgroundCompactionThreshold: 0.99, bufferExhaustionThreshold: 0.5 },
    }),
    (e) => e instanceof ModelportError && e.code === "config" && /backgroundCompactionThreshold/.test(e.message),
  );
});
