// One streamed turn through the Node binding against llama.cpp's server: node stream_turn.mjs URL
// The deltas must concatenate to the final message, which must not be empty.
import assert from "node:assert/strict";
import { Client } from "../../bindings-node/lib/index.mjs";

const url = process.argv[2];
const client = new Client();
for (const [name, provider] of [
  ["chat completions", { type: "openai", baseUrl: `${url}/v1` }],
  ["anthropic messages", { type: "anthropic", baseUrl: url }],
]) {
  const session = await client.createSession({
    model: "smollm2",
    provider: { ...provider, maxOutputTokens: 32 },
    streaming: true,
  });
  let deltas = "";
  session.on("assistant.message_delta", (event) => {
    deltas += event.data.deltaContent;
  });
  const reply = await session.sendAndWait({ prompt: "Name three colours." }, 120_000);
  assert.ok(reply && reply.data.content.trim().length > 0, `${name}: an answer`);
  assert.equal(deltas, reply.data.content, `${name}: the deltas make the message`);
  console.log(`ok node ${name}: ${JSON.stringify(reply.data.content)}`);
}
await client.stop();
