// modelport's logs in a process of their own (the log sink is process-wide):
//   logging.mjs env      MODELPORT_LOG is set: one failed-then-retried send logs to stderr, and
//                        setLogHandler afterwards is refused (the logs already go to stderr)
//   logging.mjs handler  a log handler set and never removed, no stop(): the process still exits
import { Client, setLogHandler } from "modelport";
import { openai, startReplay } from "../helpers.mjs";

const mode = process.argv[2];
const server = await startReplay({ errors: "server_error" });
if (mode === "handler") {
  let records = 0;
  setLogHandler(() => records++, "debug");
  const client = new Client({ retry: { maxRetries: 1, initialBackoffMs: 5 } });
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  await session.sendAndWait("What is 2+2?").catch((e) => console.log(`send: ${e.code}`));
  await new Promise((resolve) => setTimeout(resolve, 100));
  console.log(records > 0 ? "records: yes" : "records: none");
} else {
  const client = new Client({ retry: { maxRetries: 1, initialBackoffMs: 5 } });
  const session = await client.createSession({ model: "test-model", provider: openai(server) });
  await session.sendAndWait("What is 2+2?").catch((e) => console.log(`send: ${e.code}`));
  try {
    setLogHandler(() => {}, "debug");
    console.log("setLogHandler: accepted");
  } catch (e) {
    console.log(`setLogHandler: ${e.code}: ${e.message}`);
  }
  await client.stop();
  await server.stop();
}
