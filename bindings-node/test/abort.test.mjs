// Abort: in the middle of a stream (the connection is closed) and during a tool (interrupted result),
// then the session goes on from a valid history; the same through an AbortSignal on sendAndWait and
// send (an already aborted one sends nothing; one of a queued send aborts that send, not the running
// one; one of an ended send aborts nothing).
import { getEventListeners } from "node:events";
import assert from "node:assert/strict";
import { test } from "node:test";
import { AbortError, Client, defineTool, ModelportError } from "modelport";
import { deferred, openai, startReplay } from "./helpers.mjs";

test("abort() in the middle of a stream: cancelled, connection closed, idle {aborted: true}", async () => {
  const server = await startReplay({ deltaChars: 4, chunkDelayMs: 10 });
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server), streaming: true });
    const events = [];
    const firstDelta = deferred();
    session.on((e) => {
      events.push(e);
      if (e.type === "assistant.message_delta") firstDelta.resolve();
    });
    const waiting = session.sendAndWait("Tell me a long story.");
    const rejected = assert.rejects(waiting, (e) => e instanceof AbortError && e.name === "AbortError" && e.code === "cancelled");
    await firstDelta.promise;
    await session.abort();
    await rejected;
    await server.waitDisconnects(1);
    assert.equal(server.completedStreams, 0);
    const types = events.map((e) => e.type);
    assert.ok(types.includes("abort"), types.join());
    assert.equal(events.find((e) => e.type === "abort").data.reason, "user_initiated");
    assert.equal(events.at(-1).type, "session.idle");
    assert.equal(events.at(-1).data.aborted, true);
    assert.ok(!types.includes("assistant.message"), "the partial answer is dropped");
    // abort() when nothing runs is harmless.
    await session.abort();
  } finally {
    await client.stop();
    await server.stop();
  }
});

test("abort() during a tool: the call is interrupted, the next send continues the conversation", async () => {
  const server = await startReplay();
  const client = new Client();
  try {
    const running = deferred();
    const slowTool = defineTool("slow_tool", {
      description: "Takes forever",
      handler: () => {
        running.resolve();
        return new Promise(() => {});
      },
    });
    const session = await client.createSession({ model: "test-model", provider: openai(server), tools: [slowTool] });
    const completes = [];
    session.on("tool.execution_complete", (e) => completes.push(e.data));
    const waiting = assert.rejects(session.sendAndWait("Run the slow tool."), (e) => e.code === "cancelled");
    await running.promise;
    await session.abort();
    await waiting;
    assert.equal(completes.length, 1);
    assert.equal(completes[0].success, false);
    assert.equal(completes[0].error.code, "interrupted");
    const answer = await session.sendAndWait("Are you still there?");
    assert.equal(answer.data.content, "Yes, still here.");
    const toolMessage = server.requests().at(-1).body.messages.find((m) => m.role === "tool");
    assert.equal(toolMessage.content, "The execution of this tool, or a previous tool was interrupted.");
  } finally {
    await client.stop();
    await server.stop();
  }
});

test("client.stop() during a send rejects it with cancelled", async () => {
  const server = await startReplay({ deltaChars: 2, chunkDelayMs: 10 });
  const client = new Client();
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server), streaming: true });
    const started = deferred();
    session.on("assistant.message_delta", () => started.resolve());
    const waiting = assert.rejects(session.sendAndWait("Tell me a long story."), (e) => e.code === "cancelled");
    await started.promise;
    assert.deepEqual(await client.stop(), []);
    await waiting;
    await assert.rejects(session.send("What is 2+2?"), (e) => e instanceof ModelportError);
    await assert.rejects(client.createSession({ model: "m", provider: openai(server) }), (e) => e.code === "config");
  } finally {
    await server.stop();
  }
});

/** The answer to a prompt no conversation has: long enough to stream in many deltas. */
const FALLBACK = "Understood; this answer is long enough to arrive in many small deltas.";

/** A streaming session on a slow replay server (4 characters every 10 ms), stopped after the test. */
async function slowSession(t) {
  const server = await startReplay({ deltaChars: 4, chunkDelayMs: 10, fallback: FALLBACK });
  const client = new Client();
  t.after(async () => {
    await client.stop();
    await server.stop();
  });
  const session = await client.createSession({ model: "test-model", provider: openai(server), streaming: true });
  const events = [];
  session.on((e) => events.push(e));
  return { server, session, events };
}

/** Resolves at the first event of `type` whose data passes `test`. */
function nextEvent(session, type, test = () => true) {
  return new Promise((resolve) => {
    const off = session.on(type, (e) => {
      if (!test(e.data)) return;
      off();
      resolve(e);
    });
  });
}

test("an AbortSignal aborts sendAndWait in the middle of a stream: AbortError with the reason", async (t) => {
  const { server, session, events } = await slowSession(t);
  const controller = new AbortController();
  const reason = new Error("the user left");
  const waiting = session.sendAndWait({ prompt: "Tell me a long story.", signal: controller.signal });
  const rejected = assert.rejects(waiting, (e) => {
    assert.ok(e instanceof AbortError && e instanceof ModelportError, String(e));
    assert.equal(e.name, "AbortError");
    assert.equal(e.code, "cancelled");
    assert.equal(e.cause, reason);
    return true;
  });
  await nextEvent(session, "assistant.message_delta");
  controller.abort(reason);
  await rejected;
  await server.waitDisconnects(1);
  assert.equal(server.completedStreams, 0);
  assert.equal(events.find((e) => e.type === "abort")?.data.reason, "user_initiated");
  assert.equal(events.at(-1).type, "session.idle");
  assert.equal(events.at(-1).data.aborted, true);
  // The session goes on; the ended send's signal no longer matters.
  const answer = await session.sendAndWait({ prompt: "What is 2+2?", signal: controller.signal }).catch((e) => e);
  assert.ok(answer instanceof AbortError, "an aborted signal rejects the next send at once");
  const fresh = await session.sendAndWait({ prompt: "What is 2+2?", signal: new AbortController().signal });
  assert.equal(fresh.data.content, FALLBACK);
});

