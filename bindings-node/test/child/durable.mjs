// Run by durable.test.mjs: another process on the same session store.
//   durable.mjs STORE OPENAI_URL SESSION_ID send PROMPT   create, send, print "sent", exit (no stop)
//   durable.mjs STORE OPENAI_URL SESSION_ID hang PROMPT   create, send, print "sent", wait to be killed
//   durable.mjs STORE OPENAI_URL SESSION_ID hold          resume, print "holding"; on a line from
//                                                         stdin disconnect, print "released", exit
import { once } from "node:events";
import { Client } from "modelport";

const KEY = "sk-durable-NEVER-STORED-js-9b2d";
const [store, url, sessionId, mode, prompt] = process.argv.slice(2);
const client = new Client({ sessionStore: store });
const config = { model: "durable-model", provider: { type: "openai", baseUrl: url, apiKey: KEY } };

if (mode === "hold") {
  const session = await client.resumeSession(sessionId, config);
  console.log("holding");
  await once(process.stdin, "data");
  await session.disconnect();
  console.log("released");
  process.exit(0);
}
const session = await client.createSession({ ...config, sessionId });
await session.sendAndWait(prompt, 30_000);
console.log("sent");
if (mode === "hang") setInterval(() => {}, 1000);
// "send": the script ends without client.stop() or session.disconnect().
