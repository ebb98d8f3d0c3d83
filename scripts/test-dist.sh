#!/usr/bin/env bash
# Installs the packages of a dist directory the way a user would and runs each language's
# quickstart, with no cargo or rustc on PATH and from empty directories:
#   1. Python: a new virtualenv, `pip install --no-index` of the wheel, the quickstart,
#      `modelport.__file__` inside the virtualenv, and the `modelport` command the wheel installs;
#   2. Node: `npm install` of the two tarballs (plus TypeScript from the registry), the quickstart as
#      `import ... from "modelport"`, a `tsc --strict` compile of it, `npx modelport`, and the packed
#      manifest's optional dependency on the platform package, and a SIGTERM passed on by the launcher;
#   3. C: the unpacked tarball, the quickstart built with `cc $(pkg-config --cflags --libs modelport)`
#      (and statically), CMake projects with find_package(modelport) (shared and static targets;
#      versions 0.0, 0.2 and 99.0 refused).
#
#   bash scripts/test-dist.sh [DIR]    # default dist/ (make dist); make test passes target/dist-ci
#
# Installs cmake and pkg-config with apt-get when they are missing. Every check fails the script, and
# so does any command that exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dist="$(cd "${1:-dist}" && pwd)"
version="$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')"
started=$(date +%s)
step() { echo "== test-dist: $* ($(( $(date +%s) - started )) s)"; }
fail() { echo "test-dist: FAILED: $*" >&2; exit 1; }
# expect_answer WHAT OUTPUT: the quickstart's answer is a line of OUTPUT.
expect_answer() { grep -qxF "2 + 2 = 4." <<<"$2" || { echo "$2"; fail "$1 did not print the answer"; }; }

for f in "modelport-$version-cp39-abi3-manylinux_2_28_x86_64.whl" "modelport-$version.tgz" \
    "modelport-linux-x64-gnu-$version.tgz" "modelport-$version-linux-x64-gnu.tar.gz"; do
    [ -f "$dist/$f" ] || fail "$dist/$f is missing: run make dist (or make dist-ci) first"
