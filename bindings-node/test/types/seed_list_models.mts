// The seed's "Custom model listing", with only the imports changed.
import { CopilotClient } from "modelport";
import type { ModelInfo } from "modelport";

const client = new CopilotClient({
    onListModels: () => [
        {
            id: "my-custom-model",
            name: "My Custom Model",
            capabilities: {
                supports: { vision: false, reasoningEffort: false },
                limits: { max_context_window_tokens: 128000 },
            },
        },
    ],
});

const models: ModelInfo[] = await client.listModels();
console.log(models.map((m) => m.id));
await client.stop();
