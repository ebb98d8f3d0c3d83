// The process exits on its own after client.stop(): no leaked handles.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

/** Runs a child script; resolves with its exit code, output and wall time (killed after 20 s). */
function run(script, ...args) {
  const path = fileURLToPath(new URL(`./child/${script}`, import.meta.url));
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FOUNDRY_API_KEY: "test-key" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

test("the seed's quickstart prints the answer and exits after client.stop()", async () => {
  const r = await run("seed_quickstart.mjs");
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "2 + 2 = 4.\n");
});

test("handlers, tools, token provider, onListModels and a pending iterator do not keep the process alive after stop()", async () => {
  const r = await run("everything_open.mjs");
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^2 \+ 2 = 4\.\niterator ended after \d+ events\n$/);
});

test("stop() during a streaming send: the send is cancelled and the process exits", async () => {
  const r = await run("everything_open.mjs", "in-flight");
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^send: cancelled\niterator ended after \d+ events\n$/);
});

test("without on() handlers the process exits even if stop() is never called", async () => {
  const r = await run("no_stop.mjs");
  assert.equal(r.signal, null, `killed: still running after 20 s\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "2 + 2 = 4.\n");
});
