"use strict";
// The one mapping from native errors to JavaScript errors (the Rust side is src/error.rs): core's
// JSON record becomes an instance of the class of its kind (CLASSES), every one a ModelportError
// with the kind's stable `code`.

/** An error of modelport: `code` is the stable name of the core error kind. */
class ModelportError extends Error {
  constructor(message, fields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
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

/** Bad configuration or arguments: the message names the field and the fix. */
class ConfigError extends ModelportError {}

/**
 * The send was aborted (`abort()`, an AbortSignal, `client.stop()`). Its `name` is "AbortError",
 * as for an aborted `fetch`, and its `code` "cancelled".
 */
class AbortError extends ModelportError {
  constructor(message, fields) {
    super(message, fields);
    this.name = "AbortError";
  }
}

/** What the provider (or the way to it) did: the base of the HTTP and connection errors. */
class APIError extends ModelportError {}
/** HTTP 400, 413, 422 ...: the provider rejected the request itself. */
class BadRequestError extends APIError {}
/** The conversation does not fit the model's context window. */
class ContextLengthError extends BadRequestError {}
/** HTTP 401, or the bearerTokenProvider failed. */
class AuthenticationError extends APIError {}
/** HTTP 403. */
class PermissionDeniedError extends APIError {}
/** HTTP 404: the model, deployment or route does not exist. */
class NotFoundError extends APIError {}
/** HTTP 429: too many requests, or the quota is exhausted (providerCode "insufficient_quota"). */
class RateLimitError extends APIError {}
/** HTTP 5xx or 529, or an error event in the stream. */
class InternalServerError extends APIError {}
/** The connection failed or the stream ended early. */
class APIConnectionError extends APIError {}
/** A timeout fired (`timeoutKind` says which). */
class APITimeoutError extends APIConnectionError {}
/** Structured output: the answer does not match the schema (`rawOutput`, `validationErrors`). */
class InvalidOutputError extends ModelportError {}

/** The class of each core error kind; a kind missing here (a newer core) is a ModelportError. */
const CLASSES = {
  config: ConfigError,
  cancelled: AbortError,
  invalid_request: BadRequestError,
  context_length: ContextLengthError,
  auth: AuthenticationError,
  permission_denied: PermissionDeniedError,
  not_found: NotFoundError,
  rate_limited: RateLimitError,
  server: InternalServerError,
  decode: APIError,
  transport: APIConnectionError,
  timeout: APITimeoutError,
  invalid_output: InvalidOutputError,
};

/** The error for `code` with `message` and the record's other fields. */
function errorOf(message, fields) {
  const Class = CLASSES[fields.code] ?? ModelportError;
  return new Class(message, fields);
}

// Starts the message of a native error carrying a modelport error (src/error.rs).
const MARKER = "modelport-error:";

/** The error for the JSON record src/error.rs writes (core's Error::to_json_record). */
function fromRecord(record) {
  return errorOf(record.message, {
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
  return new ConfigError(message, { code: "config", errorType: "config" });
}

/** The error of a send whose AbortSignal was already aborted: the signal's reason is its cause. */
function abortError(signal) {
  return new AbortError("the send was aborted by its AbortSignal", {
    code: "cancelled",
    errorType: "cancelled",
    cause: signal.reason,
  });
}

module.exports = {
  ModelportError,
  ConfigError,
  AbortError,
  APIError,
  BadRequestError,
  ContextLengthError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
  InvalidOutputError,
  fromNative,
  fromRecord,
  settle,
  run,
  configError,
  abortError,
};
