"use strict";
// The one mapping from native errors to ModelportError (the Rust side is src/error.rs).

/** An error of modelport: `code` is the stable name of the core error kind. */
class ModelportError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = "ModelportError";
    this.code = fields.code ?? "config";
    this.status = fields.status ?? undefined;
    this.providerCode = fields.providerCode ?? undefined;
    this.requestId = fields.requestId ?? undefined;
    this.retryAfter = fields.retryAfter ?? undefined;
    this.timeoutKind = fields.timeoutKind ?? undefined;
    this.errorType = fields.errorType ?? undefined;
    this.retryable = fields.retryable ?? false;
    if (fields.rawOutput != null) this.rawOutput = fields.rawOutput;
    if (fields.validationErrors != null) this.validationErrors = fields.validationErrors;
  }
}

// Starts the message of a native error carrying a modelport error (src/error.rs).
const MARKER = "modelport-error:";

/** A ModelportError from the JSON record src/error.rs writes. */
function fromRecord(record) {
  return new ModelportError(record.message, {
    code: record.code,
    status: record.status,
    providerCode: record.providerCode,
    requestId: record.requestId,
    retryAfter: record.retryAfterMs == null ? undefined : record.retryAfterMs / 1000,
    timeoutKind: record.timeoutKind,
    errorType: record.errorType,
    retryable: record.retryable,
    rawOutput: record.rawOutput,
    validationErrors: record.validationErrors,
  });
}

/** The error to throw for `e` caught from a native call (other errors pass unchanged). */
function fromNative(e) {
  if (e instanceof Error && typeof e.message === "string" && e.message.startsWith(MARKER)) {
    let record;
    try {
      record = JSON.parse(e.message.slice(MARKER.length));
    } catch {
      return e;
    }
    const error = fromRecord(record);
    // Keep the caller's stack: the native one is empty.
    Error.captureStackTrace?.(error, fromNative);
    return error;
  }
  return e;
}

/** Awaits a native promise, mapping its error. */
async function settle(promise) {
  try {
    return await promise;
  } catch (e) {
    throw fromNative(e);
  }
}

/** Runs a synchronous native call, mapping its error. */
function run(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/** A configuration error raised by the JavaScript layer itself. */
function configError(message) {
  return new ModelportError(message, { code: "config", errorType: "config" });
}

module.exports = { ModelportError, fromNative, fromRecord, settle, run, configError };
