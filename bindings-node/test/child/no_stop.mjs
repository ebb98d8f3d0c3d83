// Without on() handlers nothing holds the event loop: the process exits even without stop().
import { Client } from "modelport";
import { openai, startReplay } from "../helpers.mjs";

const server = await startReplay();
const client = new Client();
const session = await client.createSession({ model: "test-model", provider: openai(server) });
console.log((await session.sendAndWait("What is 2+2?")).data.content);
