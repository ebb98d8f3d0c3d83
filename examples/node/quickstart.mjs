// The quickstart in Node.js: create a session, print each assistant.message, ask "What is 2+2?".
//
// With MODELPORT_PROVIDER set (openai | azure | anthropic, plus MODELPORT_BASE_URL, MODELPORT_API_KEY,
// MODELPORT_MODEL and optionally MODELPORT_WIRE_API, read by providerFromEnv()) it talks to that
// provider. Otherwise it starts the built-in replay provider with a recorded answer, configured like
// an Azure AI Foundry deployment, and works offline.
//
//   (cd bindings-node && npm install && npm run build)   # once
//   node examples/node/quickstart.mjs
//
// In your own project the imports are `from "modelport"` and `from "modelport/testing"`.
import { fileURLToPath } from "node:url";
import { Client, providerFromEnv } from "../../bindings-node/lib/index.mjs";
import { ReplayServer } from "../../bindings-node/lib/testing.mjs";

let replay;
// Core's reader of the MODELPORT_* variables: {provider, model}, or undefined without MODELPORT_PROVIDER.
let { model, provider } = providerFromEnv() ?? {};
if (!provider) {
  replay = await ReplayServer.start({
    path: fileURLToPath(new URL("../replay/quickstart.yaml", import.meta.url)),
  });
  console.log(
    `(MODELPORT_PROVIDER is not set: answering from the built-in replay provider at ${replay.url}, offline)`,
  );
  // Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route, the
  // Responses wire API.
  model = "YOUR-DEPLOYMENT-NAME";
  provider = {
    type: "openai",
    baseUrl: `${replay.url}/openai/v1/`,
    wireApi: "responses",
    apiKey: "not-needed-offline",
  };
}

// Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite),
// where a later run can resume them.
const client = new Client({ sessionStore: "memory" });
const session = await client.createSession({ model, provider });

session.on("assistant.message", (event) => {
  console.log(event.data.content);
});

await session.sendAndWait({ prompt: "What is 2+2?" });
await client.stop();
await replay?.stop();
