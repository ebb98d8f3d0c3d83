// MCP servers through the Node binding, against real servers (tests/mcp/server.py, on the official
// Python MCP SDK, in the virtualenv scripts/mcp-venv.sh makes) over stdio and Streamable HTTP, with the
// replay provider playing tests/fixtures/replay/mcp.yaml (shared with the Rust end-to-end tests and
// Python): a tool message that departs from the fixture gets the replay's 500 instead of the answer.
// Core runs everything; these tests show that mcpServers reaches it and what comes back.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "modelport";
import { ReplayServer } from "modelport/testing";
import { ofType, openai } from "./helpers.mjs";

const T = 30_000;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MCP = join(ROOT, "tests/fixtures/replay/mcp.yaml");
const SERVER = join(ROOT, "tests/mcp/server.py");
// The same virtualenv as the Rust end-to-end tests (tests/tests/mcp.rs).
const VENV = join(ROOT, "target/mcp-venv");
const PYTHON = join(VENV, "bin/python");

before(() => {
  // Made once (pip installs the pinned `mcp` the first time); quick when it is up to date.
  execFileSync("bash", [join(ROOT, "scripts/mcp-venv.sh")], {
    env: { ...process.env, MODELPORT_MCP_VENV: VENV },
    stdio: "inherit",
  });
});

/** A stdio server running server.py with `args`. */
const stdio = (...args) => ({ type: "stdio", command: PYTHON, args: [SERVER, ...args], startupTimeoutMs: 20_000 });

/** A replay server on mcp.yaml, a client, and a session with `mcpServers` and `config`, all stopped after the test. */
async function mcpSession(t, mcpServers, config = {}) {
  const server = await ReplayServer.start({ path: MCP });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  const session = await client.createSession({ model: "mcp-model", provider: openai(server), mcpServers, ...config });
  const events = [];
  session.on((e) => events.push(e));
  return { server, client, session, events };
}

/** The tool names a Chat Completions request offered. */
const offered = (body) => (body.tools ?? []).map((tool) => tool.function.name);

const loaded = (session) => {
  const all = session.getEvents().filter((e) => e.type === "session.mcp_servers_loaded");
  assert.equal(all.length, 1);
  return all[0];
};

