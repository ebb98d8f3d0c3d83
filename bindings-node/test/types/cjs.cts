// The CommonJS entry's types under --strict: `require` resolves lib/index.d.ts (the exports map's
// "require" condition), with the same classes as the ES module entry.
import modelport = require("modelport");
import testing = require("modelport/testing");

async function main(): Promise<void> {
    const server = await testing.ReplayServer.start({ yaml: [], fallback: "ok" });
    await using client = new modelport.Client({ sessionStore: "memory" });
    const session = await client.createSession({ model: "m", provider: { baseUrl: server.openaiUrl }, hookTimeoutMs: 100 });
    try {
        await session.sendAndWait({ prompt: "hi", signal: AbortSignal.abort() });
    } catch (e) {
        if (e instanceof modelport.AbortError) console.log(e.code, e instanceof modelport.ModelportError);
    }
    modelport.setLogHandler(null);
    console.log(modelport.providerFromEnv()?.model);
    await server.stop();
}
void main;
