// Every permission decision kind through the Node binding (core decides what each means; the
// JavaScript handler only answers), against tests/fixtures/replay/hooks.yaml: each stored tool message
// is the text core sends the model for that decision, so a wrong one gets the replay's 500 instead of
// the answer. Each question emits permission.requested and permission.completed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { approveAll } from "modelport";
import { hooksSession, ofType, toolMessages } from "./helpers.mjs";

const T = 30_000;

/** [permissionRequest, result kind] per question, each completion paired with its request. */
function decisions(events) {
  const requested = new Map();
  const out = [];
  for (const e of events) {
    if (e.type === "permission.requested") requested.set(e.data.requestId, e.data.permissionRequest);
    if (e.type === "permission.completed") {
      assert.ok(requested.has(e.data.requestId), "a permission.completed without its request");
      out.push([requested.get(e.data.requestId), e.data.result.kind]);
      requested.delete(e.data.requestId);
    }
  }
  assert.equal(requested.size, 0, "a permission.requested without its permission.completed");
  return out;
}

const kinds = (events) => decisions(events).map(([, kind]) => kind);
const completionCodes = (events) => ofType(events, "tool.execution_complete").map((c) => c.error?.code ?? null);

test("approve-once: the tool runs", async (t) => {
  const asked = [];
  const { server, session, runs, events } = await hooksSession(t, {
    onPermissionRequest: (request, invocation) => {
      asked.push([request, invocation]);
      return { kind: "approve-once" };
    },
  });
  const reply = await session.sendAndWait("Look up a", T);
  assert.equal(reply?.data.content, "a is value-of-a.");
  assert.deepEqual(runs, ["a"]);
  assert.equal(asked.length, 1);
  assert.equal(asked[0][0].toolName, "lookup");
  assert.deepEqual(asked[0][0].arguments, { key: "a" });
  assert.equal(asked[0][1].sessionId, session.sessionId);
  const [[request, kind]] = decisions(events);
  assert.equal(kind, "approve-once");
  assert.equal(request.toolName, "lookup");
  assert.deepEqual(request.arguments, { key: "a" });
  assert.equal(server.requests().length, 2);
});

test("approve-for-session: asked once for every call of the tool, in this send and the next", async (t) => {
  const asked = [];
  const { session, runs, events } = await hooksSession(t, {
    onPermissionRequest: async (request) => {
      asked.push(request.arguments.key);
      return { kind: "approve-for-session" };
    },
  });
  assert.equal((await session.sendAndWait("Look up b, then c", T))?.data.content, "b and c looked up.");
  assert.equal((await session.sendAndWait("Now d", T))?.data.content, "d is value-of-d.");
  assert.deepEqual(runs, ["b", "c", "d"]);
  assert.deepEqual(asked, ["b"]);
  assert.deepEqual(kinds(events), ["approve-for-session"]);
});

test("reject with feedback (denied-interactively-by-user): the turn ends; the model reads it next send", async (t) => {
  const { server, session, runs, events } = await hooksSession(t, {
    onPermissionRequest: () => ({ kind: "denied-interactively-by-user", feedback: "not now" }),
  });
  const reply = await session.sendAndWait("Look up e", T);
  // The last assistant.message is the one that asked for the tool.
  assert.deepEqual(
    reply?.data.toolRequests?.map((r) => r.name),
    ["lookup"],
  );
  assert.deepEqual(runs, []);
  assert.equal(server.requests().length, 1);
  assert.deepEqual(completionCodes(events), ["denied"]);
  assert.deepEqual(kinds(events), ["reject"]);
  assert.equal((await session.sendAndWait("Why not?", T))?.data.content, "You said not now.");
  assert.deepEqual(toolMessages(server, 1), ["The user rejected this tool call. Feedback: not now"]);
});

for (const [kind, prompt, answer] of [
  ["user-not-available", "Look up f", "Nobody could approve looking f up."],
  ["no-result", "Look up g", "Looking g up was not decided."],
]) {
  test(`${kind}: the call is denied and the loop goes on`, async (t) => {
    const { server, session, runs, events } = await hooksSession(t, { onPermissionRequest: () => ({ kind }) });
    // The model was called again with the denial (the fixture holds its text) and answered.
    assert.equal((await session.sendAndWait(prompt, T))?.data.content, answer);
    assert.deepEqual(runs, []);
    assert.equal(server.requests().length, 2);
    assert.deepEqual(completionCodes(events), ["denied"]);
    assert.deepEqual(kinds(events), [kind]);
  });
}

test("approveAll: approved in Rust, still reported by the permission events", async (t) => {
  const { session, runs, events } = await hooksSession(t, { onPermissionRequest: approveAll });
  assert.equal((await session.sendAndWait("Look up a", T))?.data.content, "a is value-of-a.");
  assert.deepEqual(runs, ["a"]);
  assert.deepEqual(kinds(events), ["approve-once"]);
});
