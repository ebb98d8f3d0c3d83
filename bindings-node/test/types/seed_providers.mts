// The seed's provider configurations and troubleshooting examples, each in a createSession call as
// the seed's "provider: {...}" snippets are meant to be used; only the import changed.
import { CopilotClient } from "modelport";

const client = new CopilotClient();

// OpenAI direct
await client.createSession({
    model: "gpt-4",
    provider: {
        type: "openai",
        baseUrl: "https://api.openai.com/v1",
        apiKey: process.env.OPENAI_API_KEY,
    },
});

// Azure OpenAI (native Azure endpoint)
await client.createSession({
    model: "gpt-4",
    provider: {
        type: "azure",
        baseUrl: "https://YOUR-RESOURCE.openai.azure.com",  // Just the host
        apiKey: process.env.AZURE_OPENAI_KEY,
        azure: {
            apiVersion: "2024-10-21",
        },
    },
});

// Azure AI Foundry (OpenAI-compatible endpoint)
await client.createSession({
    model: "gpt-4",
    provider: {
        type: "openai",
        baseUrl: "https://YOUR-RESOURCE.openai.azure.com/openai/v1/",
        apiKey: process.env.FOUNDRY_API_KEY,
        wireApi: "responses",  // For GPT-5 series models
    },
});

// Ollama (local)
await client.createSession({
    model: "llama3",
    provider: {
        type: "openai",
        baseUrl: "http://localhost:11434/v1",
        // No apiKey needed for local Ollama
    },
});

// Microsoft Foundry Local
await client.createSession({
    model: "phi-4-mini",
    provider: {
        type: "openai",
        baseUrl: "http://localhost:YOUR-PORT/v1",
        // No apiKey needed for local Foundry Local
    },
});

// Anthropic
await client.createSession({
    model: "claude-sonnet-4.5",
    provider: {
        type: "anthropic",
        baseUrl: "https://api.anthropic.com",
        apiKey: process.env.ANTHROPIC_API_KEY,
    },
});

// Bearer token authentication
await client.createSession({
    model: "my-model",
    provider: {
        type: "openai",
        baseUrl: "https://YOUR-CUSTOM-ENDPOINT.example.com/v1",
        bearerToken: process.env.MY_BEARER_TOKEN,  // Sets Authorization header
    },
});

// Troubleshooting: "Model not specified" (compiles; fails at run time with a clear error)
{
    // Error: model required with custom provider
    const session = await client.createSession({
        provider: { type: "openai", baseUrl: "..." },
    });
}
{
    // Correct: model specified
    const session = await client.createSession({
        model: "gpt-4",
        provider: { type: "openai", baseUrl: "..." },
    });
}

// Troubleshooting: Azure endpoint type confusion
const wrong = {
    // Wrong: using "openai" type with native Azure endpoint
    provider: {
        type: "openai",
        baseUrl: "https://YOUR-RESOURCE.openai.azure.com",
    },
} as const;
const correct = {
    // Correct: using "azure" type
    provider: {
        type: "azure",
        baseUrl: "https://YOUR-RESOURCE.openai.azure.com",
    },
} as const;
const foundry = {
    // Correct: OpenAI-compatible Azure AI Foundry endpoint
    provider: {
        type: "openai",
        baseUrl: "https://YOUR-RESOURCE.openai.azure.com/openai/v1/",
    },
} as const;
for (const c of [wrong, correct, foundry]) await client.createSession({ model: "gpt-4", ...c });

await client.stop();
