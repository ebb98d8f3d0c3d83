// Shared set-up of the Node.js tests: replay servers on 127.0.0.1 and provider configs per wire format.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ReplayServer } from "modelport/testing";

export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const CONVERSATIONS = fixture("conversations.yaml");

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
