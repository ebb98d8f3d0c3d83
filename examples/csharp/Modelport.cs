// A small C# wrapper of the modelport C ABI (libmodelport.so, bindings-ffi/include/modelport.h):
// SafeHandles for the client and the session, a Task over mp_session_send_async (cancelled through
// mp_session_abort), tools and a bearer token provider as C# delegates, errors as one exception type
// carrying the status code and core's error code. It only converts data: every behaviour is the
// library's. Quickstart.cs uses it.
//
// Builds with Mono's C# compiler (mcs) or any .NET SDK; the library is found through
// LD_LIBRARY_PATH (or next to the executable).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Modelport
{
    /// <summary>The C functions, as declared in bindings-ffi/include/modelport.h.</summary>
    static class NativeMethods
    {
        const string Lib = "modelport";
        const CallingConvention Cdecl = CallingConvention.Cdecl;
        const UnmanagedType Utf8 = UnmanagedType.LPUTF8Str;

        public const int MP_OK = 0;
        public const int MP_ERR_CANCELLED = 14;

        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void EventFn(IntPtr userData, IntPtr eventType, IntPtr eventJson);
        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void ToolFn(IntPtr userData, IntPtr argumentsJson, IntPtr invocationJson, IntPtr result);
        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void TokenFn(IntPtr userData, IntPtr reply);
        [UnmanagedFunctionPointer(Cdecl)]
        public delegate void SendDoneFn(IntPtr userData, int status, IntPtr resultJson, IntPtr errorMessage);

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

        /// <summary>mp_session_callbacks, in the header's order; a zero field is "not set".</summary>
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
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern IntPtr mp_last_error_json();
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern IntPtr mp_status_name(int status);
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
        public static extern int mp_client_new([MarshalAs(Utf8)] string optionsJson, out ClientHandle client);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern int mp_client_stop(ClientHandle client, IntPtr errorsJson);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_client_create_session_ex(ClientHandle client, [MarshalAs(Utf8)] string configJson,
            [In] Tool[] tools, UIntPtr toolCount, ref SessionCallbacks callbacks, out IntPtr session);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_session_on(SessionHandle session, [MarshalAs(Utf8)] string eventType, EventFn callback,
            IntPtr userData, out IntPtr subscription);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_subscription_free(IntPtr subscription);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_session_send_async(SessionHandle session, [MarshalAs(Utf8)] string optionsJson,
            ulong timeoutMs, SendDoneFn done, IntPtr userData);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern int mp_session_abort(SessionHandle session);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern IntPtr mp_session_id(SessionHandle session);
        [DllImport(Lib, CallingConvention = Cdecl)] public static extern void mp_session_free(IntPtr session);

        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_tool_result_set_text(IntPtr result, [MarshalAs(Utf8)] string text);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_tool_result_set_error(IntPtr result, [MarshalAs(Utf8)] string message);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_token_reply_set_token(IntPtr reply, [MarshalAs(Utf8)] string token, ulong expiresAtUnixMs);
        [DllImport(Lib, CallingConvention = Cdecl)]
        public static extern int mp_token_reply_set_error(IntPtr reply, [MarshalAs(Utf8)] string message);

        /// <summary>A copy of a library string (NULL: null).</summary>
        public static string Text(IntPtr s)
        {
            return s == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(s);
        }

        /// <summary>A UTF-8 copy in unmanaged memory, freed with Marshal.FreeHGlobal.</summary>
        public static IntPtr Utf8Copy(string s)
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(s + "\0");
            IntPtr p = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            return p;
        }
    }

    /// <summary>A failure of the library: its status (MP_ERR_*), and core's stable error code
    /// ("rate_limited", "cancelled", ...; "usage" or "panic" for the C ABI's own).</summary>
    public class ModelportException : Exception
    {
        public int Status { get; private set; }
        public string Code { get; private set; }

        public ModelportException(int status, string code, string message) : base(message)
        {
            Status = status;
            Code = code;
        }

        /// <summary>The calling thread's last error, as the failed call left it.</summary>
        internal static ModelportException Last(int status)
        {
            string code = Json.Get(NativeMethods.Text(NativeMethods.mp_last_error_json()), "/code")
                ?? NativeMethods.Text(NativeMethods.mp_status_name(status));
            return new ModelportException(status, code, NativeMethods.Text(NativeMethods.mp_last_error_message()));
        }

        internal static void Check(int status)
        {
            if (status != NativeMethods.MP_OK) throw Last(status);
        }
    }

    /// <summary>Reads a value out of a JSON document with the library's RFC 6901 helper.</summary>
    public static class Json
    {
        /// <summary>The value at `pointer` (a string as its text, anything else as JSON), or null.</summary>
        public static string Get(string json, string pointer)
        {
            if (string.IsNullOrEmpty(json)) return null;
            IntPtr doc = NativeMethods.Utf8Copy(json);
            try
            {
                IntPtr value;
                if (NativeMethods.mp_json_pointer(doc, pointer, out value) != NativeMethods.MP_OK) return null;
                string text = NativeMethods.Text(value);
                NativeMethods.mp_string_free(value);
                return text;
            }
            finally
            {
                Marshal.FreeHGlobal(doc);
            }
        }
    }

    /// <summary>An mp_client: freed once, after every call in flight on it has returned.</summary>
    public sealed class ClientHandle : SafeHandle
    {
        public ClientHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            NativeMethods.mp_client_free(handle);
            return true;
        }
    }

    /// <summary>An mp_session, with what its callbacks need kept alive until it is freed.</summary>
    public sealed class SessionHandle : SafeHandle
    {
        // Delegates and strings the library may use until mp_session_free returns.
        internal readonly List<object> KeepAlive = new List<object>();
        internal readonly List<IntPtr> Strings = new List<IntPtr>();

        public SessionHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        internal void Adopt(IntPtr session)
        {
            SetHandle(session);
        }

        protected override bool ReleaseHandle()
        {
            // Disconnects the session; pending sends complete with MP_ERR_CANCELLED before it returns,
            // and no callback runs after it.
            NativeMethods.mp_session_free(handle);
            foreach (IntPtr p in Strings) Marshal.FreeHGlobal(p);
            Strings.Clear();
            KeepAlive.Clear();
            return true;
        }
    }

    /// <summary>A bearer token and when it expires (the library reuses it until 60 s before).</summary>
    public sealed class BearerToken
    {
        public readonly string Token;
        public readonly DateTimeOffset ExpiresOn;

        public BearerToken(string token, DateTimeOffset expiresOn)
        {
            Token = token;
            ExpiresOn = expiresOn;
        }
    }

    /// <summary>A tool: its JSON schema and a handler from the arguments JSON to the result text.
    /// The handler runs on a library thread; an exception becomes a failure result.</summary>
    public sealed class Tool
    {
        public readonly string Name;
        public readonly string Description;
        public readonly string ParametersJson;
        public readonly Func<string, string> Handler;

        public Tool(string name, string description, string parametersJson, Func<string, string> handler)
        {
            Name = name;
            Description = description;
            ParametersJson = parametersJson;
            Handler = handler;
        }
    }

    /// <summary>The entry point: sessions share its connections and threads.</summary>
    public sealed class Client : IDisposable
    {
        readonly ClientHandle handle;

        /// <summary>A client; `optionsJson` is the C ABI's client options (null: defaults).</summary>
        public Client(string optionsJson = null)
        {
            ModelportException.Check(NativeMethods.mp_client_new(optionsJson, out handle));
        }

        /// <summary>A session from `configJson` (the C ABI's session config), with C# tools and a bearer
        /// token provider for its provider (called on a library thread; it may block).</summary>
        public Session CreateSession(string configJson, Tool[] tools = null, Func<BearerToken> tokenProvider = null)
        {
            var session = new SessionHandle();
            var native = new NativeMethods.Tool[tools == null ? 0 : tools.Length];
            var callbacks = new NativeMethods.SessionCallbacks();
            try
            {
                for (int i = 0; i < native.Length; i++) native[i] = NativeTool(session, tools[i]);
                if (tokenProvider != null)
                {
                    NativeMethods.TokenFn fn = (userData, reply) => GiveToken(tokenProvider, reply);
                    session.KeepAlive.Add(fn);
                    callbacks.BearerTokenProvider = Marshal.GetFunctionPointerForDelegate(fn);
                }
                IntPtr raw;
                ModelportException.Check(NativeMethods.mp_client_create_session_ex(handle, configJson,
                    native.Length == 0 ? null : native, (UIntPtr)native.Length, ref callbacks, out raw));
                session.Adopt(raw);
                return new Session(session);
            }
            catch
            {
                if (session.IsInvalid)
                {
                    foreach (IntPtr p in session.Strings) Marshal.FreeHGlobal(p);
                    session.Strings.Clear();
                }
                session.Dispose();
                throw;
            }
        }

        static NativeMethods.Tool NativeTool(SessionHandle session, Tool tool)
        {
            NativeMethods.ToolFn fn = (userData, args, invocation, result) => RunTool(tool, args, result);
            session.KeepAlive.Add(fn);
            var strings = new[] { tool.Name, tool.Description ?? "", tool.ParametersJson ?? "{\"type\":\"object\"}" };
            var copies = new IntPtr[3];
            for (int i = 0; i < 3; i++)
            {
                copies[i] = NativeMethods.Utf8Copy(strings[i]);
                session.Strings.Add(copies[i]);
            }
            return new NativeMethods.Tool
            {
                Name = copies[0],
                Description = copies[1],
                ParametersJson = copies[2],
                Handler = Marshal.GetFunctionPointerForDelegate(fn),
                UserData = IntPtr.Zero,
            };
        }

        // No exception may unwind into native code: each becomes the tool's failure.
        static void RunTool(Tool tool, IntPtr args, IntPtr result)
        {
            try
            {
                NativeMethods.mp_tool_result_set_text(result, tool.Handler(NativeMethods.Text(args)));
            }
            catch (Exception e)
            {
                NativeMethods.mp_tool_result_set_error(result, e.Message);
            }
        }

        static void GiveToken(Func<BearerToken> provider, IntPtr reply)
        {
            try
            {
                BearerToken t = provider();
                NativeMethods.mp_token_reply_set_token(reply, t.Token, (ulong)t.ExpiresOn.ToUnixTimeMilliseconds());
            }
            catch (Exception e)
            {
                NativeMethods.mp_token_reply_set_error(reply, e.Message);
            }
        }

        /// <summary>Aborts every send and ends every session (their handles stay to be disposed).</summary>
        public void Stop()
        {
            ModelportException.Check(NativeMethods.mp_client_stop(handle, IntPtr.Zero));
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>A conversation with one model.</summary>
    public sealed class Session : IDisposable
    {
        readonly SessionHandle handle;
        // One completion delegate for every send: the Task travels in user_data as a GCHandle.
        static readonly NativeMethods.SendDoneFn Done = OnSendDone;
        static readonly NativeMethods.EventFn Deliver = OnEvent;

        internal Session(SessionHandle handle)
        {
            this.handle = handle;
        }

        public string Id
        {
            get { return NativeMethods.Text(NativeMethods.mp_session_id(handle)); }
        }

        /// <summary>Sends `prompt` and completes with the send's last assistant.message event (JSON), or
        /// null when it had none. Faults with a ModelportException (Code "cancelled" when aborted,
        /// "timeout" after `timeoutMs`, 0: 60 s); `cancellationToken` aborts the session's running send.
        /// Continuations never run on the library's thread.</summary>
        public Task<string> SendAndWaitAsync(string prompt, CancellationToken cancellationToken = default(CancellationToken),
            ulong timeoutMs = 0)
        {
            var completion = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (cancellationToken.IsCancellationRequested)
            {
                completion.SetException(new ModelportException(NativeMethods.MP_ERR_CANCELLED, "cancelled",
                    "the send was cancelled before it started"));
                return completion.Task;
            }
            GCHandle state = GCHandle.Alloc(completion);
            int status = NativeMethods.mp_session_send_async(handle, SendOptions(prompt), timeoutMs, Done, GCHandle.ToIntPtr(state));
            if (status != NativeMethods.MP_OK)
            {
                // `done` is never called for a refused send.
                state.Free();
                completion.SetException(ModelportException.Last(status));
                return completion.Task;
            }
            if (cancellationToken.CanBeCanceled)
            {
                // mp_session_abort blocks until the send has ended: off the cancelling thread.
                CancellationTokenRegistration registration = cancellationToken.Register(() => Task.Run(() =>
                {
                    try
                    {
                        NativeMethods.mp_session_abort(handle);
                    }
                    catch (ObjectDisposedException)
                    {
                        // The session was disposed first: freeing it cancelled the send already.
                    }
                }));
                completion.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
            }
            return completion.Task;
        }

        static void OnSendDone(IntPtr userData, int status, IntPtr resultJson, IntPtr errorMessage)
        {
            GCHandle state = GCHandle.FromIntPtr(userData);
            var completion = (TaskCompletionSource<string>)state.Target;
            state.Free();
            if (status == NativeMethods.MP_OK)
                completion.SetResult(NativeMethods.Text(resultJson));
            else
                completion.SetException(ModelportException.Last(status));
        }

        /// <summary>Calls `handler(type, eventJson)` for each event of `eventType` ("*": all), on a
        /// library thread, in order; disposing the result unsubscribes. An unknown type throws
        /// (Code "config", naming the valid types).</summary>
        public IDisposable On(string eventType, Action<string, string> handler)
        {
            GCHandle state = GCHandle.Alloc(handler);
            IntPtr subscription;
            int status = NativeMethods.mp_session_on(handle, eventType, Deliver, GCHandle.ToIntPtr(state), out subscription);
            if (status != NativeMethods.MP_OK)
            {
                state.Free();
                throw ModelportException.Last(status);
            }
            return new Subscription(subscription, state);
        }

        static void OnEvent(IntPtr userData, IntPtr type, IntPtr json)
        {
            var handler = (Action<string, string>)GCHandle.FromIntPtr(userData).Target;
            try
            {
                handler(NativeMethods.Text(type), NativeMethods.Text(json));
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("a session.On handler threw: " + e);
            }
        }

        static string SendOptions(string prompt)
        {
            var escaped = new System.Text.StringBuilder();
            foreach (char c in prompt)
            {
                if (c == '"' || c == '\\') escaped.Append('\\').Append(c);
                else if (c < ' ') escaped.AppendFormat("\\u{0:x4}", (int)c);
                else escaped.Append(c);
            }
            return "{\"prompt\": \"" + escaped + "\"}";
        }

        /// <summary>Disconnects the session (it stays stored) and releases its callbacks.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        sealed class Subscription : IDisposable
        {
            IntPtr subscription;
            GCHandle state;

            internal Subscription(IntPtr subscription, GCHandle state)
            {
                this.subscription = subscription;
                this.state = state;
            }

            public void Dispose()
            {
                if (subscription == IntPtr.Zero) return;
                // After this returns the callback is not running and is not called again.
                NativeMethods.mp_subscription_free(subscription);
                subscription = IntPtr.Zero;
                state.Free();
            }
        }
    }

    /// <summary>The built-in replay provider (recorded conversations on 127.0.0.1), for offline use.</summary>
    public sealed class ReplayServer : IDisposable
    {
        IntPtr replay;

        public ReplayServer(string source, string optionsJson = null)
        {
            ModelportException.Check(NativeMethods.mp_replay_start(source, optionsJson, out replay));
        }

        public string Url
        {
            get { return NativeMethods.Text(NativeMethods.mp_replay_url(replay)); }
        }

        /// <summary>The requests received so far, as a JSON array of {method, path, headers, body}.</summary>
        public string Requests()
        {
            IntPtr json;
            ModelportException.Check(NativeMethods.mp_replay_requests(replay, out json));
            string text = NativeMethods.Text(json);
            NativeMethods.mp_string_free(json);
            return text;
        }

        public ulong RequestCount
        {
            get
            {
                ulong n;
                ModelportException.Check(NativeMethods.mp_replay_request_count(replay, out n));
                return n;
            }
        }

        public void Dispose()
        {
            NativeMethods.mp_replay_stop(replay);
            replay = IntPtr.Zero;
        }
    }
}
