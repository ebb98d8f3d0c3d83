// The quickstart in C#, through P/Invoke on the modelport C ABI (libmodelport.so), plus a tool
// implemented in C#: create a session, print each assistant.message, ask "What is 2+2?"; then let the
// model call get_weather; then authenticate with a bearer token from a C# function, as an Entra ID
// (Azure AD) application does instead of an API key.
//
// Offline against the built-in replay provider (the recorded conversations in examples/replay):
//
//   examples/csharp/run.sh
//
// Builds with Mono's C# compiler (mcs) or any .NET SDK; the library is found through
// LD_LIBRARY_PATH (or next to the executable).
using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Modelport.Sample
{
    /// <summary>The C functions used here, as declared in bindings-ffi/include/modelport.h.</summary>
    static class Native
    {
        const string Lib = "modelport";
        const CallingConvention Cdecl = CallingConvention.Cdecl;
        const UnmanagedType Utf8 = UnmanagedType.LPUTF8Str;

        public const int MP_OK = 0;

        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void EventFn(IntPtr userData, IntPtr eventType, IntPtr eventJson);

        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void ToolFn(IntPtr userData, IntPtr argumentsJson, IntPtr invocationJson, IntPtr result);

        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void TokenFn(IntPtr userData, IntPtr reply);

        /// <summary>mp_tool: every field a pointer (strings are UTF-8, NUL-terminated).</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct Tool
        {
            public IntPtr Name;
            public IntPtr Description;
            public IntPtr ParametersJson;
            public IntPtr Handler;
            public IntPtr UserData;
        }

        /// <summary>mp_session_callbacks: function pointers, user data and the hook names, in the
        /// header's order; a zero field is "not set".</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct SessionCallbacks
        {
            public IntPtr OnPermissionRequest;
            public IntPtr PermissionUserData;
            public IntPtr Hooks;
            public IntPtr OnHook;
            public IntPtr HookUserData;
            public IntPtr BearerTokenProvider;
            public IntPtr TokenUserData;
        }

        [DllImport(Lib, CallingConvention = Cdecl)] public static extern IntPtr mp_last_error_message();
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_string_free(IntPtr s);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_json_pointer(IntPtr json, [MarshalAs(Utf8)] string pointer, out IntPtr value);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_replay_start([MarshalAs(Utf8)] string source, [MarshalAs(Utf8)] string optionsJson, out IntPtr replay);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern IntPtr mp_replay_url(IntPtr replay);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern int mp_replay_request_count(IntPtr replay, out ulong count);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern int mp_replay_requests(IntPtr replay, out IntPtr requestsJson);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_replay_stop(IntPtr replay);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_client_new([MarshalAs(Utf8)] string optionsJson, out IntPtr client);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern int mp_client_stop(IntPtr client, IntPtr errorsJson);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_client_create_session(IntPtr client, [MarshalAs(Utf8)] string configJson,
            [In] Tool[] tools, UIntPtr toolCount, out IntPtr session);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_client_create_session_ex(IntPtr client, [MarshalAs(Utf8)] string configJson,
            [In] Tool[] tools, UIntPtr toolCount, ref SessionCallbacks callbacks, out IntPtr session);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_session_on(IntPtr session, [MarshalAs(Utf8)] string eventType, EventFn callback,
            IntPtr userData, out IntPtr subscription);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_subscription_free(IntPtr subscription);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_session_send_and_wait(IntPtr session, [MarshalAs(Utf8)] string optionsJson,
            ulong timeoutMs, out IntPtr resultJson);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_session_free(IntPtr session);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_tool_result_set_text(IntPtr result, [MarshalAs(Utf8)] string text);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_tool_result_set_error(IntPtr result, [MarshalAs(Utf8)] string message);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_token_reply_set_token(IntPtr reply, [MarshalAs(Utf8)] string token, ulong expiresAtUnixMs);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_token_reply_set_error(IntPtr reply, [MarshalAs(Utf8)] string message);
    }

    class ModelportException : Exception
    {
        public ModelportException(string what, int status)
            : base(what + " failed (status " + status + "): " + Marshal.PtrToStringUTF8(Native.mp_last_error_message())) { }
    }

    static class Program
    {
        // Delegates handed to native code must stay reachable as long as it may call them.
        static readonly Native.EventFn PrintMessage = OnAssistantMessage;
        static readonly Native.ToolFn GetWeather = OnGetWeather;
        static readonly Native.TokenFn EntraToken = OnTokenNeeded;
        static int toolCalls;
        static int tokenCalls;
        // What an Entra ID credential would return; made up here, since the sample runs offline.
        const string OfflineToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.offline-sample-token";

        static void Check(int status, string what)
        {
            if (status != Native.MP_OK) throw new ModelportException(what, status);
        }

        /// <summary>A string value out of a JSON document (the library's RFC 6901 helper).</summary>
        static string Json(IntPtr json, string pointer)
        {
            IntPtr value;
            Check(Native.mp_json_pointer(json, pointer, out value), "mp_json_pointer");
            string text = Marshal.PtrToStringUTF8(value);
            Native.mp_string_free(value);
            return text;
        }

        static IntPtr Utf8(string s)
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(s + "\0");
            IntPtr p = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            return p;
        }

        // session.on("assistant.message", event => Console.WriteLine(event.data.content)); called on a
        // modelport thread.
        static void OnAssistantMessage(IntPtr userData, IntPtr eventType, IntPtr eventJson)
        {
            Console.WriteLine(Json(eventJson, "/data/content"));
        }

        // The get_weather tool; called on a modelport thread, once per call the model makes.
        static void OnGetWeather(IntPtr userData, IntPtr argumentsJson, IntPtr invocationJson, IntPtr result)
        {
            Interlocked.Increment(ref toolCalls);
            string city = Json(argumentsJson, "/city");
            switch (city)
            {
                case "Paris":
                    Native.mp_tool_result_set_text(result, "{\"city\":\"Paris\",\"conditions\":\"sunny\",\"temperature_c\":22}");
                    break;
                case "Tokyo":
                    Native.mp_tool_result_set_text(result, "{\"city\":\"Tokyo\",\"conditions\":\"rainy\",\"temperature_c\":17}");
                    break;
                default:
                    Native.mp_tool_result_set_error(result, "no weather for " + city);
                    break;
            }
        }

        // The bearer token provider: called on a modelport thread before a request needs a token (again
        // once the token is within 60 s of its expiry, and after a 401). With Azure.Identity:
        //   AccessToken t = new DefaultAzureCredential().GetToken(
        //       new TokenRequestContext(new[] { "https://cognitiveservices.azure.com/.default" }));
        //   mp_token_reply_set_token(reply, t.Token, (ulong)t.ExpiresOn.ToUnixTimeMilliseconds());
        // It may block (it has its own thread). An exception must not escape into native code: report
        // it with mp_token_reply_set_error, and the request fails with MP_ERR_AUTH.
        static void OnTokenNeeded(IntPtr userData, IntPtr reply)
        {
            Interlocked.Increment(ref tokenCalls);
            try
            {
                ulong expiresAt = (ulong)DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
                Native.mp_token_reply_set_token(reply, OfflineToken, expiresAt);
            }
            catch (Exception e)
            {
                Native.mp_token_reply_set_error(reply, e.Message);
            }
        }

        static string SessionConfig(string url)
        {
            // Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route,
            // the Responses wire API.
            return "{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \""
                + url + "/openai/v1/\", \"wireApi\": \"responses\", \"apiKey\": \"not-needed-offline\"}}";
        }

        static string EntraSessionConfig(string url)
        {
            // No apiKey: the token provider gives the credential.
            return "{\"model\": \"YOUR-DEPLOYMENT-NAME\", \"provider\": {\"type\": \"openai\", \"baseUrl\": \""
                + url + "/openai/v1/\", \"wireApi\": \"responses\"}}";
        }

        /// <summary>The Authorization header of the replay provider's last request.</summary>
        static string LastAuthorization(IntPtr replay)
        {
            ulong count;
            IntPtr requests;
            Check(Native.mp_replay_request_count(replay, out count), "mp_replay_request_count");
            Check(Native.mp_replay_requests(replay, out requests), "mp_replay_requests");
            try { return Json(requests, "/" + (count - 1) + "/headers/authorization"); }
            finally { Native.mp_string_free(requests); }
        }

        static string Ask(IntPtr session, string prompt)
        {
            IntPtr result;
            Check(Native.mp_session_send_and_wait(session, "{\"prompt\": \"" + prompt + "\"}", 0, out result),
                "mp_session_send_and_wait");
            string content = Json(result, "/data/content");
            Native.mp_string_free(result);
            return content;
        }

        static int Main(string[] args)
        {
            string recorded = args.Length > 0 ? args[0] : "examples/replay";
            IntPtr replay = IntPtr.Zero, client = IntPtr.Zero, session = IntPtr.Zero;
            IntPtr subscription = IntPtr.Zero;
            var strings = new IntPtr[3];
            try
            {
                Check(Native.mp_replay_start(recorded, null, out replay), "mp_replay_start");
                string url = Marshal.PtrToStringUTF8(Native.mp_replay_url(replay));
                Console.WriteLine("(answering from the built-in replay provider at " + url + ", offline)");
                // Sessions in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite).
                Check(Native.mp_client_new("{\"sessionStore\": \"memory\"}", out client), "mp_client_new");

                // 1. The quickstart turn.
                Check(Native.mp_client_create_session(client, SessionConfig(url), null, UIntPtr.Zero, out session),
                    "mp_client_create_session");
                Check(Native.mp_session_on(session, "assistant.message", PrintMessage, IntPtr.Zero, out subscription),
                    "mp_session_on");
                string answer = Ask(session, "What is 2+2?");
                Native.mp_subscription_free(subscription);
                subscription = IntPtr.Zero;
                Native.mp_session_free(session);
                session = IntPtr.Zero;

                // 2. A tool implemented in C#.
                strings[0] = Utf8("get_weather");
                strings[1] = Utf8("Current weather for a city");
                strings[2] = Utf8("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");
                var tool = new Native.Tool
                {
                    Name = strings[0],
                    Description = strings[1],
                    ParametersJson = strings[2],
                    Handler = Marshal.GetFunctionPointerForDelegate(GetWeather),
                    UserData = IntPtr.Zero,
                };
                Check(Native.mp_client_create_session(client, SessionConfig(url), new[] { tool }, (UIntPtr)1, out session),
                    "mp_client_create_session");
                string weather = Ask(session, "What's the weather like in Paris and in Tokyo?");
                Console.WriteLine(weather);
                Console.WriteLine("(get_weather was called " + toolCalls + " times)");
                Native.mp_session_free(session);
                session = IntPtr.Zero;

                // 3. Entra ID: a bearer token from a C# function instead of an API key.
                var callbacks = new Native.SessionCallbacks
                {
                    OnPermissionRequest = IntPtr.Zero,
                    PermissionUserData = IntPtr.Zero,
                    Hooks = IntPtr.Zero,
                    OnHook = IntPtr.Zero,
                    HookUserData = IntPtr.Zero,
                    BearerTokenProvider = Marshal.GetFunctionPointerForDelegate(EntraToken),
                    TokenUserData = IntPtr.Zero,
                };
                Check(Native.mp_client_create_session_ex(client, EntraSessionConfig(url), null, UIntPtr.Zero,
                    ref callbacks, out session), "mp_client_create_session_ex");
                string signedIn = Ask(session, "What is 2+2?");
                string authorization = LastAuthorization(replay);
                Console.WriteLine(signedIn + " (sent with " + authorization.Substring(0, 20) + "..., "
                    + tokenCalls + " token call)");

                Check(Native.mp_client_stop(client, IntPtr.Zero), "mp_client_stop");
                bool ok = answer == "2 + 2 = 4." && toolCalls == 2 && weather.StartsWith("It is sunny and 22")
                    && signedIn == "2 + 2 = 4." && authorization == "Bearer " + OfflineToken && tokenCalls == 1;
                return ok ? 0 : 1;
            }
            catch (ModelportException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
            finally
            {
                Native.mp_subscription_free(subscription);
                Native.mp_session_free(session);
                Native.mp_client_free(client);
                Native.mp_replay_stop(replay);
                foreach (IntPtr p in strings) if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
            }
        }
    }
}
