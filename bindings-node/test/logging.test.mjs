// Logs: setLogHandler(fn, level) receives core's records (modelport::logging) from the runtime's
// threads on the event loop, at the level asked, until it is removed; MODELPORT_LOG=debug writes
// them to stderr (a child process: the sink is process-wide); a handler never keeps the process alive.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { Client, ConfigError, setLogHandler } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

after(() => setLogHandler(null));

/** One "What is 2+2?" send against a replay server answering 500 (one retry), rejected. */
async function failedSend() {
  const server = await startReplay({ errors: "server_error" });
  const client = new Client({ retry: { maxRetries: 1, initialBackoffMs: 5 } });
  try {
    const session = await client.createSession({ model: "test-model", provider: openai(server, { apiKey: "sk-log-SECRET" }) });
    await assert.rejects(session.sendAndWait("What is 2+2?"), (e) => e.code === "server");
    assert.equal(server.requestCount, 2);
  } finally {
    await client.stop();
    await server.stop();
  }
}

/** Waits until `records` has `n` entries passing `test` (records arrive through the event loop). */
async function waitFor(records, test, n = 1, ms = 3000) {
  const deadline = performance.now() + ms;
  while (records.filter(test).length < n && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return records.filter(test);
}

const attempt500 = (r) => r.message.startsWith("http attempt") && /status_code=500\b/.test(r.message);

test("a retried 500 at debug gives a record per attempt; a higher level and null stop them", async () => {
  const records = [];
  setLogHandler((level, target, message) => records.push({ level, target, message }), "debug");
  await failedSend();
  const attempts = await waitFor(records, attempt500, 2);
  assert.equal(attempts.length, 2, JSON.stringify(records, null, 1));
  for (const r of attempts) {
    assert.equal(r.level, "debug");
    assert.equal(r.target, "modelport::transport::call");
    assert.match(r.message, /url\.full=http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
  }
  assert.ok(records.every((r) => r.target.startsWith("modelport")));
  assert.ok(!JSON.stringify(records).includes("sk-log-SECRET"), "no API key in the logs");

  // At "warn" the debug records are filtered out in Rust.
  await new Promise((resolve) => setTimeout(resolve, 50));
  records.length = 0;
  setLogHandler((level, target, message) => records.push({ level, target, message }), "warn");
  await failedSend();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(records.filter(attempt500), []);

  // Removed: nothing more, also at debug.
  setLogHandler(null, "debug");
  await failedSend();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(records.filter(attempt500), []);

  // Set again: records flow again.
  setLogHandler((level, target, message) => records.push({ level, target, message }), "debug");
  await failedSend();
  assert.equal((await waitFor(records, attempt500, 2)).length, 2);
});

test("a throwing handler is a process warning, never a crash", async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    setLogHandler(() => {
      throw new Error("handler bug");
    }, "debug");
    await failedSend();
    await waitFor(warnings, (w) => w.code === "MODELPORT_HANDLER_ERROR" && /handler bug/.test(w.message));
    assert.ok(warnings.some((w) => w.code === "MODELPORT_HANDLER_ERROR" && /handler bug/.test(w.message)));
  } finally {
    process.off("warning", onWarning);
    setLogHandler(null);
  }
});

test("a wrong level or handler is a ConfigError naming the choices", () => {
  assert.throws(() => setLogHandler(() => {}, "verbose"), (e) => e instanceof ConfigError && /error, warn, info, debug, trace or off/.test(e.message));
  assert.throws(() => setLogHandler("stderr"), (e) => e instanceof ConfigError && /function/.test(e.message));
});

/** Runs child/logging.mjs `mode` with `env`; resolves with its exit code, output (killed after 20 s). */
function child(mode, env) {
  const path = fileURLToPath(new URL("./child/logging.mjs", import.meta.url));
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path, mode], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => c.kill("SIGKILL"), 20_000);
    c.on("exit", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test("MODELPORT_LOG=debug writes the records to stderr, and setLogHandler then says why it cannot", async () => {
  const r = await child("env", { MODELPORT_LOG: "debug" });
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("DEBUG modelport::transport::call: http attempt"));
  assert.equal(lines.filter((l) => /status_code=500\b/.test(l)).length, 2, r.stderr);
  assert.match(r.stdout, /^send: server\nsetLogHandler: config: .*MODELPORT_LOG=debug.*call setLogHandler before creating a Client/m);
  // Unset, nothing is written.
  const quiet = await child("env", { MODELPORT_LOG: "" });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /modelport::/);
  assert.match(quiet.stdout, /setLogHandler: accepted/);
});

test("a log handler does not keep the process alive", async () => {
  const r = await child("handler", { MODELPORT_LOG: "" });
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "send: server\nrecords: yes\n");
});
