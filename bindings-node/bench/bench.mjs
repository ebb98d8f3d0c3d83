// modelport (Node.js binding) vs the official `openai` npm client, against the same replay provider
// on 127.0.0.1, in one process. Not run in CI.
//
//   cd bindings-node && npm run build          # release build of the native module
//   cd bench && npm install && node bench.mjs [turns=500] [streamChars=20000]
//
// 1. Sequential turns: one conversation of N user/assistant turns (Chat Completions, not streamed).
//    modelport: one session, N x `await session.sendAndWait(prompt)`. openai: N x
//    `await openai.chat.completions.create({model, messages})` with the growing history, i.e. the
//    same requests. Three alternating rounds after a warm-up; the median round is reported.
// 2. Streamed events: one answer of streamChars characters served in 1-character deltas; events per
//    second delivered to a session.on() handler and to a `for await` iterator (modelport), and
//    chunks per second iterated by the openai client (`stream: true`).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { Client } from "../lib/index.mjs";
import { ReplayServer } from "../lib/testing.mjs";

// Sessions go to a throwaway data directory, never the user's (the default store is SQLite there).
const benchHome = mkdtempSync(join(tmpdir(), "modelport-bench-home-"));
process.env.MODELPORT_HOME ??= benchHome;
process.on("exit", () => rmSync(benchHome, { recursive: true, force: true }));

const TURNS = Number(process.argv[2] ?? 500);
const STREAM_CHARS = Number(process.argv[3] ?? 20_000);
const MODEL = "bench-model";

const q = (i) => `Question ${i}: what is ${i} + ${i}?`;
const a = (i) => `${i} + ${i} = ${2 * i}.`;
const yamlString = (s) => JSON.stringify(s); // JSON strings are valid YAML scalars

function conversationsYaml() {
  const turns = [];
  for (let i = 0; i < TURNS; i++) {
    turns.push(`      - role: user\n        content: ${yamlString(q(i))}`);
    turns.push(`      - role: assistant\n        content: ${yamlString(a(i))}`);
  }
  let story = "";
  for (let i = 0; story.length < STREAM_CHARS; i++) story += `word${i % 10} `;
  story = story.slice(0, STREAM_CHARS).trim(); // the replay trims stored text
  return [
    `models: [${MODEL}]\nconversations:\n  - messages:\n${turns.join("\n")}\n` +
      `  - messages:\n      - role: user\n        content: Stream a long answer.\n` +
      `      - role: assistant\n        content: ${yamlString(story)}\n`,
    story,
  ];
}

async function modelportTurns(server, n) {
  const client = new Client();
  const session = await client.createSession({
    model: MODEL,
    provider: { type: "openai", baseUrl: server.openaiUrl, apiKey: "bench" },
  });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const answer = await session.sendAndWait({ prompt: q(i) });
    if (answer.data.content !== a(i)) throw new Error(`modelport turn ${i}: ${answer.data.content}`);
  }
  const ms = performance.now() - started;
  await client.stop();
  return ms;
}

async function openaiTurns(server, n) {
  const openai = new OpenAI({ baseURL: server.openaiUrl, apiKey: "bench", maxRetries: 0 });
  const messages = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    messages.push({ role: "user", content: q(i) });
    const r = await openai.chat.completions.create({ model: MODEL, messages });
    const message = r.choices[0].message;
    if (message.content !== a(i)) throw new Error(`openai turn ${i}: ${message.content}`);
    messages.push({ role: "assistant", content: message.content });
  }
  return performance.now() - started;
}

async function modelportStream(server, story, via) {
  const client = new Client();
  const session = await client.createSession({
    model: MODEL,
    provider: { type: "openai", baseUrl: server.openaiUrl, apiKey: "bench" },
    streaming: true,
  });
  let events = 0;
  let text = "";
  let skipped = 0;
  const started = performance.now();
  if (via === "on") {
    session.on((e) => {
      events++;
      if (e.type === "assistant.message_delta") text += e.data.deltaContent;
    });
    await session.sendAndWait({ prompt: "Stream a long answer." });
  } else {
    const iterator = session.events({ buffer: 65_536 });
    const sent = session.send({ prompt: "Stream a long answer." });
    for await (const e of iterator) {
      events++;
      if (e.type === "assistant.message_delta") text += e.data.deltaContent;
      if (e.type === "session.idle") break;
    }
    await sent;
    skipped = iterator.skipped;
  }
  const ms = performance.now() - started;
  await client.stop();
  // Deltas are the only events a consumer that falls behind may miss; count what arrived.
  return { ms, events, missing: story.length - text.length, skipped };
}

async function openaiStream(server, story) {
  const openai = new OpenAI({ baseURL: server.openaiUrl, apiKey: "bench", maxRetries: 0 });
  let chunks = 0;
  let text = "";
  const started = performance.now();
  const stream = await openai.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Stream a long answer." }],
    stream: true,
  });
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? "";
  }
  const ms = performance.now() - started;
  if (text !== story) throw new Error("openai stream: text differs");
  return { ms, events: chunks };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(0)} ms (${((ms * 1000) / TURNS).toFixed(0)} µs/turn)`;

const dir = mkdtempSync(join(tmpdir(), "modelport-bench-"));
const [yaml, story] = conversationsYaml();
const path = join(dir, "bench.yaml");
writeFileSync(path, yaml);
const server = await ReplayServer.start({ path, record: false, deltaChars: 1 });
try {
  console.log(`node ${process.version}, replay provider at ${server.openaiUrl}`);
  console.log(`\n1. ${TURNS} sequential turns (Chat Completions, not streamed), same requests, same server`);
  await modelportTurns(server, Math.min(50, TURNS));
  await openaiTurns(server, Math.min(50, TURNS));
  const mp = [];
  const oa = [];
  for (let round = 1; round <= 3; round++) {
    mp.push(await modelportTurns(server, TURNS));
    oa.push(await openaiTurns(server, TURNS));
    console.log(`   round ${round}: modelport ${fmt(mp.at(-1))}   openai ${fmt(oa.at(-1))}`);
  }
  const ratio = median(oa) / median(mp);
  console.log(`   median:  modelport ${fmt(median(mp))}   openai ${fmt(median(oa))}`);
  console.log(`   ratio openai/modelport = ${ratio.toFixed(2)} (modelport is ${ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`})`);

  console.log(`\n2. One streamed answer of ${STREAM_CHARS} characters in 1-character deltas`);
  await modelportStream(server, story, "on");
  await openaiStream(server, story);
  for (const via of ["on", "iterator"]) {
    const r = await modelportStream(server, story, via);
    const skipped = r.missing ? `, ${r.missing} of ${story.length} deltas dropped (consumer behind)` : ", no delta dropped";
    console.log(
      `   modelport ${via === "on" ? "session.on()  " : "for await     "}: ${r.events} events in ${r.ms.toFixed(0)} ms = ${Math.round((r.events * 1000) / r.ms)} events/s${skipped}`,
    );
  }
  const o = await openaiStream(server, story);
  console.log(`   openai stream         : ${o.events} chunks in ${o.ms.toFixed(0)} ms = ${Math.round((o.events * 1000) / o.ms)} chunks/s`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
