"use strict";
// JavaScript callbacks as the native side calls them (src/callback.rs): one JSON string in, a
// promise of `{"ok": value}` or `{"error": message}` out. Nothing thrown here reaches Rust.

/** The message of whatever was thrown. */
function messageOf(e) {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/** Wraps `fn(arg)` (sync or async) as a native callback. */
function jsonCallback(fn) {
  return async (json) => {
    try {
      const value = await fn(JSON.parse(json));
      return JSON.stringify({ ok: value === undefined ? null : value });
    } catch (e) {
      return JSON.stringify({ error: messageOf(e) });
    }
  };
}

/** `bearerTokenProvider(request)` returning a string, `{token, expiresAt}` (a Date or epoch ms) or an
 * Azure Identity AccessToken (`{token, expiresOnTimestamp}`). */
function tokenCallback(provider) {
  return jsonCallback(async (request) => {
    const answer = await provider(request);
    if (typeof answer === "string") return { token: answer };
    if (answer && typeof answer.token === "string") {
      const at = answer.expiresAt ?? answer.expiresOnTimestamp;
      const ms = at instanceof Date ? at.getTime() : typeof at === "number" ? at : undefined;
      return { token: answer.token, expiresAtMs: ms };
    }
    throw new TypeError("bearerTokenProvider must return a token string or {token, expiresAt}");
  });
}

module.exports = { jsonCallback, tokenCallback, messageOf };
