// Every kind of callback registered and an event iterator left pending: client.stop() must still let
// the process exit. With "in-flight" as argument, stop() is called while a send streams.
import { Client, defineTool } from "modelport";
import { openai, startReplay } from "../helpers.mjs";

const inFlight = process.argv[2] === "in-flight";
const server = await startReplay({ deltaChars: 2, chunkDelayMs: inFlight ? 20 : 0 });
const client = new Client({ onListModels: () => [{ id: "m", name: "M" }] });
await client.listModels();
const tool = defineTool("get_weather", { description: "d", parameters: { type: "object" }, handler: () => "sunny" });
const session = await client.createSession({
  model: "test-model",
  provider: { ...openai(server), bearerTokenProvider: async () => "tok" },
  tools: [tool],
  streaming: true,
  onPermissionRequest: () => ({ kind: "approve-once" }),
});
session.on("assistant.message_delta", () => {});
session.on(() => {});
const pending = (async () => {
  let n = 0;
  for await (const _ of session.events()) n++;
  return n;
})();
if (inFlight) {
  const sent = session.sendAndWait("Tell me a long story.").catch((e) => e.code);
  await new Promise((resolve) => session.on("assistant.message_delta", resolve));
  await client.stop();
  console.log(`send: ${await sent}`);
} else {
  console.log((await session.sendAndWait("What is 2+2?")).data.content);
  await client.stop();
}
console.log(`iterator ended after ${await pending} events`);
await server.stop();
