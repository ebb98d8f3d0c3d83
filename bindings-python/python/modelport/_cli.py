"""The ``modelport`` command the wheel installs: runs the command-line binary shipped beside this
module (``modelport/_bin/modelport``) in place of the Python process, with its arguments, terminal
and exit status."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def main() -> None:
    name = "modelport.exe" if os.name == "nt" else "modelport"
    exe = Path(__file__).resolve().parent / "_bin" / name
    if not exe.is_file():
        # A build without the binary: another `modelport` on PATH (cargo install), not this script.
        here = Path(sys.argv[0]).resolve().parent
        path = os.pathsep.join(
            d for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d).resolve() != here
        )
        found = shutil.which(name, path=path)
        if found is not None:
            exe = Path(found)
    if not exe.is_file():
        sys.stderr.write(
            "modelport: this build of the Python package has no command line (a build from source or "
            "the sdist ships the module only): install the wheel, or `cargo install --path cli` from "
            "a checkout of modelport\n"
        )
        raise SystemExit(1)
    argv = [str(exe), *sys.argv[1:]]
    if os.name == "nt":
        import subprocess

        raise SystemExit(subprocess.call(argv))
    os.execv(exe, argv)
