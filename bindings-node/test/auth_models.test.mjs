// bearerTokenProvider and listModels / onListModels.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, CopilotClient, ModelportError } from "modelport";
import { openai, startReplay } from "./helpers.mjs";

let server;
before(async () => {
  server = await startReplay();
});
after(() => server.stop());

test("bearerTokenProvider is asked before every request and wins over apiKey", async () => {
  const client = new Client();
  try {
    const asked = [];
    const session = await client.createSession({
      model: "test-model",
      provider: {
        ...openai(server, { apiKey: "sk-not-used" }),
        bearerTokenProvider: async (request) => {
          asked.push(request);
          return `tok-${asked.length}`;
        },
      },
    });
    await session.sendAndWait("My name is Ada.");
    await session.sendAndWait("What is my name?");
    const auth = server.requests().slice(-2).map((r) => r.headers.authorization);
    assert.deepEqual(auth, ["Bearer tok-1", "Bearer tok-2"]);
    assert.deepEqual(asked[0], { providerName: "openai", sessionId: session.sessionId });
  } finally {
    await client.stop();
  }
});

test("a token with an expiry is reused; Azure Identity's AccessToken shape works", async () => {
  const client = new Client();
  try {
    let calls = 0;
    const session = await client.createSession({
      model: "test-model",
      provider: {
        type: "azure",
        baseUrl: server.url,
        bearerTokenProvider: () => {
          calls++;
          return { token: `entra-${calls}`, expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      },
    });
    await session.sendAndWait("My name is Ada.");
    await session.sendAndWait("What is my name?");
    assert.equal(calls, 1);
    const last = server.requests().at(-1);
    assert.equal(last.headers.authorization, "Bearer entra-1");
    assert.equal(last.headers["api-key"], undefined);
  } finally {
    await client.stop();
  }
});

test("a failing token provider: code auth, with its message", async () => {
  const client = new Client({ retry: { maxRetries: 0 } });
  try {
    const session = await client.createSession({
      model: "test-model",
      provider: { ...openai(server), bearerTokenProvider: async () => { throw new Error("vault is sealed"); } },
    });
    const before = server.requestCount;
    await assert.rejects(session.sendAndWait("What is 2+2?"), (e) => e.code === "auth" && /vault is sealed/.test(e.message));
    assert.equal(server.requestCount, before, "no request without a token");
  } finally {
    await client.stop();
  }
});

test("listModels() with onListModels: the handler's list, cached (the seed's example)", async () => {
  let calls = 0;
  const client = new CopilotClient({
    onListModels: () => {
      calls++;
      return [
        {
          id: "my-custom-model",
          name: "My Custom Model",
          capabilities: {
            supports: { vision: false, reasoningEffort: false },
            limits: { max_context_window_tokens: 128000 },
          },
        },
      ];
    },
  });
  try {
    await client.start();
    const models = await client.listModels();
    assert.deepEqual(models, [
      {
        id: "my-custom-model",
        name: "My Custom Model",
        capabilities: { supports: { vision: false, reasoningEffort: false }, limits: { max_context_window_tokens: 128000 } },
      },
    ]);
    await client.listModels();
    assert.equal(calls, 1);
  } finally {
    await client.stop();
  }
});

test("listModels() from the provider's endpoint, and a throwing onListModels", async () => {
  const client = new Client({ provider: openai(server) });
  try {
    const models = await client.listModels();
    assert.deepEqual(models.map((m) => m.id), ["test-model", "test-model-2"]);
    assert.equal(models[0].capabilities.supports.vision, false);
    assert.equal(server.requests().at(-1).path, "/v1/models");
    // The client's provider is the default for sessions.
    const session = await client.createSession({ model: "test-model" });
    assert.equal((await session.sendAndWait("What is 2+2?")).data.content, "2 + 2 = 4.");
  } finally {
    await client.stop();
  }
  const failing = new Client({ onListModels: async () => { throw new Error("catalog offline"); } });
  try {
    await assert.rejects(failing.listModels(), (e) => e instanceof ModelportError && /catalog offline/.test(e.message));
  } finally {
    await failing.stop();
  }
  const anthropic = new Client({ provider: { type: "anthropic", baseUrl: server.url, apiKey: "k" } });
  try {
    assert.deepEqual((await anthropic.listModels()).map((m) => m.id), ["test-model", "test-model-2"]);
  } finally {
    await anthropic.stop();
  }
});
