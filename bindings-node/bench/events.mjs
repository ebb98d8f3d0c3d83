// Events per second through session.on() and the async iterator, on one streamed answer of N
// one-character deltas from the replay provider on 127.0.0.1 (not run in CI).
//
// Give the package's lib folder, so that two builds can be compared in one run, alternating:
//   for i in 1 2 3 4 5; do for d in /tmp/old/bindings-node bindings-node; do \
//     node bindings-node/bench/events.mjs $d/lib 20000; done; done
// Prints one line: `on=<events/s> iter=<events/s> js_ns_per_event: on=<ns> iter=<ns>`, each the
// median of EVENTS_ROUNDS answers (3 by default; every delta must arrive: checked). The second pair
// is the CPU time the JavaScript thread spent per event (Linux only, NaN elsewhere).
//
// The replay server runs in this process unless EVENTS_SERVER gives the base URL of one running
// elsewhere, so that two builds read the same server and only the client is in the process:
//   node bindings-node/bench/events.mjs --snapshot /tmp/events.json 20000
//   sleep 3600 | target/x86_64-unknown-linux-gnu/release/loadtest serve --file /tmp/events.json \
//     --delta-chars 1 --whole-stream &     # prints its URL; runs until its stdin closes
//   EVENTS_SERVER=http://127.0.0.1:PORT node bindings-node/bench/events.mjs $d/lib 20000

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// Sessions go to a throwaway data directory, never the user's (the default store is SQLite there).
const benchHome = mkdtempSync(join(tmpdir(), "modelport-bench-home-"));
process.env.MODELPORT_HOME ??= benchHome;
process.on("exit", () => rmSync(benchHome, { recursive: true, force: true }));

const snapshotOnly = process.argv[2] === "--snapshot";
const lib = resolve(process.argv[2] ?? new URL("../lib", import.meta.url).pathname);
const WANTED = Number(process.argv[snapshotOnly ? 4 : 3] ?? 20_000);
const STORY = "Stream a long answer.";

// The replay trims stored text, so the answer is trimmed here too: CHARS deltas are expected.
const WORDS = "tokens drift like rain, each one a small falling word; ";
const TEXT = WORDS.repeat(Math.ceil(WANTED / WORDS.length)).slice(0, WANTED).trim();
const CHARS = TEXT.length;
// Answers read each way; the median is printed.
const ROUNDS = Number(process.env.EVENTS_ROUNDS ?? 3);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** CPU time of the JavaScript thread so far, in ns (Linux: the scheduler's account of the main
 * thread, whose id is the process id); NaN elsewhere. */
function jsThreadNs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return Number.NaN;
  }
}

function snapshot() {
  const text = TEXT;
  return JSON.stringify({
    models: ["bench-model"],
    conversations: [{ messages: [{ role: "user", content: STORY }, { role: "assistant", content: text }] }],
  });
}

async function throughOn(client, provider) {
  const session = await client.createSession({ model: "bench-model", provider, streaming: true });
  let events = 0;
  let deltas = 0;
  session.on((e) => {
    events++;
    if (e.type === "assistant.message_delta") deltas++;
  });
  const cpu = jsThreadNs();
  const started = performance.now();
  await session.sendAndWait({ prompt: STORY }, 600_000);
  const ms = performance.now() - started;
  const ns = jsThreadNs() - cpu;
  await session.disconnect();
  if (deltas !== CHARS) throw new Error(`on(): ${deltas} of ${CHARS} deltas`);
  return [(events * 1000) / ms, ns / events];
}

async function throughIterator(client, provider) {
  const session = await client.createSession({ model: "bench-model", provider, streaming: true });
  const iterator = session.events({ buffer: CHARS + 1024 });
  let events = 0;
  let deltas = 0;
  const cpu = jsThreadNs();
  const started = performance.now();
  await session.send({ prompt: STORY });
  for await (const e of iterator) {
    events++;
    if (e.type === "assistant.message_delta") deltas++;
    else if (e.type === "session.idle") break;
  }
  const ms = performance.now() - started;
  const ns = jsThreadNs() - cpu;
  await session.disconnect();
  if (deltas !== CHARS) throw new Error(`events(): ${deltas} of ${CHARS} deltas`);
  return [(events * 1000) / ms, ns / events];
}

if (snapshotOnly) {
  writeFileSync(process.argv[3], snapshot());
  process.exit(0);
}
const { Client } = await import(pathToFileURL(join(lib, "index.mjs")).href);
const { ReplayServer } = await import(pathToFileURL(join(lib, "testing.mjs")).href);
const dir = mkdtempSync(join(tmpdir(), "modelport-events-"));
const path = join(dir, "events.yaml");
writeFileSync(path, snapshot());
const external = process.env.EVENTS_SERVER;
const server = external ? null : await ReplayServer.start({ path, record: false, deltaChars: 1 });
const client = new Client();
try {
  const provider = { type: "openai", baseUrl: external ? `${external}/v1` : server.openaiUrl };
  await throughOn(client, provider); // warm-up, not reported
  const runs = { on: [], iter: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.on.push(await throughOn(client, provider));
    runs.iter.push(await throughIterator(client, provider));
  }
  const rate = (way) => median(runs[way].map(([perSecond]) => perSecond)).toFixed(0);
  const jsNs = (way) => median(runs[way].map(([, ns]) => ns)).toFixed(0);
  console.log(
    `on=${rate("on")} iter=${rate("iter")} js_ns_per_event: on=${jsNs("on")} iter=${jsNs("iter")}`,
  );
} finally {
  await client.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
