// Guardrails with session hooks: a policy denies one tool (the model is told why and answers without
// it), and a result hook redacts what another tool returned before the model sees it. The TypeScript
// form of examples/guardrail.rs.
//
// Offline, the built-in replay provider stands in for the model (it calls both tools, then answers;
// its answer is recorded for the denied and redacted results only).
//
//   (cd bindings-node && npm install && npm run build)   # once
//   bash examples/node/run-ts.sh guardrail               # type-checks (tsc --strict), then runs it
import { fileURLToPath } from "node:url";
import { Client, defineTool, type SessionHooks } from "modelport";
import { ReplayServer } from "modelport/testing";

const customer = { type: "object", properties: { id: { type: "string" } }, required: ["id"] };

const lookupCustomer = defineTool("lookup_customer", {
  description: "Looks a customer up",
  parameters: customer,
  handler: ({ id }: { id: string }) => `customer ${id} is Ada Lovelace, ada@example.com`,
});

const deleteCustomer = defineTool("delete_customer", {
  description: "Deletes a customer",
  parameters: customer,
  handler: ({ id }: { id: string }) => `deleted ${id}`,
});

const hooks: SessionHooks = {
  // No deletions from this agent: the handler never runs; the model is told why.
  onPreToolUse: ({ toolName }) =>
    toolName.startsWith("delete_")
      ? { permissionDecision: "deny", permissionDecisionReason: "deletions need a human" }
      : undefined,
  // E-mail addresses never reach the model.
  onPostToolUse: ({ toolResult }) => ({
    modifiedResult: toolResult.textResultForLlm
      .split(" ")
      .map((word) => (word.includes("@") ? "[email]" : word))
      .join(" "),
  }),
};

const replay = await ReplayServer.start({
  path: fileURLToPath(new URL("../replay/guardrail.yaml", import.meta.url)),
});
const client = new Client({ sessionStore: "memory" });
const session = await client.createSession({
  model: "YOUR-DEPLOYMENT-NAME",
  provider: { type: "openai", baseUrl: replay.openaiUrl },
  tools: [lookupCustomer, deleteCustomer],
  hooks,
});
session.on("tool.execution_complete", (event) => console.log(JSON.stringify(event)));
const reply = await session.sendAndWait({ prompt: "Look up c-42, then delete it." });
console.log(reply?.data.content);
// What the model received for the two calls.
for (const message of replay.requests()[1].body.messages) {
  if (message.role === "tool") console.log(`model saw: ${JSON.stringify(message.content)}`);
}
await client.stop();
await replay.stop();
