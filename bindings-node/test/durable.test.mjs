// Durable sessions through the Node binding: a session continues in another process after its process
// exited without stop() or was killed, the lease between processes, listing, metadata, deletion and
// the typed errors. Every test runs on a SQLite file and on PostgreSQL (MODELPORT_TEST_PG_URL;
// required under CI=true, skipped elsewhere when unset).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Client, ModelportError } from "modelport";
import { ReplayServer } from "modelport/testing";

const CHILD = fileURLToPath(new URL("./child/durable.mjs", import.meta.url));
// The child's key too: it must never reach the store.
const KEY = "sk-durable-NEVER-STORED-js-9b2d";
const ANSWER = "Noted, and remembered.";
const SEND = ["user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end"];
const PG = process.env.MODELPORT_TEST_PG_URL;

/** A fresh directory, removed after the test. */
function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), "modelport-node-durable-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Defines `name` once per store: a SQLite file of the test, and the throwaway PostgreSQL cluster
 * (skipped with a message when MODELPORT_TEST_PG_URL is unset, failed under CI=true).
 */
function storeTest(name, fn) {
  test(`${name} (sqlite)`, async (t) => fn(`sqlite://${join(tempDir(t), "sessions.db")}`, t));
  const skip = !PG && process.env.CI !== "true" && "PostgreSQL: MODELPORT_TEST_PG_URL is not set (start a cluster with scripts/pg-cluster.sh start DIR and export its URL)";
  test(`${name} (postgres)`, { skip }, async (t) => {
    assert.ok(PG, "MODELPORT_TEST_PG_URL is not set and CI=true requires the PostgreSQL tests (make test starts a cluster with scripts/with-pg.sh)");
    await fn(PG, t);
  });
}

/** A replay server answering every prompt with ANSWER, stopped after the test. */
async function server(t) {
  const s = await ReplayServer.start({ yaml: [], fallback: ANSWER });
  t.after(() => s.stop());
  return s;
}

const newId = (tag) => `js-${tag}-${randomUUID().slice(0, 12)}`;
const config = (s) => ({ model: "durable-model", provider: { type: "openai", baseUrl: s.openaiUrl, apiKey: KEY } });
const types = (events) => events.map((e) => e.type);
const code = (expected) => (e) => e instanceof ModelportError && e.code === expected && e.errorType === "session";

/** The body of the last request that carried `prompt`. */
function requestWith(s, prompt) {
  const body = s
    .requests()
    .map((r) => JSON.stringify(r.body))
    .findLast((b) => b.includes(prompt));
  assert.ok(body, `no request carried ${prompt}`);
  return body;
}

