"use strict";
// Loads the native addon through ../native/index.js (the platform package, or a build from source).
let native;
try {
  native = require("../native/index.js");
} catch (e) {
  const error = new Error(
    `modelport: the native addon did not load: ${e && e.message} ` +
      "(from a checkout of modelport: `npm install && npm run build` in bindings-node first)",
  );
  error.cause = e;
  throw error;
}
module.exports = native;
