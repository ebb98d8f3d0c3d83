// providerFromEnv(): core's reading of the MODELPORT_* variables (ProviderConfig::from_env) through
// the native module, its {provider, model} spread into createSession against the replay provider.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { Client, ConfigError, providerFromEnv } from "modelport";
import { startReplay } from "./helpers.mjs";

const VARS = [
  "MODELPORT_PROVIDER",
  "MODELPORT_BASE_URL",
  "MODELPORT_API_KEY",
  "MODELPORT_MODEL",
  "MODELPORT_WIRE_API",
  "MODELPORT_AZURE_API_VERSION",
  "OPENAI_API_KEY",
  "AZURE_OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
];
const saved = Object.fromEntries(VARS.map((name) => [name, process.env[name]]));

/** Sets exactly `vars` among VARS (the others unset). */
function setEnv(vars) {
  for (const name of VARS) delete process.env[name];
  Object.assign(process.env, vars);
}

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

test("undefined without MODELPORT_PROVIDER", () => {
  setEnv({ MODELPORT_MODEL: "gpt-4o", OPENAI_API_KEY: "sk-ignored" });
  assert.equal(providerFromEnv(), undefined);
});

test("the provider and model the variables name drive a session", async () => {
  const server = await startReplay();
  const client = new Client({ sessionStore: "memory" });
  try {
    setEnv({
      MODELPORT_PROVIDER: "openai",
      MODELPORT_BASE_URL: server.openaiUrl,
      MODELPORT_API_KEY: "sk-from-env",
      MODELPORT_MODEL: "test-model",
    });
    const found = providerFromEnv();
    assert.deepEqual(found, {
      model: "test-model",
      provider: { type: "openai", baseUrl: server.openaiUrl, apiKey: "sk-from-env", wireApi: "completions" },
    });
    const session = await client.createSession({ ...found });
    const answer = await session.sendAndWait("What is 2+2?");
    assert.equal(answer.data.content, "2 + 2 = 4.");
    const request = server.requests().at(-1);
    assert.equal(request.headers.authorization, "Bearer sk-from-env");
    assert.equal(request.body.model, "test-model");
  } finally {
    await client.stop();
    await server.stop();
  }
});

test("the provider's usual key variable, the wire API and the Azure API version", () => {
  setEnv({
    MODELPORT_PROVIDER: "azure",
    MODELPORT_BASE_URL: "https://res.openai.azure.com",
    AZURE_OPENAI_API_KEY: "azure-key",
    MODELPORT_MODEL: "my-deployment",
    MODELPORT_WIRE_API: "responses",
    MODELPORT_AZURE_API_VERSION: "2025-04-01-preview",
  });
  assert.deepEqual(providerFromEnv(), {
    model: "my-deployment",
    provider: {
      type: "azure",
      baseUrl: "https://res.openai.azure.com",
      apiKey: "azure-key",
      wireApi: "responses",
      azure: { apiVersion: "2025-04-01-preview" },
    },
  });
  setEnv({ MODELPORT_PROVIDER: "anthropic", MODELPORT_MODEL: "claude-x", ANTHROPIC_API_KEY: "sk-ant" });
  const anthropic = providerFromEnv();
  assert.equal(anthropic.provider.baseUrl, "https://api.anthropic.com");
  assert.equal(anthropic.provider.apiKey, "sk-ant");
});

test("a missing or wrong variable is a ConfigError naming it", () => {
  setEnv({ MODELPORT_PROVIDER: "openai" });
  assert.throws(providerFromEnv, (e) => e instanceof ConfigError && /MODELPORT_MODEL/.test(e.message));
  setEnv({ MODELPORT_PROVIDER: "azure", MODELPORT_MODEL: "d" });
  assert.throws(providerFromEnv, (e) => e instanceof ConfigError && /MODELPORT_BASE_URL/.test(e.message));
  setEnv({ MODELPORT_PROVIDER: "gemini", MODELPORT_MODEL: "m" });
  assert.throws(providerFromEnv, (e) => e instanceof ConfigError && /MODELPORT_PROVIDER/.test(e.message));
  setEnv({ MODELPORT_PROVIDER: "openai", MODELPORT_MODEL: "m", MODELPORT_WIRE_API: "batch" });
  assert.throws(providerFromEnv, (e) => e instanceof ConfigError && /MODELPORT_WIRE_API/.test(e.message));
});
