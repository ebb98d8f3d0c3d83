"use strict";
// The provider named by the environment (native side: src/provider.rs, core's ProviderConfig::from_env).

const native = require("./native.cjs");
const { run } = require("./error.cjs");

/**
 * `{provider, model}` from MODELPORT_PROVIDER (openai | azure | anthropic), MODELPORT_BASE_URL,
 * MODELPORT_API_KEY (or OPENAI_API_KEY / AZURE_OPENAI_API_KEY / ANTHROPIC_API_KEY), MODELPORT_MODEL,
 * MODELPORT_WIRE_API and MODELPORT_AZURE_API_VERSION, ready to spread into createSession; undefined
 * when MODELPORT_PROVIDER is unset. A missing or wrong variable throws a ConfigError naming it.
 */
function providerFromEnv() {
  const json = run(() => native.providerFromEnv());
  return json == null ? undefined : JSON.parse(json);
}

module.exports = { providerFromEnv };
