// Shared set-up of the Node.js tests: replay servers on 127.0.0.1 and provider configs per wire format.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, defineTool } from "modelport";
import { ReplayServer } from "modelport/testing";

// Clients without a sessionStore keep sessions under MODELPORT_HOME: a fresh directory unless the
// test script set one, so a direct `node --test` run never writes into the user's data directory.
if (!process.env.MODELPORT_HOME) {
  const home = mkdtempSync(join(tmpdir(), "modelport-tests-"));
  process.env.MODELPORT_HOME = home;
  process.on("exit", () => rmSync(home, { recursive: true, force: true }));
}

export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const CONVERSATIONS = fixture("conversations.yaml");
/** Conversations shared with the Python tests: hooks, permission decisions, the structured-output retry. */
export const HOOKS = fileURLToPath(new URL("../../tests/fixtures/replay/hooks.yaml", import.meta.url));

/** A replay server playing the test conversations, with the scripted `errors` file if given. */
export function startReplay(options = {}) {
  const { errors, ...rest } = options;
  const yaml = [readFileSync(CONVERSATIONS, "utf8")];
  if (errors) yaml.unshift(readFileSync(fixture(`errors/${errors}.yaml`), "utf8"));
  return ReplayServer.start({ yaml, ...rest });
}

/** Every provider shape the replay serves: [name, (server) => ProviderConfig]. */
export const FORMATS = [
  ["openai completions", (s) => ({ type: "openai", baseUrl: s.openaiUrl, apiKey: "sk-test-openai" })],
  [
    "openai responses",
    (s) => ({ type: "openai", baseUrl: s.openaiUrl, wireApi: "responses", apiKey: "sk-test-openai" }),
  ],
  [
    "azure foundry /openai/v1/ responses",
    (s) => ({ type: "openai", baseUrl: `${s.url}/openai/v1/`, wireApi: "responses", apiKey: "k-foundry" }),
  ],
  ["azure deployment route", (s) => ({ type: "azure", baseUrl: s.url, apiKey: "k-azure" })],
  [
    "azure v1 route",
    (s) => ({ type: "azure", baseUrl: s.url, apiKey: "k-azure", azure: { apiVersion: "v1" } }),
  ],
  ["anthropic", (s) => ({ type: "anthropic", baseUrl: s.url, apiKey: "sk-ant-test" })],
];

/** An OpenAI Chat Completions provider for `server`. */
export const openai = (server, extra = {}) => ({ type: "openai", baseUrl: server.openaiUrl, apiKey: "sk-test", ...extra });

/** A promise and its resolver. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves once the event loop has run pending callbacks. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The `lookup` tool of HOOKS: {key} -> "value-of-KEY", throwing for "boom"; `runs` records the keys. */
export function lookupTool(runs) {
  return defineTool("lookup", {
    description: "Looks a key up",
    parameters: { type: "object", properties: { key: { type: "string" } } },
    handler: ({ key }) => {
      runs.push(key);
      if (key === "boom") throw new Error("lookup exploded");
      return `value-of-${key}`;
    },
  });
}

/**
 * A replay server on HOOKS and a session with the lookup tool and `config` (no retries at the HTTP
 * level), all stopped after the test: {server, client, session, runs, events}.
 */
export async function hooksSession(t, config = {}, serverOptions = {}) {
  const server = await ReplayServer.start({ path: HOOKS, ...serverOptions });
  const client = new Client();
  t.after(async () => {
    assert.deepEqual(await client.stop(), []);
    await server.stop();
  });
  const runs = [];
  const session = await client.createSession({
    model: "test-model",
    provider: openai(server, { retry: { maxRetries: 0 } }),
    tools: [lookupTool(runs)],
    ...config,
  });
  const events = [];
  session.on((e) => events.push(e));
  return { server, client, session, runs, events };
}

/** The data of the events of one type. */
export const ofType = (events, type) => events.filter((e) => e.type === type).map((e) => e.data);

/** The tool messages of request `n` (Chat Completions). */
export const toolMessages = (server, n) =>
  server.requests()[n].body.messages.filter((m) => m.role === "tool").map((m) => m.content);
