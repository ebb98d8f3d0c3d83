// The seed's quickstart against the replay provider; must exit on its own after client.stop().
import { CopilotClient } from "modelport";
import { startReplay } from "../helpers.mjs";

const server = await startReplay();
const client = new CopilotClient();
const session = await client.createSession({
  model: "YOUR-DEPLOYMENT-NAME",
  provider: {
    type: "openai",
    baseUrl: `${server.url}/openai/v1/`,
    wireApi: "responses",
    apiKey: process.env.FOUNDRY_API_KEY,
  },
});

session.on("assistant.message", (event) => {
  console.log(event.data.content);
});

await session.sendAndWait({ prompt: "What is 2+2?" });
await client.stop();
await server.stop();
