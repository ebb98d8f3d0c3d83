// The same BYOK scenario through @github/copilot-sdk (which drives its bundled runtime process over
// JSON-RPC) and through modelport's Node binding (in-process), against one replay provider running in
// its own process. Product against product: each side sends what it sends for the same prompt (the
// Copilot runtime adds its own system prompt and tools; the probe at the end shows both requests).
//
// Each side runs alone in a fresh Node process, ROUNDS times (default 5), the side that goes first
// alternating. Per process: session ready cold (the first client of the process: new client to a
// session that can send) and warm (the median of the next 5 fresh clients), the median of 20
// sequential sendAndWait turns, the peak RSS of its whole process tree (and of Node alone, before the
// side is imported), and 200 concurrent sessions each doing one turn. The summary is the median over
// the rounds.
//
//   cargo build --release -p modelport-bench                      # the replay server (loadtest serve)
//   (cd bindings-node && npm install && npm run build)            # modelport for Node
//   cd bench/copilot && npm install                               # @github/copilot-sdk 1.0.14 from npm
//   unshare -rn sh -c 'ip link set lo up && node compare.mjs'     # loopback only: nothing leaves 127.0.0.1
//
// Not part of CI (it downloads the Copilot SDK and its runtime); BENCHMARKS.md has the figures.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import http from "node:http";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TURNS = 20;
const CONCURRENT = Number(process.env.CONCURRENT ?? 200);
const READY_RUNS = 6; // the first (cold), then 5 warm
const ROUNDS = Number(process.env.ROUNDS ?? 5);

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
async function scenario(name, url, probeUrl) {
  const nodeAlone = treeRss(process.pid);
  const ClientClass = await SIDES[name]();
  const provider = { type: "openai", baseUrl: `${url}/v1`, apiKey: "sk-bench" };
  const rss = sampler();
  // Session ready: a new client to a session that can send, READY_RUNS times with a fresh client each.
  // The first is cold (the first client of this process); the rest are warm.
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
  const replies = await Promise.all(sessions.map((s) => s.sendAndWait({ prompt: "What is 2+2?" }, 120_000)));
  const concurrent = performance.now() - tc;
  const failed = replies.filter((r) => !r?.data?.content?.includes("4")).length;
  if (failed) throw new Error(`${name}: ${failed} of ${CONCURRENT} concurrent turns failed`);
  const peak = rss.stop();
  // Untimed: one turn through the parent's counting proxy, to show what this side sends.
  const probe = await client.createSession({
    model: "bench-model",
    provider: { ...provider, baseUrl: `${probeUrl}/v1` },
  });
  await probe.sendAndWait({ prompt: "What is 2+2?" }, 60_000);
  await client.stop();
  return {
    name,
    cold: ready[0],
    warm: median(ready.slice(1)),
    turn: median(turns),
    rss: peak,
    nodeAlone,
    concurrent,
  };
}

/** Runs `name` in a fresh Node process and returns its result. */
function runSide(name, url, probeUrl) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--side", name, url, probeUrl], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`${name} exited with ${code}`)),
    );
  });
}

/** A forwarding proxy to the replay server that keeps every request it saw. */
async function startProbe(target) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, path: req.url, body });
      const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}

/** What one side's requests held: bytes, messages, system prompt, tools. */
function describe(requests) {
  return requests
    .map(({ method, path, body }) => {
      let what = `${method} ${path}: ${body.length} bytes`;
      try {
        const json = JSON.parse(body.toString("utf8"));
        const messages = json.messages ?? json.input ?? [];
        const system = messages
          .filter((m) => m.role === "system" || m.role === "developer")
          .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)).length)
          .reduce((a, b) => a + b, 0) + (json.instructions?.length ?? 0);
        what += `, ${messages.length} messages, system prompt ${system} chars, ${json.tools?.length ?? 0} tools`;
      } catch {}
      return what;
    })
    .join("; ");
}

const sideArg = process.argv.indexOf("--side");
if (sideArg !== -1) {
  const result = await scenario(process.argv[sideArg + 1], process.argv[sideArg + 2], process.argv[sideArg + 3]);
  console.log(JSON.stringify(result));
  process.exit(0);
}

const replay = await startReplay();
const probe = await startProbe(replay.url);
const names = Object.keys(SIDES);
const results = Object.fromEntries(names.map((n) => [n, []]));
const probes = {};
let failed = false;
const ms = (x, digits = 2) => `${x.toFixed(digits)} ms`;
const line = (label, r) =>
  `${label.padEnd(30)} ${ms(r.cold).padStart(10)} ${ms(r.warm).padStart(10)} ${ms(r.turn, 3).padStart(10)} ` +
  `${`${(r.rss / 1024).toFixed(1)} MiB`.padStart(11)} ${`${(r.nodeAlone / 1024).toFixed(1)} MiB`.padStart(10)} ` +
  `${ms(r.concurrent, 0).padStart(9)}`;
console.log(
  `${"".padEnd(30)} ${"ready cold".padStart(10)} ${"ready warm".padStart(10)} ${"turn".padStart(10)} ` +
    `${"peak RSS".padStart(11)} ${"Node alone".padStart(10)} ${`${CONCURRENT} sess.`.padStart(9)}`,
);
for (let round = 1; round <= ROUNDS && !failed; round++) {
  const order = round % 2 === 1 ? names : [...names].reverse();
  for (const name of order) {
    const before = probe.seen.length;
    try {
      const r = await runSide(name, replay.url, probe.url);
      results[name].push(r);
      probes[name] ??= describe(probe.seen.slice(before));
      console.log(line(`round ${round}: ${name}`, r));
    } catch (e) {
      console.error(`${name}: ${e.stack ?? e}`);
      failed = true;
      break;
    }
  }
}
probe.close();
replay.child.kill();
if (failed) process.exit(1);

const summary = {};
for (const name of names) {
  const rs = results[name];
  summary[name] = Object.fromEntries(
    ["cold", "warm", "turn", "rss", "nodeAlone", "concurrent"].map((k) => [k, median(rs.map((r) => r[k]))]),
  );
  console.log(line(`median of ${rs.length}: ${name}`, summary[name]));
}
const range = (name, k, f) => {
  const xs = results[name].map((r) => r[k]);
  return `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
};
const [c, m] = names.map((n) => summary[n]);
const x = (a, b) => `${(a / b).toFixed(0)}x`;
console.log(
  `\nmodelport vs Copilot SDK, product against product (ratios of the medians of ${ROUNDS} rounds): ` +
    `session ready cold ${x(c.cold, m.cold)} faster, ` +
    `warm ${x(c.warm, m.warm)}; turn ${x(c.turn, m.turn)} faster; peak RSS ${(c.rss / m.rss).toFixed(1)}x smaller; ` +
    `${CONCURRENT} sessions ${x(c.concurrent, m.concurrent)} faster`,
);
console.log(
  `ranges over the rounds: cold ${range(names[0], "cold", (v) => v.toFixed(1))} vs ${range(names[1], "cold", (v) => v.toFixed(2))} ms, ` +
    `warm ${range(names[0], "warm", (v) => v.toFixed(1))} vs ${range(names[1], "warm", (v) => v.toFixed(2))} ms, ` +
    `turn ${range(names[0], "turn", (v) => v.toFixed(1))} vs ${range(names[1], "turn", (v) => v.toFixed(3))} ms`,
);
console.log("\nwhat each side sent for one \"What is 2+2?\" turn on a new session (the untimed probe):");
for (const name of names) console.log(`  ${name}: ${probes[name]}`);
process.exit(0);
