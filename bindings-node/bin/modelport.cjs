#!/usr/bin/env node
"use strict";
// The `modelport` command of the npm package: runs the binary the platform package ships
// (@modelport/<platform>/bin/modelport) with this process's arguments, terminal and exit status.
const { spawnSync } = require("node:child_process");

const names =
  process.platform === "linux"
    ? [`linux-${process.arch}-gnu`, `linux-${process.arch}-musl`]
    : [`${process.platform}-${process.arch}`];
let exe;
for (const name of names) {
  try {
    exe = require.resolve(`@modelport/${name}/bin/modelport`);
    break;
  } catch {
    // not installed for this libc; try the next
  }
}
if (!exe) {
  console.error(
    `modelport: no command-line binary for ${process.platform}-${process.arch}: ` +
      `install @modelport/${names[0]} (an optional dependency of modelport), or \`cargo install modelport-cli\``,
  );
  process.exit(1);
}
// The child handles Ctrl-C (it cancels a turn); this process only waits for it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});
const result = spawnSync(exe, process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  console.error(`modelport: could not run ${exe}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 128 + (require("node:os").constants.signals[result.signal] ?? 0));
