"use strict";
// Session: `on` overloads and handler fan-out, the async iterator, JSON in and out
// (native side: src/session/mod.rs, src/session/events.rs).

const native = require("./native.cjs");
const { AbortError, settle, run, configError, abortError } = require("./error.cjs");

/** Whether `signal` looks like an AbortSignal (also one from another realm). */
function isAbortSignal(signal) {
  return typeof signal?.aborted === "boolean" && typeof signal.addEventListener === "function";
}

/**
 * A prompt string or `{prompt, attachments?, requestHeaders?, signal?, ...}` as the JSON send
 * options core reads, and the AbortSignal, which stays here.
 */
function sendOptions(options) {
  if (typeof options === "string") return [JSON.stringify({ prompt: options }), undefined];
  if (!options || typeof options !== "object") {
    throw configError("send: give a prompt string or {prompt, attachments?, requestHeaders?, signal?}");
  }
  const { signal, ...message } = options;
  if (signal != null && !isAbortSignal(signal)) throw configError("signal must be an AbortSignal");
  return [JSON.stringify(message), signal ?? undefined];
}

/** Gives an AbortError from an aborted send the signal's reason as its cause. */
function withReason(e, signal) {
  if (e instanceof AbortError && signal?.aborted && e.cause === undefined) e.cause = signal.reason;
  return e;
}

/** Reports a throwing handler without letting it reach the session or the process. */
function reportHandlerError(type, e) {
  process.emitWarning(`a session.on("${type}") handler threw: ${e && e.stack ? e.stack : e}`, {
    code: "MODELPORT_HANDLER_ERROR",
  });
}

/** An async iterator over a session's events. `skipped` counts deltas dropped because the
 * consumer fell behind (other events are never dropped). */
class EventIterator {
  #stream;
  /** The events of the last batch from the native stream, handed out one by one. */
  #batch = [];
  #index = 0;
  #done = false;
  #chain = Promise.resolve();
  /** next() calls not yet settled. */
  #pending = 0;
  /** Deltas dropped so far. */
  skipped = 0;

