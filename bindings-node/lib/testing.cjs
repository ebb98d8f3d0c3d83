"use strict";
// modelport/testing: the replay provider, for offline tests (native side: src/replay.rs).

const native = require("./native.cjs");
const { settle, run } = require("./error.cjs");

/**
 * A loopback provider on 127.0.0.1 that plays recorded conversations (Copilot snapshot YAML) in
 * every wire format: OpenAI Chat Completions and Responses, Anthropic Messages, the Azure routes,
 * and `/models`.
 */
class ReplayServer {
  #native;

  constructor(nativeServer) {
    this.#native = nativeServer;
  }

  /** Starts a server from `path` (a YAML file or a directory of them) or `yaml` (documents). */
  static async start(options = {}) {
    // Core reads the server options (port, deltaChars, chunkDelayMs, record, fallback, contextWindow)
    // from JSON.
    const { path, yaml, ...rest } = options;
    const docs = yaml === undefined ? undefined : Array.isArray(yaml) ? yaml : [yaml];
    return new ReplayServer(await settle(native.ReplayServer.start({ path, yaml: docs, json: JSON.stringify(rest) })));
  }

  /** `http://127.0.0.1:PORT`: the base URL for type "anthropic" and "azure". */
  get url() {
    return this.#native.url;
  }

  /** `http://127.0.0.1:PORT/v1`: the base URL for type "openai". */
  get openaiUrl() {
    return this.#native.openaiUrl;
  }

  /** The port. */
  get port() {
    return this.#native.port;
  }

  /** The requests received so far: `{method, path, headers, body}`. */
  requests() {
    return JSON.parse(run(() => this.#native.requests()));
  }

  /** How many requests arrived. */
  get requestCount() {
    return run(() => this.#native.requestCount);
  }

  /** How many streams the client closed before their end. */
  get disconnects() {
    return run(() => this.#native.disconnects);
  }

  /** How many streams were sent to their end. */
  get completedStreams() {
    return run(() => this.#native.completedStreams);
  }

  /** Resolves once the client has closed at least `n` streams early. */
  waitDisconnects(n) {
    return settle(this.#native.waitDisconnects(n));
  }

  /** Stops the server. */
  stop() {
    return settle(this.#native.stop());
  }
}

module.exports = { ReplayServer };
