"use strict";
// Loads the native addon: the one `npm run build` put beside this file (a build from source), else
// the platform package npm installed with modelport (@modelport/<platform>, an optional dependency).
// Not generated: `napi build --no-js` leaves this file alone.
const { existsSync } = require("node:fs");
const { join } = require("node:path");

// linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc...: napi-rs's platform names.
function platformNames() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === "linux") return [`${base}-gnu`, `${base}-musl`];
  if (process.platform === "win32") return [`${base}-msvc`];
  return [base];
}

const tried = [];
let binding;
for (const name of platformNames()) {
  const local = join(__dirname, `modelport.${name}.node`);
  if (existsSync(local)) {
    binding = require(local);
    break;
  }
  tried.push(local);
  try {
    binding = require(`@modelport/${name}`);
    break;
  } catch (e) {
    if (e && e.code !== "MODULE_NOT_FOUND") throw e;
    tried.push(`@modelport/${name}`);
  }
}
if (!binding) {
  throw new Error(
    `no modelport native addon for ${process.platform}-${process.arch} (looked for ${tried.join(", ")}): ` +
      `install the platform package (npm install @modelport/${platformNames()[0]}; npm skips it when ` +
      "installing with --omit=optional or --no-optional), or build from source (npm run build in bindings-node)",
  );
}
module.exports = binding;
