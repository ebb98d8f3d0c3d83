// Events per second through session.on() and the async iterator, on one streamed answer of N
// one-character deltas from the replay provider on 127.0.0.1 (not run in CI).
//
// Give the package's lib folder, so that two builds can be compared in one run, alternating:
//   for i in 1 2 3 4 5; do for d in /tmp/old/bindings-node bindings-node; do \
//     node bindings-node/bench/events.mjs $d/lib 20000; done; done
// Prints one line: `on=<events/s> iter=<events/s>` (every delta must arrive: checked).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// Sessions go to a throwaway data directory, never the user's (the default store is SQLite there).
const benchHome = mkdtempSync(join(tmpdir(), "modelport-bench-home-"));
process.env.MODELPORT_HOME ??= benchHome;
process.on("exit", () => rmSync(benchHome, { recursive: true, force: true }));

const lib = resolve(process.argv[2] ?? new URL("../lib", import.meta.url).pathname);
const WANTED = Number(process.argv[3] ?? 20_000);
const { Client } = await import(pathToFileURL(join(lib, "index.mjs")).href);
const { ReplayServer } = await import(pathToFileURL(join(lib, "testing.mjs")).href);
const STORY = "Stream a long answer.";

// The replay trims stored text, so the answer is trimmed here too: CHARS deltas are expected.
const WORDS = "tokens drift like rain, each one a small falling word; ";
const TEXT = WORDS.repeat(Math.ceil(WANTED / WORDS.length)).slice(0, WANTED).trim();
const CHARS = TEXT.length;

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
  const started = performance.now();
  await session.sendAndWait({ prompt: STORY }, 600_000);
  const ms = performance.now() - started;
  await session.disconnect();
  if (deltas !== CHARS) throw new Error(`on(): ${deltas} of ${CHARS} deltas`);
  return (events * 1000) / ms;
}

async function throughIterator(client, provider) {
  const session = await client.createSession({ model: "bench-model", provider, streaming: true });
  const iterator = session.events({ buffer: CHARS + 1024 });
  let events = 0;
  let deltas = 0;
  const started = performance.now();
  await session.send({ prompt: STORY });
  for await (const e of iterator) {
    events++;
    if (e.type === "assistant.message_delta") deltas++;
    else if (e.type === "session.idle") break;
  }
  const ms = performance.now() - started;
  await session.disconnect();
  if (deltas !== CHARS) throw new Error(`events(): ${deltas} of ${CHARS} deltas`);
  return (events * 1000) / ms;
}

const dir = mkdtempSync(join(tmpdir(), "modelport-events-"));
const path = join(dir, "events.yaml");
writeFileSync(path, snapshot());
const server = await ReplayServer.start({ path, record: false, deltaChars: 1 });
const client = new Client();
try {
  const provider = { type: "openai", baseUrl: server.openaiUrl };
  await throughOn(client, provider); // warm-up, not reported
  const on = await throughOn(client, provider);
  const iter = await throughIterator(client, provider);
  console.log(`on=${on.toFixed(0)} iter=${iter.toFixed(0)}`);
} finally {
  await client.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