done
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if ((${#missing[@]})); then
    step "installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

work="$(mktemp -d)"
export MODELPORT_HOME="$work/home"
trap 'rm -rf "$work"' EXIT
unset MODELPORT_PROVIDER CARGO_TARGET_DIR
# No Rust toolchain: rustup's directory leaves PATH, and stubs that fail stand first for any other
# cargo or rustc (a distribution's /usr/bin/cargo), so a package that still compiled would fail here.
mkdir "$work/no-rust"
for tool in cargo rustc rustup; do
    printf '#!/bin/sh\necho "%s is not available in this test (packages must install without Rust)" >&2\nexit 127\n' "$tool" > "$work/no-rust/$tool"
    chmod +x "$work/no-rust/$tool"
done
clean_path="$work/no-rust"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    case "$d" in "" | "${CARGO_HOME:-$HOME/.cargo}/bin" | */.cargo/bin | */.rustup/*) ;; *) clean_path="$clean_path:$d" ;; esac
done
export PATH="$clean_path"
[ "$(command -v cargo)" = "$work/no-rust/cargo" ] && [ "$(command -v rustc)" = "$work/no-rust/rustc" ] ||
    fail "a real cargo or rustc is still first on PATH"

step "Python: a new virtualenv, pip install the wheel, the quickstart from an empty directory"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
    "$dist/modelport-$version-cp39-abi3-manylinux_2_28_x86_64.whl"
mkdir "$work/py" && cd "$work/py"
file="$("$work/venv/bin/python" -c 'import modelport; print(modelport.__file__)')"
case "$file" in "$work/venv/"*) ;; *) fail "modelport was imported from $file, not from the virtualenv" ;; esac
out="$("$work/venv/bin/python" "$root/examples/python/quickstart.py")" || fail "the Python quickstart exited with $?"
expect_answer "the Python quickstart" "$out"
[ -x "$work/venv/bin/modelport" ] || fail "the wheel did not install the modelport command"
out="$("$work/venv/bin/modelport" --version)" || fail "modelport --version exited with $?"
[ "$out" = "modelport $version" ] || fail "modelport --version printed $out"
out="$(printf 'What is 2+2?\n' | "$work/venv/bin/modelport" chat --store memory)" || fail "modelport chat exited with $?"
expect_answer "modelport chat (from the wheel)" "$out"

step "Node: npm install of the two tarballs in an empty directory, the quickstart, tsc, npx modelport"
manifest="$(tar -xOzf "$dist/modelport-$version.tgz" package/package.json)"
node -e '
const [json, version] = process.argv.slice(1);
const pkg = JSON.parse(json);
const want = { "@modelport/linux-x64-gnu": version };
if (JSON.stringify(pkg.optionalDependencies) !== JSON.stringify(want)) {
  console.error(`optionalDependencies: ${JSON.stringify(pkg.optionalDependencies)}, want ${JSON.stringify(want)}`);
  process.exit(1);
}
if (pkg.private || pkg.scripts || pkg.devDependencies) { console.error("the packed manifest keeps private, scripts or devDependencies"); process.exit(1); }
' "$manifest" "$version" || fail "the packed modelport manifest"
! tar -tzf "$dist/modelport-$version.tgz" | grep -q '\.node$' || fail "the modelport package carries a .node file"
mkdir "$work/node" && cd "$work/node"
echo '{"name": "quickstart", "private": true, "type": "module"}' > package.json
npm install --no-audit --no-fund --loglevel=error "$dist/modelport-linux-x64-gnu-$version.tgz" "$dist/modelport-$version.tgz" \
    "typescript@~5.9.3" "@types/node@^20.19.0"
[ -f "node_modules/@modelport/linux-x64-gnu/modelport.linux-x64-gnu.node" ] || fail "the platform package has no addon"
replay="$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$root/examples/replay/quickstart.yaml")"
sed -e 's#"../../bindings-node/lib/index.mjs"#"modelport"#' -e 's#"../../bindings-node/lib/testing.mjs"#"modelport/testing"#' \
    -e "s#\"../replay/quickstart.yaml\"#\"$replay\"#" "$root/examples/node/quickstart.mjs" > quickstart.mjs
grep -q 'from "modelport"' quickstart.mjs && grep -q 'from "modelport/testing"' quickstart.mjs || fail "the quickstart's imports were not rewritten"
out="$(node quickstart.mjs)" || fail "the Node quickstart exited with $?"
expect_answer "the Node quickstart" "$out"
cp quickstart.mjs quickstart.mts
npx tsc --noEmit --strict --module nodenext --target es2022 quickstart.mts ||
    fail "the quickstart does not compile as TypeScript against the package's types"
out="$(npx --no-install modelport --version)" || fail "npx modelport --version exited with $?"
[ "$out" = "modelport $version" ] || fail "npx modelport --version printed $out"
# A SIGTERM to the launcher alone reaches the binary, and the launcher ends as the binary did.
node node_modules/.bin/modelport replay serve "$root/examples/replay/quickstart.yaml" > serve.out 2>&1 &
launcher=$!
for _ in $(seq 100); do grep -q "listening on" serve.out && break; sleep 0.1; done
grep -q "listening on" serve.out || { cat serve.out; fail "modelport replay serve (through the launcher) did not start"; }
kill -TERM "$launcher"
for _ in $(seq 50); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$launcher" 2>/dev/null; then
    kill -KILL "$launcher"; pkill -KILL -f "linux-x64-gnu/bin/modelport replay serve" || true
    fail "the launcher did not end within 5 s of a SIGTERM"
fi
status=0
wait "$launcher" || status=$?
[ "$status" = 143 ] || fail "the launcher ended with status $status after SIGTERM, not 143 (killed by SIGTERM)"
! pgrep -f "linux-x64-gnu/bin/modelport replay serve" >/dev/null || fail "the binary outlived its launcher's SIGTERM"

step "C: the tarball, pkg-config (shared and static) and CMake find_package"
mkdir "$work/c" && tar -C "$work/c" -xzf "$dist/modelport-$version-linux-x64-gnu.tar.gz"
prefix="$work/c/modelport-$version-linux-x64-gnu"
readelf -d "$prefix/lib/libmodelport.so" | grep -qF "Library soname: [libmodelport.so]" || fail "libmodelport.so has no SONAME"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion modelport)" = "$version" ] || fail "pkg-config --modversion modelport"
mkdir "$work/c/build" && cd "$work/c/build"
replay_c="-DMODELPORT_REPLAY_FILE=\"$root/examples/replay/quickstart.yaml\""
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -std=c99 -Wall -Wextra -Werror "$replay_c" "$root/examples/c/quickstart.c" $(pkg-config --cflags --libs modelport) -o quickstart
out="$(LD_LIBRARY_PATH="$prefix/lib" ./quickstart)" || fail "the C quickstart (pkg-config) exited with $?"
expect_answer "the C quickstart (pkg-config)" "$out"
# Statically: the archive, then the system libraries pkg-config lists for a static link.
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$replay_c" "$root/examples/c/quickstart.c" $(pkg-config --cflags modelport) \
    -Wl,-Bstatic -lmodelport -Wl,-Bdynamic $(pkg-config --static --libs modelport | sed 's/-lmodelport//') -o quickstart-static
! ldd ./quickstart-static | grep -q libmodelport || fail "the static quickstart still loads libmodelport.so"
out="$(./quickstart-static)" || fail "the static C quickstart exited with $?"
expect_answer "the C quickstart (static)" "$out"
printf '%s\n' "#include <stdio.h>" '#include "modelport.h"' \
    'int main(void) { printf("%d.%d.%d %s\n", MP_VERSION_MAJOR, MP_VERSION_MINOR, MP_VERSION_PATCH, mp_version()); return 0; }' > version.c
# shellcheck disable=SC2046
cc version.c $(pkg-config --cflags --libs modelport) -o version
[ "$(LD_LIBRARY_PATH="$prefix/lib" ./version)" = "$version $version" ] || fail "MP_VERSION_* and mp_version() disagree with $version"

mkdir "$work/cmake"
cat > "$work/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(quickstart C)
find_package(modelport ${version%.*} REQUIRED)
add_executable(quickstart "$root/examples/c/quickstart.c")
target_compile_definitions(quickstart PRIVATE MODELPORT_REPLAY_FILE="$root/examples/replay/quickstart.yaml")
target_link_libraries(quickstart PRIVATE modelport::modelport)
add_executable(quickstart_static "$root/examples/c/quickstart.c")
target_compile_definitions(quickstart_static PRIVATE MODELPORT_REPLAY_FILE="$root/examples/replay/quickstart.yaml")
target_link_libraries(quickstart_static PRIVATE modelport::modelport_static)
EOF
cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake/build" >/dev/null
out="$(LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/build/quickstart")" || fail "the CMake quickstart exited with $?"
expect_answer "the C quickstart (CMake, shared)" "$out"
out="$("$work/cmake/build/quickstart_static")" || fail "the static CMake quickstart exited with $?"
expect_answer "the C quickstart (CMake, static)" "$out"
# The version file: before 1.0 the minor version must match; a newer major is refused.
major="${version%%.*}"; minor="${version#*.}"; minor="${minor%%.*}"
for want in "$major.$(( minor + 1 ))" "99.0" $([ "$minor" -gt 0 ] && echo "$major.$(( minor - 1 ))"); do
    dir="$work/cmake-$want"
    mkdir "$dir"
    printf 'cmake_minimum_required(VERSION 3.16)\nproject(want NONE)\nfind_package(modelport %s REQUIRED)\n' "$want" > "$dir/CMakeLists.txt"
    if cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" >"$dir/log" 2>&1; then
        fail "find_package(modelport $want) accepted version $version"
    fi
    grep -qF "version: $version" "$dir/log" && grep -qF "compatible with requested version \"$want\"" "$dir/log" ||
        { cat "$dir/log"; fail "find_package(modelport $want) failed, but not for the version"; }
done

step "done"
