"use strict";
// modelport's logs (native side: src/logging.rs, over core's modelport::logging).

const native = require("./native.cjs");
const { run, configError } = require("./error.cjs");

/**
 * Sends modelport's log records to `handler(level, target, message)` from now on, at `level` and
 * above ("error", "warn", "info", "debug", "trace"; default: MODELPORT_LOG when set, else "warn");
 * `setLogHandler(null)` stops them. The handler runs on the event loop; records are never waited
 * for (a flood that outruns a busy loop loses records, never blocks modelport).
 */
function setLogHandler(handler, level) {
  if (handler != null && typeof handler !== "function") {
    throw configError("setLogHandler: give a function (level, target, message) => void, or null");
  }
  const safe =
    handler &&
    ((lvl, target, message) => {
      try {
        handler(lvl, target, message);
      } catch (e) {
        process.emitWarning(`the setLogHandler handler threw: ${e && e.stack ? e.stack : e}`, {
          code: "MODELPORT_HANDLER_ERROR",
        });
      }
    });
  run(() => native.setLogHandler(safe ?? null, level ?? (process.env.MODELPORT_LOG || "warn")));
}

module.exports = { setLogHandler };
