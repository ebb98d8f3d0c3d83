// The quickstart in C#, on the small wrapper in Modelport.cs (SafeHandles, a Task per send): create a
// session, print each assistant.message, ask "What is 2+2?"; then let the model call get_weather,
// a C# method; then authenticate with a bearer token from a C# function, as an Entra ID (Azure AD)
// application does instead of an API key; then cancel a streaming send with a CancellationToken.
//
// Offline against the built-in replay provider (the recorded conversations in examples/replay):
//
//   examples/csharp/run.sh
//
// Builds with Mono's C# compiler (mcs) or any .NET SDK; the library is found through
// LD_LIBRARY_PATH (or next to the executable).
using System;
using System.Threading;
using System.Threading.Tasks;
using Modelport;

namespace Modelport.Sample
{
    static class Program
    {
        // What an Entra ID credential would return; made up here, since the sample runs offline.
        const string OfflineToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.offline-sample-token";

        static string SessionConfig(string url, bool withKey = true, bool streaming = false)
        {
            // Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route, the
            // Responses wire API. Without a key, a token provider gives the credential.
            return "{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"streaming\": " + (streaming ? "true" : "false")
                + ", \"provider\": {\"type\": \"openai\", \"baseUrl\": \"" + url + "/openai/v1/\", \"wireApi\": \"responses\""
                + (withKey ? ", \"apiKey\": \"not-needed-offline\"" : "") + "}}";
        }

        static int Main(string[] args)
        {
            try
            {
                return Run(args.Length > 0 ? args[0] : "examples/replay").GetAwaiter().GetResult();
            }
            catch (ModelportException e)
            {
                Console.Error.WriteLine("modelport failed (" + e.Code + "): " + e.Message);
                return 1;
            }
        }

        static async Task<int> Run(string recorded)
        {
            using (var replay = new ReplayServer(recorded))
            // Sessions in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite).
            using (var client = new Client("{\"sessionStore\": \"memory\"}"))
            {
                Console.WriteLine("(answering from the built-in replay provider at " + replay.Url + ", offline)");

                // 1. The quickstart turn: session.on("assistant.message", ...) and an awaited send.
                string answer;
                using (var session = client.CreateSession(SessionConfig(replay.Url)))
                using (session.On("assistant.message", (type, json) => Console.WriteLine(Json.Get(json, "/data/content"))))
                {
                    answer = Json.Get(await session.SendAndWaitAsync("What is 2+2?"), "/data/content");
                }

                // 2. A tool implemented in C#; it runs on a modelport thread, once per call the model makes.
                int toolCalls = 0;
                var weather = new Tool("get_weather", "Current weather for a city",
                    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}",
                    argumentsJson =>
                    {
                        Interlocked.Increment(ref toolCalls);
                        string city = Json.Get(argumentsJson, "/city");
                        if (city == "Paris") return "{\"city\":\"Paris\",\"conditions\":\"sunny\",\"temperature_c\":22}";
                        if (city == "Tokyo") return "{\"city\":\"Tokyo\",\"conditions\":\"rainy\",\"temperature_c\":17}";
                        throw new ArgumentException("no weather for " + city);
                    });
                string forecast;
                using (var session = client.CreateSession(SessionConfig(replay.Url), new[] { weather }))
                {
                    forecast = Json.Get(await session.SendAndWaitAsync("What's the weather like in Paris and in Tokyo?"), "/data/content");
                }
                Console.WriteLine(forecast);
                Console.WriteLine("(get_weather was called " + toolCalls + " times)");

                // 3. Entra ID: a bearer token from a C# function instead of an API key. With Azure.Identity:
                //   AccessToken t = new DefaultAzureCredential().GetToken(
                //       new TokenRequestContext(new[] { "https://cognitiveservices.azure.com/.default" }));
                //   return new BearerToken(t.Token, t.ExpiresOn);
                int tokenCalls = 0;
                string signedIn;
                using (var session = client.CreateSession(SessionConfig(replay.Url, withKey: false), null, () =>
                {
                    Interlocked.Increment(ref tokenCalls);
                    return new BearerToken(OfflineToken, DateTimeOffset.UtcNow.AddHours(1));
                }))
                {
                    signedIn = Json.Get(await session.SendAndWaitAsync("What is 2+2?"), "/data/content");
                }
                string authorization = Json.Get(replay.Requests(), "/" + (replay.RequestCount - 1) + "/headers/authorization");
                Console.WriteLine(signedIn + " (sent with " + authorization.Substring(0, 20) + "..., " + tokenCalls + " token call)");

                // 4. Cancelling: a slow stream (one character every 20 ms), cancelled at its first delta.
                string cancelled = null;
                using (var slow = new ReplayServer(recorded, "{\"deltaChars\": 1, \"chunkDelayMs\": 20}"))
                using (var session = client.CreateSession(SessionConfig(slow.Url, streaming: true)))
                using (var cancel = new CancellationTokenSource())
                using (session.On("assistant.message_delta", (type, json) => cancel.Cancel()))
                {
                    try
                    {
                        await session.SendAndWaitAsync("Write a haiku about streaming tokens.", cancel.Token);
                    }
                    catch (ModelportException e)
                    {
                        cancelled = e.Code;
                    }
                }
                Console.WriteLine("(the streaming send ended: " + (cancelled ?? "not cancelled") + ")");

                // A typo in an event type is refused, naming the valid ones.
                string typo = null;
                using (var session = client.CreateSession(SessionConfig(replay.Url)))
                {
                    try
                    {
                        session.On("assistant.mesage", (type, json) => { });
                    }
                    catch (ModelportException e)
                    {
                        typo = e.Code;
                    }
                }

                client.Stop();
                bool ok = answer == "2 + 2 = 4." && toolCalls == 2 && forecast.StartsWith("It is sunny and 22")
                    && signedIn == "2 + 2 = 4." && authorization == "Bearer " + OfflineToken && tokenCalls == 1
                    && cancelled == "cancelled" && typo == "config";
                return ok ? 0 : 1;
            }
        }
    }
}
