// Abort: in the middle of a stream (the connection is closed) and during a tool (interrupted result),
// then the session goes on from a valid history.
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