test("an already aborted signal rejects at once and sends nothing", async (t) => {
  const { server, session, events } = await slowSession(t);
  const reason = new Error("too late");
  for (const call of [
    (signal) => session.sendAndWait({ prompt: "What is 2+2?", signal }),
    (signal) => session.send({ prompt: "What is 2+2?", signal }),
    (signal) => session.sendAndParse({ prompt: "What is 2+2?", schema: { type: "object" }, signal }),
  ]) {
    const started = performance.now();
    await assert.rejects(call(AbortSignal.abort(reason)), (e) => {
      assert.ok(e instanceof AbortError, String(e));
      assert.equal(e.code, "cancelled");
      assert.equal(e.cause, reason);
      return true;
    });
    assert.ok(performance.now() - started < 50, "rejected at once");
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(server.requestCount, 0);
  assert.deepEqual(events, []);
  await assert.rejects(session.send({ prompt: "x", signal: "stop" }), (e) => e.code === "config" && /AbortSignal/.test(e.message));
});

test("an AbortSignal on send() aborts that send while it runs, and nothing after it ended", async (t) => {
  const { server, session, events } = await slowSession(t);
  // Aborted in the middle of its stream.
  const controller = new AbortController();
  const id = await session.send({ prompt: "Tell me a long story.", signal: controller.signal });
  assert.equal(typeof id, "string");
  await nextEvent(session, "assistant.message_delta");
  const idle = nextEvent(session, "session.idle");
  controller.abort();
  assert.equal((await idle).data.aborted, true);
  assert.ok(events.some((e) => e.type === "abort"));
  assert.equal(server.completedStreams, 0);

  // A signal of a send that has ended does not abort the next send.
  const ended = new AbortController();
  await session.send({ prompt: "What is 2+2?", signal: ended.signal });
  await nextEvent(session, "session.idle");
  await new Promise((resolve) => setTimeout(resolve, 20));
  const next = session.sendAndWait("Go on.");
  await nextEvent(session, "assistant.message_delta");
  ended.abort();
  assert.equal((await next).data.content, FALLBACK);
});

test("aborting the signal of a queued send aborts that send when it starts, not the running one", async (t) => {
  const { session, events } = await slowSession(t);
  const running = session.sendAndWait("Tell me a long story.");
  const queued = new AbortController();
  const queuedId = await session.send({ prompt: "What is 2+2?", signal: queued.signal });
  await nextEvent(session, "assistant.message_delta");
  // Listening before the running send ends: the queued send, aborted before its model call, may
  // reach its idle before `await running` below returns.
  const abortedIdle = nextEvent(session, "session.idle", (d) => d.aborted === true);
  queued.abort();
  // The running send completes with its whole answer.
  const answer = await running;
  assert.match(answer.data.content, /.{40,}/s);
  // The queued one starts, then is aborted.
  const idle = await abortedIdle;
  assert.equal(idle.data.aborted, true);
  const users = events.filter((e) => e.type === "user.message");
  assert.equal(users.at(-1).id, queuedId);
  assert.equal(events.filter((e) => e.type === "abort").length, 1);
  assert.ok(!events.some((e) => e.type === "assistant.message" && e.data.content === FALLBACK));
});

test("aborting the signal of a queued sendAndWait rejects it at once and aborts that send, not the running one", async (t) => {
  const { server, session, events } = await slowSession(t);
  let runningDone = false;
  const running = session.sendAndWait("Tell me a long story.").finally(() => (runningDone = true));
  await nextEvent(session, "assistant.message_delta");
  const queued = new AbortController();
  const reason = new Error("changed my mind");
  const waiting = session.sendAndWait({ prompt: "What is 2+2?", signal: queued.signal });
  queued.abort(reason);
  // Rejected at once, while the send before it still streams.
  await assert.rejects(waiting, (e) => {
    assert.ok(e instanceof AbortError, String(e));
    assert.equal(e.cause, reason);
    return true;
  });
  assert.equal(runningDone, false, "the running send goes on");
  // The running send completes with its whole answer.
  const answer = await running;
  assert.match(answer.data.content, /.{40,}/s);
  // Then the queued one starts and ends aborted, without reaching the model.
  for (let i = 0; i < 500 && !(events.at(-1)?.type === "session.idle" && events.at(-1).data.aborted); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(events.at(-1).type, "session.idle");
  assert.equal(events.at(-1).data.aborted, true);
  assert.equal(events.filter((e) => e.type === "abort").length, 1);
  assert.equal(server.requestCount, 1, "one model call: the running send's");
});

test("a signal shared by many sends keeps no listener once they have ended", async (t) => {
  const { session } = await slowSession(t);
  const controller = new AbortController();
  for (let i = 0; i < 3; i++) {
    const idle = nextEvent(session, "session.idle");
    await session.send({ prompt: "What is 2+2?", signal: controller.signal });
    await idle;
  }
  await session.sendAndWait({ prompt: "What is 2+2?", signal: controller.signal });
  for (let i = 0; i < 100 && getEventListeners(controller.signal, "abort").length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
});
