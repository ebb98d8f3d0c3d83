"use strict";
// Client: options and configs to JSON plus native callbacks (native side: src/client.rs).

const native = require("./native.cjs");
const { jsonCallback, tokenCallback } = require("./callbacks.cjs");
const { settle, run, configError, fromRecord } = require("./error.cjs");
const { Session } = require("./session.cjs");
const tools = require("./tools.cjs");

/** The Copilot SDK's `approveAll`: approves every tool call (handled in Rust, no JS round trip). */
function approveAll() {
  return { kind: "approved" };
}

/** Splits a provider config into its JSON part and its token callback. */
function splitProvider(provider) {
  if (provider == null) return [undefined, undefined];
  if (typeof provider !== "object") throw configError("provider must be an object ({type, baseUrl, ...})");
  const { bearerTokenProvider, ...rest } = provider;
  if (bearerTokenProvider != null && typeof bearerTokenProvider !== "function") {
    throw configError("provider.bearerTokenProvider must be a function returning a token");
  }
  return [rest, bearerTokenProvider && tokenCallback(bearerTokenProvider)];
}

/** The native form of a session config. */
function sessionOptions(config, holder) {
  if (config == null || typeof config !== "object") throw configError("createSession: give a config object");
  const { tools: list, onPermissionRequest, provider, hooks, ...rest } = config;
  const [providerJson, bearerTokenProvider] = splitProvider(provider);
  if (onPermissionRequest != null && typeof onPermissionRequest !== "function") {
    throw configError("onPermissionRequest must be a function (or approveAll)");
  }
  if (list != null && !Array.isArray(list)) throw configError("tools must be an array (of defineTool(...))");
  if (hooks != null && typeof hooks !== "object") throw configError("hooks must be an object ({onPreToolUse: fn, ...})");
  const hookList = Object.entries(hooks ?? {}).filter(([, fn]) => fn != null);
  for (const [name, fn] of hookList) {
    if (typeof fn !== "function") throw configError(`hooks.${name} must be a function`);
  }
  return {
    config: JSON.stringify(providerJson ? { ...rest, provider: providerJson } : rest),
    tools: (list ?? []).map(tools.toNative),
    approveAll: onPermissionRequest === approveAll,
    onPermissionRequest:
      onPermissionRequest && onPermissionRequest !== approveAll
        ? jsonCallback((request) => onPermissionRequest(request, { sessionId: holder.sessionId }))
        : undefined,
    bearerTokenProvider,
    hooks: hookList.map(([name, fn]) => ({
      name,
      handler: jsonCallback((input) => fn(input, { sessionId: holder.sessionId })),
    })),
  };
}

/** The entry point: creates sessions, lists models, stops everything. */
class Client {
  #native;

  /**
   * @param options `provider` (the default for sessions without one and for listModels),
   * `onListModels`, `retry`, `timeouts`, `sessionStore`, `sessionLease`.
   */
  constructor(options = {}) {
    // Core reads the JSON part (and names any unknown option); the callbacks cross as functions.
    const { provider, onListModels, ...rest } = options ?? {};
    if (onListModels != null && typeof onListModels !== "function") {
      throw configError("onListModels must be a function returning ModelInfo[]");
    }
    const [providerJson, bearerTokenProvider] = splitProvider(provider);
    this.#native = run(
      () =>
        new native.Client({
          json: JSON.stringify(providerJson ? { ...rest, provider: providerJson } : rest),
          bearerTokenProvider,
          onListModels: onListModels && jsonCallback(() => onListModels()),
        }),
    );
  }

  /** Creates a session. */
  async createSession(config = {}) {
    const holder = { sessionId: config?.sessionId };
    const session = new Session(await settle(this.#native.createSession(sessionOptions(config, holder))));
    holder.sessionId = session.sessionId;
    return session;
  }

  /**
   * Resumes a stored session by id, in this process or any other sharing the session store, with a
   * new config (credentials, tools and handlers again): the conversation continues.
   */
  async resumeSession(sessionId, config = {}) {
    const holder = { sessionId };
    return new Session(await settle(this.#native.resumeSession(sessionId, sessionOptions(config, holder))));
  }

  /** The stored sessions (SessionMetadata), most recently modified first. */
  async listSessions() {
    return JSON.parse(await settle(this.#native.listSessions()));
  }

  /** The id of the most recently modified session, or undefined. */
  async getLastSessionId() {
    return (await settle(this.#native.getLastSessionId())) ?? undefined;
  }

  /** One stored session's metadata, or undefined when there is none. */
  async getSessionMetadata(sessionId) {
    return JSON.parse(await settle(this.#native.getSessionMetadata(sessionId))) ?? undefined;
  }

  /** Deletes a session from the store; resolves to false when there was none. */
  deleteSession(sessionId) {
    return settle(this.#native.deleteSession(sessionId));
  }

  /** The models: `onListModels` when given, else the default provider's list (cached). */
  async listModels() {
    return JSON.parse(await settle(this.#native.listModels()));
  }

  /** Does nothing harmful (kept for drop-in use of the Copilot SDK's `client.start()`). */
  async start() {
    await settle(this.#native.start());
  }

  /**
   * Aborts every running send, ends every session and event stream, and releases every callback,
   * so the process can exit. Resolves to the errors met while stopping (none in normal operation).
   */
  async stop() {
    const errors = await this.#native.stop();
    return errors.map((json) => fromRecord(JSON.parse(json)));
  }

  /** `await using client = new Client()`: stops the client at the end of the scope. */
  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}

module.exports = { Client, approveAll };
