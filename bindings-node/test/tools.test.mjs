// Tools: JSON-schema and zod parameters, parallel calls, sync and async handlers, throwing handlers,
// permission handling.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { z } from "zod";
import { approveAll, Client, ConfigError, defineTool } from "modelport";
import { deferred, FORMATS, openai, startReplay } from "./helpers.mjs";

let server;
before(async () => {
  server = await startReplay();
});
after(() => server.stop());

const WEATHER = {
  Paris: { city: "Paris", conditions: "sunny", temperature_c: 22 },
  Tokyo: { city: "Tokyo", conditions: "rainy", temperature_c: 17 },
};

/** A weather tool whose calls wait for each other: it only finishes if the calls run concurrently. */
function concurrentWeatherTool(expected) {
  const started = [];
  const allStarted = deferred();
  const tool = defineTool("get_weather", {
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "The city" } },
      required: ["city"],
    },
    handler: async ({ city }, invocation) => {
      started.push(invocation.toolCallId);
      if (started.length === expected) allStarted.resolve();
      await allStarted.promise;
      return WEATHER[city];
    },
  });
  return { tool, started };
}

for (const [name, provider] of FORMATS) {
  test(`parallel calls of a JSON-schema tool run concurrently (${name})`, async () => {
    const client = new Client();
    try {
      const { tool, started } = concurrentWeatherTool(2);
      const session = await client.createSession({
        model: "test-model",
        provider: provider(server),
        tools: [tool],
        onPermissionRequest: approveAll,
      });
      const completes = [];
      session.on("tool.execution_complete", (e) => completes.push(e.data));
      const answer = await session.sendAndWait({ prompt: "What's the weather like in Paris and in Tokyo?" }, 20_000);
      assert.equal(answer.data.content, "It is sunny and 22 °C in Paris, and rainy and 17 °C in Tokyo.");
      assert.equal(started.length, 2);
      assert.deepEqual(
        completes.map((c) => [c.success, c.result.content]).sort(),
        [
          [true, '{"city":"Paris","conditions":"sunny","temperature_c":22}'],
          [true, '{"city":"Tokyo","conditions":"rainy","temperature_c":17}'],
        ],
      );
      // The schema reached the provider.
      const body = server.requests().at(-1).body;
      assert.match(JSON.stringify(body.tools), /"city"/);
    } finally {
      await client.stop();
    }
  });
}

test("a zod schema is sent as JSON schema and the handler gets parsed arguments", async () => {
  const client = new Client();
  try {
    const calls = [];
    const bookTable = defineTool("book_table", {
      description: "Books a table",
      parameters: z.object({
        restaurant: z.string().describe("Restaurant name"),
        guests: z.number().int().min(1),
        seat: z.string().default("window"),
      }),
      handler: ({ restaurant, guests, seat }) => {
        calls.push({ restaurant, guests, seat });
        return `BOOKED ${restaurant} for ${guests} (${seat} seat)`;
      },
    });
    const session = await client.createSession({ model: "test-model", provider: openai(server), tools: [bookTable] });
    const answer = await session.sendAndWait("Book a table for 2 at Luigi's.");
    assert.equal(answer.data.content, "Your table at Luigi's for 2 is booked.");
    assert.deepEqual(calls, [{ restaurant: "Luigi's", guests: 2, seat: "window" }]);
    const sent = server.requests().at(-1).body.tools[0].function;
    assert.equal(sent.name, "book_table");
    assert.equal(sent.parameters.type, "object");
    assert.equal(sent.parameters.properties.restaurant.description, "Restaurant name");
    assert.deepEqual(sent.parameters.required, ["restaurant", "guests", "seat"].filter((k) => sent.parameters.required.includes(k)));
    assert.equal(sent.parameters.$schema, undefined);

    // Invalid arguments: the handler is not called; the model is told why.
    calls.length = 0;
    const session2 = await client.createSession({ model: "test-model", provider: openai(server), tools: [bookTable] });
    const completes = [];
    session2.on("tool.execution_complete", (e) => completes.push(e.data));
    const answer2 = await session2.sendAndWait("Book a table for many at Luigi's.");
    assert.equal(answer2.data.content, "How many guests exactly?");
    assert.equal(calls.length, 0);
    assert.equal(completes[0].success, false);
    assert.equal(completes[0].error.code, "failure");
  } finally {
    await client.stop();
  }
});