/** A durable.mjs child process. */
function child(store, s, ...args) {
  const proc = spawn(process.execPath, [CHILD, store, s.openaiUrl, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  const killer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  exited.then(() => clearTimeout(killer));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    proc,
    exited,
    async expect(line) {
      const { value } = await lines.next();
      if (value !== line) {
        await exited;
        assert.fail(`expected ${line}, got ${value}: ${stderr}`);
      }
    },
    tell: () => proc.stdin.write("go\n"),
  };
}

for (const how of ["exit", "SIGKILL"]) {
  storeTest(`a session continues in another process after ${how}`, async (store, t) => {
    const s = await server(t);
    const sid = newId(how);
    const c = child(store, s, sid, how === "exit" ? "send" : "hang", `alpha ${sid}`);
    await c.expect("sent");
    if (how === "SIGKILL") c.proc.kill("SIGKILL");
    const ended = await c.exited;
    assert.deepEqual(ended, how === "exit" ? { code: 0, signal: null } : { code: null, signal: "SIGKILL" });

    // The dead holder's lease is taken at once (same machine, process gone).
    const client = new Client({ sessionStore: store });
    const session = await client.resumeSession(sid, config(s));
    const events = await session.getMessages();
    assert.deepEqual(types(events), ["session.start", ...SEND, "session.resume"]);
    assert.equal(events[1].data.content, `alpha ${sid}`);
    assert.equal(events[3].data.content, ANSWER);
    const resume = events.at(-1);
    assert.equal(resume.data.eventCount, 5);
    assert.match(resume.data.resumeTime, /^\d{4}-\d\d-\d\dT.*Z$/);

    const reply = await session.sendAndWait(`beta ${sid}`, 30_000);
    assert.equal(reply.data.content, ANSWER);
    const body = requestWith(s, `beta ${sid}`);
    assert.ok(body.includes(`alpha ${sid}`) && body.includes(ANSWER), body);
    assert.deepEqual(types(session.getEvents()), ["session.start", ...SEND, "session.resume", ...SEND]);
    assert.deepEqual(await client.stop(), []);
  });
}

storeTest("a held session is busy for another process; waiting gets it once released", async (store, t) => {
  const s = await server(t);
  const sid = newId("lease");
  const first = new Client({ sessionStore: store });
  const session = await first.createSession({ ...config(s), sessionId: sid });
  await session.sendAndWait("one", 30_000);
  await session.disconnect();

  const holder = child(store, s, sid, "hold");
  await holder.expect("holding");
  const busy = new Client({ sessionStore: store });
  await assert.rejects(busy.resumeSession(sid, config(s)), code("session_busy"));
  await assert.rejects(busy.deleteSession(sid), code("session_busy"));

  const waiting = new Client({ sessionStore: store, sessionLease: { waitMs: 30_000 } });
  let done = false;
  const resume = waiting.resumeSession(sid, config(s)).finally(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(done, false, "resumeSession waits while the child holds the session");
  holder.tell();
  await holder.expect("released");
  const resumed = await resume;
  assert.deepEqual(await holder.exited, { code: 0, signal: null });
  assert.deepEqual(types(await resumed.getMessages()), ["session.start", ...SEND, "session.resume", "session.resume"]);
  for (const c of [first, busy, waiting]) assert.deepEqual(await c.stop(), []);
});

storeTest("listSessions, getSessionMetadata, getLastSessionId, deleteSession and the typed errors", async (store, t) => {
  const s = await server(t);
  const client = new Client({ sessionStore: store });
  const [first, second] = [newId("first"), newId("second")];
  for (const sid of [first, second]) {
    const session = await client.createSession({ ...config(s), sessionId: sid });
    await session.sendAndWait(`Summarise ${sid}\nplease`, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const listed = await client.listSessions();
  const ids = listed.map((m) => m.sessionId);
  assert.ok(ids.indexOf(second) < ids.indexOf(first), "newest first");
  const meta = await client.getSessionMetadata(second);
  assert.deepEqual(meta, listed[ids.indexOf(second)]);
  assert.equal(meta.summary, `Summarise ${second} please`);
  assert.equal(meta.model, "durable-model");
  assert.ok(meta.startTime <= meta.modifiedTime);
  assert.deepEqual(Object.keys(meta).sort(), ["model", "modifiedTime", "sessionId", "startTime", "summary"]);
  // PostgreSQL's database is shared with other suites; the SQLite file is this test's.
  if (store.startsWith("sqlite")) assert.equal(await client.getLastSessionId(), second);
  assert.equal(await client.getSessionMetadata("no-such-session"), undefined);

  await assert.rejects(client.createSession({ ...config(s), sessionId: first }), code("session_exists"));
  await assert.rejects(client.resumeSession("no-such-session", config(s)), code("session_not_found"));

  // Resuming a live session of this client takes it over; suppressResumeEvent hides the event.
  const quiet = await client.resumeSession(second, { ...config(s), suppressResumeEvent: true });
  assert.deepEqual(types(quiet.getEvents()), ["session.start", ...SEND]);
  const loud = await client.resumeSession(second, config(s));
  assert.deepEqual(types(loud.getEvents()), ["session.start", ...SEND, "session.resume"]);

  assert.equal(await client.deleteSession(first), true);
  assert.equal(await client.getSessionMetadata(first), undefined);
  assert.equal(await client.deleteSession(first), false);
  assert.ok(!(await client.listSessions()).some((m) => m.sessionId === first));
  assert.deepEqual(await client.stop(), []);
});

test("the API key never reaches the SQLite files", async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const client = new Client({ sessionStore: `sqlite://${join(dir, "sessions.db")}` });
  const sid = newId("secret");
  let session = await client.createSession({ ...config(s), sessionId: sid });
  await session.sendAndWait("remember this", 30_000);
  assert.equal(s.requests().at(-1).headers.authorization, `Bearer ${KEY}`);
  await session.disconnect();
  session = await client.resumeSession(sid, config(s));
  await session.sendAndWait("and this", 30_000);

  const scan = () => {
    const files = readdirSync(dir).sort();
    assert.ok(files.includes("sessions.db"), files.join());
    for (const f of files) {
      assert.ok(!readFileSync(join(dir, f)).includes(KEY), `the API key was written to ${f}`);
    }
    return files;
  };
  assert.ok(scan().includes("sessions.db-wal"), "scanned while the client runs, with its write-ahead log");
  assert.deepEqual(await client.stop(), []);
  scan();
});

test("a memory store is the client's own; a bad store URL or lease is a config error", async (t) => {
  const s = await server(t);
  const client = new Client({ sessionStore: "memory" });
  const sid = newId("memory");
  const session = await client.createSession({ ...config(s), sessionId: sid });
  await session.sendAndWait("hello", 30_000);
  await session.disconnect();
  const resumed = await client.resumeSession(sid, config(s));
  assert.deepEqual(types(await resumed.getMessages()), ["session.start", ...SEND, "session.resume"]);
  assert.deepEqual((await client.listSessions()).map((m) => m.sessionId), [sid]);
  assert.deepEqual(await client.stop(), []);
  const other = new Client({ sessionStore: "memory" });
  assert.deepEqual(await other.listSessions(), []);
  assert.equal(await other.getLastSessionId(), undefined);
  await other.stop();

  assert.throws(() => new Client({ sessionStore: "mysql://localhost/db" }), (e) => e.code === "config" && /sessionStore/.test(e.message));
  assert.throws(() => new Client({ sessionLease: { ttl: 5 } }), (e) => e.code === "config" && /sessionLease/.test(e.message));
});
