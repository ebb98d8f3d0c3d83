// Every wire format and provider route, streaming and not, over loopback.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "modelport";
import { FORMATS, startReplay } from "./helpers.mjs";

let server;
before(async () => {
  server = await startReplay();
});
after(() => server.stop());

for (const [name, provider] of FORMATS) {
  describe(name, () => {
    for (const streaming of [false, true]) {
      test(`${streaming ? "streaming" : "non-streaming"} answer`, async () => {
        const client = new Client();
        try {
          const before = server.requestCount;
          const session = await client.createSession({ model: "test-model", provider: provider(server), streaming });
          const deltas = [];
          session.on("assistant.message_delta", (e) => deltas.push(e.data.deltaContent));
          const answer = await session.sendAndWait({ prompt: "What is 2+2?" });
          assert.equal(answer.type, "assistant.message");
          assert.equal(answer.data.content, "2 + 2 = 4.");
          assert.equal(streaming ? deltas.join("") : deltas.length, streaming ? "2 + 2 = 4." : 0);
          assert.equal(server.requestCount, before + 1);
          const request = server.requests().at(-1);
          assert.equal(request.method, "POST");
          if (streaming) assert.equal(request.body.stream, true);
          else assert.equal(request.body.stream, undefined);
          const cfg = provider(server);
          if (cfg.type === "anthropic") {
            assert.equal(request.path, "/v1/messages");
            assert.equal(request.headers["x-api-key"], cfg.apiKey);
            assert.equal(request.headers["anthropic-version"], "2023-06-01");
          } else if (cfg.type === "azure") {
            assert.equal(request.headers["api-key"], cfg.apiKey);
            assert.match(
              request.path,
              cfg.azure ? /^\/openai\/v1\/chat\/completions$/ : /^\/openai\/deployments\/test-model\/chat\/completions\?api-version=2024-10-21$/,
            );
          } else {
            assert.equal(request.headers.authorization, `Bearer ${cfg.apiKey}`);
            assert.ok(request.path.endsWith(cfg.wireApi === "responses" ? "/responses" : "/chat/completions"), request.path);
          }
        } finally {
          await client.stop();
        }
      });
    }
  });
}