test("a throwing handler becomes a failure result: fixed text for the model, real message for the host", async () => {
  const client = new Client();
  try {
    const getUserLocation = defineTool("get_user_location", {
      description: "Gets the user's location",
      handler: async () => {
        throw new Error("GPS unavailable: secret internal detail");
      },
    });
    const session = await client.createSession({ model: "test-model", provider: openai(server), tools: [getUserLocation] });
    const completes = [];
    session.on("tool.execution_complete", (e) => completes.push(e.data));
    const answer = await session.sendAndWait("What is my location? If you can't find out, just say 'unknown'.");
    assert.equal(answer.data.content, "Your location is unknown.");
    assert.equal(completes.length, 1);
    assert.equal(completes[0].success, false);
    assert.match(completes[0].error.message, /GPS unavailable: secret internal detail/);
    const toolMessage = server.requests().at(-1).body.messages.find((m) => m.role === "tool");
    assert.equal(
      toolMessage.content,
      "Failed to execute `get_user_location` tool with arguments: {} due to error: Error: Tool execution failed",
    );
    assert.doesNotMatch(JSON.stringify(server.requests().at(-1).body), /secret internal detail/);
  } finally {
    await client.stop();
  }
});

test("a synchronous throw and a non-Error throw are failures too", async () => {
  const client = new Client();
  try {
    for (const thrown of [() => { throw new TypeError("sync boom"); }, () => { throw "a string"; }]) {
      const tool = defineTool("get_user_location", { description: "d", handler: thrown });
      const session = await client.createSession({ model: "test-model", provider: openai(server), tools: [tool] });
      const completes = [];
      session.on("tool.execution_complete", (e) => completes.push(e.data));
      const answer = await session.sendAndWait("What is my location? If you can't find out, just say 'unknown'.");
      assert.equal(answer.data.content, "Your location is unknown.");
      assert.equal(completes[0].success, false);
      assert.match(completes[0].error.message, /sync boom|a string/);
    }
  } finally {
    await client.stop();
  }
});

test("the permission handler is asked and its refusal ends the turn without running the tool", async () => {
  const client = new Client();
  try {
    let ran = false;
    const encrypt = defineTool("encrypt_string", {
      description: "Encrypts a string",
      parameters: { type: "object", properties: { input: { type: "string" } }, required: ["input"] },
      handler: () => {
        ran = true;
        return "ENCRYPTED";
      },
    });
    const asked = [];
    const session = await client.createSession({
      model: "test-model",
      provider: openai(server),
      tools: [encrypt],
      onPermissionRequest: async (request, invocation) => {
        asked.push({ request, invocation });
        return { kind: "reject", feedback: "not today" };
      },
    });
    const completes = [];
    session.on("tool.execution_complete", (e) => completes.push(e.data));
    const before = server.requestCount;
    const answer = await session.sendAndWait("Use encrypt_string to encrypt this string: Hello");
    assert.equal(ran, false);
    assert.equal(server.requestCount, before + 1, "no model call after the refusal");
    assert.equal(answer?.data.toolRequests?.[0]?.name, "encrypt_string");
    assert.equal(asked.length, 1);
    assert.equal(asked[0].request.kind, "custom-tool");
    assert.equal(asked[0].request.toolName, "encrypt_string");
    assert.deepEqual(asked[0].request.arguments, { input: "Hello" });
    assert.equal(asked[0].invocation.sessionId, session.sessionId);
    assert.equal(completes[0].success, false);
    assert.equal(completes[0].error.code, "denied");
  } finally {
    await client.stop();
  }
});

test("a throwing permission handler refuses the call", async () => {
  const client = new Client();
  try {
    let ran = false;
    const encrypt = defineTool("encrypt_string", { description: "d", handler: () => (ran = true) });
    const session = await client.createSession({
      model: "test-model",
      provider: openai(server),
      tools: [encrypt],
      onPermissionRequest: () => {
        throw new Error("no UI");
      },
    });
    await session.sendAndWait("Use encrypt_string to encrypt this string: Hello");
    assert.equal(ran, false);
  } finally {
    await client.stop();
  }
});

test("availableTools / excludedTools choose the tools offered; toolChoice and parallelToolCalls reach the request", async () => {
  const client = new Client();
  try {
    const make = (name) => defineTool(name, { description: name, handler: () => name });
    const session = await client.createSession({
      model: "test-model",
      provider: openai(server),
      tools: [make("a"), make("b"), make("c")],
      availableTools: ["a", "b"],
      excludedTools: ["b"],
      toolChoice: "required",
      parallelToolCalls: false,
    });
    await session.sendAndWait("What is 2+2?");
    const body = server.requests().at(-1).body;
    assert.deepEqual(body.tools.map((t) => t.function.name), ["a"]);
    assert.equal(body.tool_choice, "required");
    assert.equal(body.parallel_tool_calls, false);
  } finally {
    await client.stop();
  }
});

test("invalid tool definitions are config errors", async () => {
  const client = new Client();
  try {
    const tool = defineTool("t", { description: "d", handler: () => "x" });
    await assert.rejects(
      client.createSession({ model: "test-model", provider: openai(server), tools: [tool, tool] }),
      (e) => e instanceof ConfigError && e.code === "config" && /unique/.test(e.message),
    );
    assert.throws(() => defineTool("t", {}), (e) => e.code === "config");
  } finally {
    await client.stop();
  }
});
