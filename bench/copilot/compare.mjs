// The same BYOK scenario through @github/copilot-sdk (which drives its bundled runtime process over
// JSON-RPC) and through modelport's Node binding (in-process), against one replay provider running in
// its own process. Each side runs alone in a fresh Node process and measures: time from a new client
// to a ready session (median of 5 fresh clients, and the first), the median of 20 sequential
// sendAndWait turns, the peak RSS of its whole process tree, and 200 concurrent sessions each doing
// one turn.
//
//   cargo build --release -p modelport-bench                      # the replay server (loadtest serve)
//   (cd bindings-node && npm install && npm run build)            # modelport for Node
//   cd bench/copilot && npm install && node compare.mjs           # installs @github/copilot-sdk from npm
//
// Not part of CI (it downloads the Copilot SDK and its runtime); BENCHMARKS.md has the figures.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TURNS = 20;
const CONCURRENT = Number(process.env.CONCURRENT ?? 200);
const READY_RUNS = 5;

function loadtestBinary() {
  for (const dir of ["target/x86_64-unknown-linux-gnu/release", "target/release"]) {
    const p = path.join(root, dir, "loadtest");
    if (existsSync(p)) return p;
  }
  throw new Error("build the replay server first: cargo build --release -p modelport-bench");
}

async function startReplay() {
  // A fallback answer: the Copilot runtime sends its own system prompt and history shape.
  const child = spawn(loadtestBinary(), ["serve", "--fallback", "2 + 2 = 4."], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  return { child, url: line.split(" ").pop() };
}

/** RSS in KiB of `pid` and all its descendants. */
function treeRss(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {}
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) total += Number(m[1]);
    } catch {}
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

function sampler() {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRss(process.pid));
  }, 25);
  return { stop: () => (clearInterval(timer), peak) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const SIDES = {
  "@github/copilot-sdk": async () => (await import("@github/copilot-sdk")).CopilotClient,
  "modelport (Node)": async () => (await import(path.join(root, "bindings-node/lib/index.mjs"))).Client,
};

/** One side, alone in this process: its RSS is not mixed with the other side's. */
async function scenario(name, url) {
  const ClientClass = await SIDES[name]();
  const provider = { type: "openai", baseUrl: `${url}/v1`, apiKey: "sk-bench" };
  const rss = sampler();
  // Session ready: a new client to a session that can send, READY_RUNS times with a fresh client each.
  const ready = [];
  for (let i = 0; i < READY_RUNS; i++) {
    const t0 = performance.now();
    const client = new ClientClass();
    await client.start?.();
    await client.createSession({ model: "bench-model", provider });
    ready.push(performance.now() - t0);
    await client.stop();
  }
  const client = new ClientClass();
  await client.start?.();
  const session = await client.createSession({ model: "bench-model", provider });
  const turns = [];
  for (let i = 0; i < TURNS; i++) {
    const t = performance.now();
    const reply = await session.sendAndWait({ prompt: "What is 2+2?" }, 60_000);
    turns.push(performance.now() - t);
    if (!reply?.data?.content?.includes("4")) throw new Error(`${name}: unexpected answer ${JSON.stringify(reply?.data)}`);
  }
  const tc = performance.now();
  const sessions = await Promise.all(
    Array.from({ length: CONCURRENT }, () => client.createSession({ model: "bench-model", provider })),
  );
  await Promise.all(sessions.map((s) => s.sendAndWait({ prompt: "What is 2+2?" }, 120_000)));
  const concurrent = performance.now() - tc;
  await client.stop();
  return { name, ready: median(ready), firstReady: ready[0], turn: median(turns), rss: rss.stop(), concurrent };
}

/** Runs `name` in a fresh Node process and returns its result. */
function runSide(name, url) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--side", name, url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`${name} exited with ${code}`)),
    );
  });
}

const sideArg = process.argv.indexOf("--side");
if (sideArg !== -1) {
  const result = await scenario(process.argv[sideArg + 1], process.argv[sideArg + 2]);
  console.log(JSON.stringify(result));
  process.exit(0);
}

const replay = await startReplay();
const results = [];
for (const name of Object.keys(SIDES)) {
  try {
    results.push(await runSide(name, replay.url));
  } catch (e) {
    console.error(`${name}: ${e.stack ?? e}`);
  }
}
replay.child.kill();

console.log(`\n${"".padEnd(22)} session ready (median of ${READY_RUNS}, first)   turn (median of ${TURNS})   peak RSS (tree)   ${CONCURRENT} concurrent sessions`);
for (const r of results) {
  console.log(`${r.name.padEnd(22)} ${r.ready.toFixed(2).padStart(9)} ms, ${r.firstReady.toFixed(2).padStart(7)} ms   ${r.turn.toFixed(3).padStart(12)} ms   ${(r.rss / 1024).toFixed(1).padStart(10)} MiB   ${r.concurrent.toFixed(0).padStart(8)} ms`);
}
if (results.length === 2) {
  const [c, m] = results;
  console.log(`\nmodelport vs Copilot SDK: session ready ${(c.ready / m.ready).toFixed(0)}x faster (first client: ${(c.firstReady / m.firstReady).toFixed(0)}x), ` +
    `turn ${(c.turn / m.turn).toFixed(0)}x faster, peak RSS ${(c.rss / m.rss).toFixed(1)}x smaller, ` +
    `${CONCURRENT} sessions ${(c.concurrent / m.concurrent).toFixed(1)}x faster`);
}
process.exit(0);
