"use strict";
// Loads the native module built by `npm run build` (napi-rs); see ../README.md.
let native;
try {
  native = require("../native/index.js");
} catch (e) {
  const error = new Error(
    "modelport: the native module is not built for this platform: run `npm install && npm run build` " +
      `in the modelport package folder (bindings-node) first. (${e && e.message})`,
  );
  error.cause = e;
  throw error;
}
module.exports = native;