  constructor(stream) {
    this.#stream = stream;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** The next event; `{done: true}` once the session is disconnected or its client stopped. */
  next() {
    // An event already taken is handed out at once unless an earlier call is still pending.
    if (this.#pending === 0 && this.#index < this.#batch.length) {
      return Promise.resolve({ done: false, value: this.#batch[this.#index++] });
    }
    // Otherwise serialised, so that concurrent next() calls still see events in order.
    this.#pending++;
    const result = this.#chain.then(() => this.#next());
    const settled = () => {
      this.#pending--;
    };
    this.#chain = result.then(settled, settled);
    return result;
  }

  async #next() {
    while (this.#index >= this.#batch.length) {
      if (this.#done) return { done: true, value: undefined };
      const batch = await settle(this.#stream.nextBatch(1024));
      // return() ran while this call waited: what the stream still gave is not handed out.
      if (this.#done) return { done: true, value: undefined };
      if (batch === null || batch === undefined) {
        this.#done = true;
      } else {
        this.skipped += batch.skipped;
        this.#batch = JSON.parse(batch.events);
        this.#index = 0;
      }
    }
    return { done: false, value: this.#batch[this.#index++] };
  }

  /** Ends the iteration (`break` in `for await` calls this). */
  async return() {
    this.#done = true;
    this.#batch = [];
    this.#stream.close();
    return { done: true, value: undefined };
  }
}

/** A conversation with one model. Create it with `client.createSession(config)`. */
class Session {
  #native;
  /** `[type | null, handler]` in registration order. Replaced, never changed in place, so that a
   * dispatch goes on over the list it started with when a handler adds or removes one. */
  #handlers = [];
  #subscribed = false;
  #flushes = [];

  constructor(native) {
    this.#native = native;
  }

  /** The session id. */
  get sessionId() {
    return this.#native.sessionId;
  }

  /** The current model. */
  get model() {
    return this.#native.model;
  }

  /**
   * `on(type, handler)` calls `handler` for every event of `type` (`"*"` for all); `on(handler)` for
   * every event. Handlers run on the event loop, in order; what they throw is reported as a process
   * warning and never stops the session. Returns a function that removes the handler.
   */
  on(typeOrHandler, handler) {
    let type = null;
    if (typeof typeOrHandler === "function") {
      handler = typeOrHandler;
    } else if (typeof typeOrHandler === "string" && typeof handler === "function") {
      type = typeOrHandler === "*" || typeOrHandler === "" ? null : typeOrHandler;
      // A typo would subscribe to nothing: core names the valid types instead.
      if (type !== null) run(() => native.checkEventType(type));
    } else {
      throw configError("session.on: give (type, handler) or (handler)");
    }
    const entry = [type, handler];
    this.#handlers = [...this.#handlers, entry];
    if (!this.#subscribed) {
      this.#subscribed = true;
      this.#native.subscribe((json) => this.#dispatch(json));
    }
    return () => {
      this.#handlers = this.#handlers.filter((e) => e !== entry);
      if (this.#handlers.length === 0 && this.#subscribed) {
        this.#subscribed = false;
        this.#native.unsubscribe();
      }
    };
  }

  /** Takes a batch from the native side: a JSON array of events, a number marking a flush. */
  #dispatch(json) {
    for (const event of JSON.parse(json)) {
      if (typeof event === "number") {
        this.#flushes.shift()?.();
        continue;
      }
      for (const [type, handler] of this.#handlers) {
        if (type !== null && type !== event.type) continue;
        try {
          const r = handler(event);
          if (r && typeof r.then === "function") r.then(undefined, (e) => reportHandlerError(event.type, e));
        } catch (e) {
          reportHandlerError(event.type, e);
        }
      }
    }
  }

  /** Resolves once every event queued so far has reached the `on()` handlers. */
  #flush() {
    if (!this.#subscribed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#flushes.push(resolve);
      if (this.#native.flush() == null) {
        this.#flushes.pop();
        resolve();
      }
    });
  }

  /**
   * Sends a message (queued while a send runs); resolves to the id of its `user.message` event.
   * Aborting `options.signal` aborts this send until it has ended (while it is queued: as soon as
   * it starts); an already aborted signal rejects with an AbortError and sends nothing.
   */
  async send(options) {
    const [json, signal] = sendOptions(options);
    if (signal === undefined) return settle(this.#native.send(json));
    // The signal stays wired after the send resolves: it aborts the send until it has ended.
    return this.#abortable(signal, (handle) => settle(handle.send(json)), { untilEnded: true });
  }

  /**
   * Runs `fn` with a native handle that cancels this send alone, wired to `signal` until `fn`
   * settles, or with `untilEnded` until the send it queued has ended; an already aborted signal
   * rejects at once.
   */
  async #abortable(signal, fn, { untilEnded = false } = {}) {
    if (signal === undefined) return fn(this.#native);
    if (signal.aborted) throw abortError(signal);
    const handle = this.#native.cancellable();
    const onAbort = () => handle.cancel();
    const release = () => signal.removeEventListener("abort", onAbort);
    signal.addEventListener("abort", onAbort, { once: true });
    let queued = false;
    try {
      const result = await fn(handle);
      queued = untilEnded;
      return result;
    } catch (e) {
      throw withReason(e, signal);
    } finally {
      if (queued) handle.ended().then(release, release);
      else release();
    }
  }

  /**
   * Sends a message and waits until the session is idle; resolves to the last `assistant.message`
   * event (undefined when there was none). Rejects with a ModelportError: an AbortError (code
   * `cancelled`) when aborted (`abort()`, `options.signal`), an APITimeoutError (code `timeout`)
   * after `timeout` ms (default 60000; the turn keeps running), or the send's own error. The `on()`
   * handlers have seen every event of the send when it settles.
   */
  async sendAndWait(options, timeout) {
    const [json, signal] = sendOptions(options);
    try {
      const event = await this.#abortable(signal, (native) => settle(native.sendAndWait(json, timeout ?? undefined)));
      return event == null ? undefined : JSON.parse(event);
    } finally {
      await this.#flush();
    }
  }

  /**
   * Sends a message whose answer must be JSON matching `schema` (a JSON schema, or a schema with
   * `toJSONSchema()`, as zod 4's) and resolves to the parsed value (through a zod schema's `parse`). Core validates the answer, tells the model what was wrong
   * `retries` times (default 1), then rejects with code "invalid_output" (`rawOutput`,
   * `validationErrors`).
   */
  async sendAndParse(options, timeout) {
    if (!options || typeof options !== "object") throw configError("sendAndParse: give {prompt, schema}");
    const { schema, name = "answer", strict = true, retries = 1, ...message } = options;
    if (!schema || typeof schema !== "object") throw configError("sendAndParse: give a schema (JSON schema or zod)");
    const zod = typeof schema.safeParse === "function";
    const jsonSchema = typeof schema.toJSONSchema === "function" ? schema.toJSONSchema() : schema;
    const [json, signal] = sendOptions({ ...message, responseFormat: { type: "json_schema", name, schema: jsonSchema, strict } });
    try {
      const text = await this.#abortable(signal, (native) =>
        settle(native.sendAndParseJson(json, retries, timeout ?? undefined)),
      );
      const value = JSON.parse(text);
      return zod ? schema.parse(value) : value;
    } finally {
      await this.#flush();
    }
  }

  /**
   * The session's events from now on, as an async iterator (`for await (const e of
   * session.events())`). It ends when the session is disconnected or the client stopped; `break`
   * ends it early. `buffer` bounds the deltas kept for a slow consumer (default 256).
   */
  events(options) {
    return new EventIterator(run(() => this.#native.events(options?.buffer)));
  }

  /** The persisted (non-ephemeral) events so far; after a resume, earlier processes' too. */
  getEvents() {
    return JSON.parse(this.#native.getEvents());
  }

  /** The Copilot SDK's name for getEvents(). */
  async getMessages() {
    return this.getEvents();
  }

  /** Aborts the running send and resolves once it has ended. */
  async abort() {
    await this.#native.abort();
    await this.#flush();
  }

  /**
   * Compacts the history now, after the running send; the `on()` handlers have seen
   * `session.compaction_start` and `session.compaction_complete` when it resolves.
   */
  async compact() {
    try {
      await settle(this.#native.compact());
    } finally {
      await this.#flush();
    }
  }

  /** Switches the model for the next model calls. */
  setModel(model) {
    return settle(this.#native.setModel(model));
  }

  /** Ends the session and gives it up; it stays in the session store for `resumeSession`. */
  async disconnect() {
    await this.#native.disconnect();
    this.#subscribed = false;
    this.#handlers = [];
  }

  /** `await using session = await client.createSession(...)`: disconnects at the end of the scope. */
  async [Symbol.asyncDispose]() {
    await this.disconnect();
  }
}

module.exports = { Session, EventIterator };