function tempdir(t) {
  const dir = mkdtempSync(join(tmpdir(), "modelport-mcp-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const pids = (file) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map(Number)
    : [];

/** Whether process `pid` is gone (or a zombie nobody has reaped yet). */
function gone(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true;
  }
  return stat.slice(stat.lastIndexOf(")") + 1).trim().startsWith("Z");
}

async function waitGone(running, within = 10_000) {
  const deadline = Date.now() + within;
  while (!running.every(gone)) {
    assert.ok(Date.now() < deadline, `still running after the session ended: ${running.filter((p) => !gone(p))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a tool call round trip over stdio", async (t) => {
  const pidfile = join(tempdir(t), "srv.pid");
  const { server, session, events } = await mcpSession(t, {
    srv: stdio("--only", "get_weather,echo", "--pidfile", pidfile),
  });
  const reply = await session.sendAndWait({ prompt: "What's the weather in Paris?" }, T);
  assert.equal(reply?.data.content, "It is sunny and 21°C in Paris.");
  const first = server.requests()[0].body;
  assert.deepEqual(offered(first), ["srv-get_weather", "srv-echo"]);
  // The server's own input schema reaches the model.
  assert.deepEqual(first.tools[0].function.parameters.required, ["location"]);
  const [start] = ofType(events, "tool.execution_start");
  assert.equal(start.toolName, "srv-get_weather");
  assert.deepEqual(start.arguments, { location: "Paris" });
  const [complete] = ofType(events, "tool.execution_complete");
  assert.equal(complete.success, true);
  assert.equal(complete.result?.content, "Sunny, 21°C in Paris");
  const running = pids(pidfile);
  assert.equal(running.length, 1);
  assert.ok(!gone(running[0]));
  await session.disconnect();
  await waitGone(running);
});

test("session.mcp_servers_loaded reports each server; the session works without the failed one", async (t) => {
  const { server, session } = await mcpSession(t, {
    good: stdio("--only", "echo"),
    broken: stdio("--fail-start"),
  });
  const event = loaded(session);
  assert.equal(event.ephemeral, undefined);
  const { servers } = event.data;
  assert.deepEqual(
    servers.map(({ name, status, transport }) => [name, status, transport]),
    [
      ["broken", "failed", "stdio"],
      ["good", "connected", "stdio"],
    ],
  );
  assert.match(servers[0].error, /MCP server "broken"/);
  assert.deepEqual(servers[1], { name: "good", status: "connected", transport: "stdio" });
  const reply = await session.sendAndWait({ prompt: "Hello" }, T);
  assert.equal(reply?.data.content, "Hello! How can I help?");
  // Only the server that started offers tools.
  assert.deepEqual(offered(server.requests()[0].body), ["good-echo"]);
});

test("onPermissionRequest is asked with kind mcp, the server's name and its own tool name", async (t) => {
  const asked = [];
  const { session, events } = await mcpSession(
    t,
    { srv: stdio("--only", "get_weather") },
    {
      onPermissionRequest: (request, invocation) => {
        asked.push([request, invocation]);
        return { kind: "approve-once" };
      },
    },
  );
  const reply = await session.sendAndWait({ prompt: "What's the weather in Paris?" }, T);
  assert.equal(reply?.data.content, "It is sunny and 21°C in Paris.");
  assert.equal(asked.length, 1);
  const [request, invocation] = asked[0];
  assert.equal(request.kind, "mcp");
  assert.equal(request.serverName, "srv");
  // Not the `srv-get_weather` the model sees.
  assert.equal(request.toolName, "get_weather");
  assert.deepEqual(request.arguments, { location: "Paris" });
  assert.equal(invocation.sessionId, session.sessionId);
  const [requested] = ofType(events, "permission.requested");
  assert.equal(requested.permissionRequest.kind, "mcp");
  assert.equal(requested.permissionRequest.serverName, "srv");
});

test("a crashed server is reported by session.mcp_server_status_changed and started again", async (t) => {
  const { session } = await mcpSession(t, { srv: stdio("--only", "crash,echo") });
  const changes = [];
  session.on("session.mcp_server_status_changed", (e) => changes.push(e));
  assert.equal((await session.sendAndWait({ prompt: "Crash the server" }, T))?.data.content, "The server crashed.");
  assert.equal((await session.sendAndWait({ prompt: "Echo hi" }, T))?.data.content, "hi");
  assert.deepEqual(
    changes.map((e) => [e.data.serverName, e.data.status]),
    [
      ["srv", "failed"],
      ["srv", "pending"],
      ["srv", "connected"],
    ],
  );
  assert.ok(changes.every((e) => e.ephemeral === true));
  assert.equal(typeof changes[0].data.error, "string");
  assert.equal(changes[2].data.error, undefined);
  // Ephemeral: not kept.
  assert.ok(!session.getEvents().some((e) => e.type === "session.mcp_server_status_changed"));
});

for (const end of ["disconnect", "stop"]) {
  test(`no server process outlives its session (${end})`, async (t) => {
    const pidfile = join(tempdir(t), "srv.pid");
    const { client, session } = await mcpSession(t, { srv: stdio("--only", "echo", "--pidfile", pidfile) });
    const running = pids(pidfile);
    assert.equal(running.length, 1);
    assert.ok(!gone(running[0]));
    if (end === "disconnect") await session.disconnect();
    else assert.deepEqual(await client.stop(), []);
    await waitGone(running);
  });
}

test("a Streamable HTTP server with a secret header", async (t) => {
  const child = spawn(PYTHON, [SERVER, "--http", "--only", "get_weather"], { stdio: ["ignore", "pipe", "ignore"] });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await once(child, "exit");
    }
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, "line");
  lines.close();
  assert.match(line, /^LISTENING http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  const url = line.slice("LISTENING ".length);
  const secret = "mcp-HEADER-SECRET-6613";
  const { server, session, events } = await mcpSession(t, {
    srv: { type: "http", url, headers: { Authorization: `Bearer ${secret}` } },
  });
  assert.deepEqual(loaded(session).data.servers, [{ name: "srv", status: "connected", transport: "http" }]);
  const reply = await session.sendAndWait({ prompt: "What's the weather in Paris?" }, T);
  assert.equal(reply?.data.content, "It is sunny and 21°C in Paris.");
  assert.deepEqual(offered(server.requests()[0].body), ["srv-get_weather"]);
  assert.ok(!JSON.stringify([session.getEvents(), events]).includes(secret));
  // Before the HTTP server is killed.
  await session.disconnect();
});
