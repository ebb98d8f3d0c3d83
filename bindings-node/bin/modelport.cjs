#!/usr/bin/env node
"use strict";
// The `modelport` command of the npm package: runs the binary the platform package ships
// (@modelport/<platform>/bin/modelport) with this process's arguments, terminal and exit status.

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
      `install @modelport/${names[0]} (an optional dependency of modelport), or \`cargo install --path cli\` in a checkout of modelport`,
  );
  process.exit(1);
}
// The child owns the terminal: Ctrl-C reaches it through the process group (it cancels a turn; the
// launcher only ignores it, or the child would see it twice), and SIGTERM or SIGHUP sent to this
// launcher alone (a supervisor stopping it) is passed on. The launcher ends as the child did: with
// its status, or killed by the same signal.
const { spawn } = require("node:child_process");
const child = spawn(exe, process.argv.slice(2), { stdio: "inherit" });
const forward = { SIGINT: () => {} };
for (const signal of ["SIGTERM", "SIGHUP"]) forward[signal] = () => child.kill(signal);
for (const [signal, handler] of Object.entries(forward)) process.on(signal, handler);
child.on("error", (e) => {
  console.error(`modelport: could not run ${exe}: ${e.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  for (const [name, handler] of Object.entries(forward)) process.off(name, handler);
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
