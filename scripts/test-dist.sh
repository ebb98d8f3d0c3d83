#!/usr/bin/env bash
# Installs the packages in dist/ the way a user would and runs each language's quickstart, with no
# cargo or rustc on PATH and from empty directories (CI runs it after `make dist-ci`):
#   1. Python: a new virtualenv, `pip install --no-index dist/*.whl`, the quickstart, `modelport.__file__`
#      inside the virtualenv, and the `modelport` command the wheel installs;
#   2. Node: `npm install` of the two tarballs (plus TypeScript from the registry), the quickstart as
#      `import ... from "modelport"`, a `tsc --strict` compile of it, and `npx modelport`;
#   3. C: the unpacked tarball, the quickstart built with `cc $(pkg-config --cflags --libs modelport)`
#      (shared and --static), and a CMake project with find_package(modelport).
# Installs cmake with apt-get when it is missing. Every check fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dist="$root/dist"
version="$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')"
started=$(date +%s)
step() { echo "== test-dist: $* ($(( $(date +%s) - started )) s)"; }
fail() { echo "test-dist: FAILED: $*" >&2; exit 1; }
expect_answer() { grep -qx "2 + 2 = 4." <<<"$2" || { echo "$2"; fail "$1 did not print the answer"; }; }

for f in "modelport-$version-cp39-abi3-manylinux_2_28_x86_64.whl" "modelport-$version.tgz" \
    "modelport-linux-x64-gnu-$version.tgz" "modelport-$version-linux-x64-gnu.tar.gz"; do
    [ -f "$dist/$f" ] || fail "dist/$f is missing: run make dist (or make dist-ci) first"
done
if ! command -v cmake >/dev/null; then
    step "installing cmake"
    sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null ||
        { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null; }
fi

work="$(mktemp -d)"
export MODELPORT_HOME="$work/home"
trap 'rm -rf "$work"' EXIT
unset MODELPORT_PROVIDER CARGO_TARGET_DIR
# PATH without the Rust toolchain: a package that still needed to compile would fail here.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
! command -v cargo >/dev/null && ! command -v rustc >/dev/null || fail "cargo or rustc is still on PATH"

step "Python: a new virtualenv, pip install the wheel, the quickstart from an empty directory"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$dist"/modelport-"$version"-*.whl
mkdir "$work/py" && cd "$work/py"
file="$("$work/venv/bin/python" -c 'import modelport; print(modelport.__file__)')"
case "$file" in "$work/venv/"*) ;; *) fail "modelport was imported from $file, not from the virtualenv" ;; esac
expect_answer "the Python quickstart" "$("$work/venv/bin/python" "$root/examples/python/quickstart.py")"
[ -x "$work/venv/bin/modelport" ] || fail "the wheel did not install the modelport command"
"$work/venv/bin/modelport" --version | grep -qx "modelport $version" || fail "modelport --version"
expect_answer "modelport chat (from the wheel)" "$(printf 'What is 2+2?\n' | "$work/venv/bin/modelport" chat --store memory | grep -x '2 + 2 = 4.')"

step "Node: npm install of the two tarballs in an empty directory, the quickstart, tsc, npx modelport"
mkdir "$work/node" && cd "$work/node"
echo '{"name": "quickstart", "private": true, "type": "module"}' > package.json
npm install --no-audit --no-fund --silent "$dist/modelport-linux-x64-gnu-$version.tgz" "$dist/modelport-$version.tgz" \
    "typescript@~5.9.3" "@types/node@^20.19.0"
[ -z "$(find node_modules -name '*.node' -path '*node_modules/modelport/*')" ] || fail "the modelport package carries a .node file"
[ -f "node_modules/@modelport/linux-x64-gnu/modelport.linux-x64-gnu.node" ] || fail "the platform package has no addon"
replay="$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$root/examples/replay/quickstart.yaml")"
sed -e 's#"../../bindings-node/lib/index.mjs"#"modelport"#' -e 's#"../../bindings-node/lib/testing.mjs"#"modelport/testing"#' \
    -e "s#\"../replay/quickstart.yaml\"#\"$replay\"#" "$root/examples/node/quickstart.mjs" > quickstart.mjs
grep -q 'from "modelport"' quickstart.mjs && grep -q 'from "modelport/testing"' quickstart.mjs || fail "the quickstart's imports were not rewritten"
expect_answer "the Node quickstart" "$(node quickstart.mjs)"
cp quickstart.mjs quickstart.mts
npx tsc --noEmit --strict --module nodenext --target es2022 --skipLibCheck false quickstart.mts ||
    fail "the quickstart does not compile as TypeScript against the package's types"
npx --no-install modelport --version | grep -qx "modelport $version" || fail "npx modelport --version"

step "C: the tarball, pkg-config (shared and static) and CMake find_package"
mkdir "$work/c" && tar -C "$work/c" -xzf "$dist/modelport-$version-linux-x64-gnu.tar.gz"
prefix="$work/c/modelport-$version-linux-x64-gnu"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion modelport)" = "$version" ] || fail "pkg-config --modversion modelport"
mkdir "$work/c/build" && cd "$work/c/build"
replay_c="-DMODELPORT_REPLAY_FILE=\"$root/examples/replay/quickstart.yaml\""
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -std=c99 -Wall -Wextra -Werror "$replay_c" "$root/examples/c/quickstart.c" $(pkg-config --cflags --libs modelport) -o quickstart
expect_answer "the C quickstart (pkg-config)" "$(LD_LIBRARY_PATH="$prefix/lib" ./quickstart)"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$replay_c" "$root/examples/c/quickstart.c" -static-libgcc \
    $(pkg-config --cflags modelport) "$prefix/lib/libmodelport.a" $(pkg-config --static --libs-only-l modelport | sed 's/-lmodelport//') -o quickstart-static
expect_answer "the C quickstart (static)" "$(./quickstart-static)"
printf '%s\n' "#include <stdio.h>" "#include <string.h>" '#include "modelport.h"' \
    'int main(void) { printf("%d.%d.%d %s\n", MP_VERSION_MAJOR, MP_VERSION_MINOR, MP_VERSION_PATCH, mp_version()); return 0; }' > version.c
# shellcheck disable=SC2046
cc version.c $(pkg-config --cflags --libs modelport) -o version
[ "$(LD_LIBRARY_PATH="$prefix/lib" ./version)" = "$version $version" ] || fail "MP_VERSION_* and mp_version() disagree with $version"
mkdir "$work/cmake"
cat > "$work/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(quickstart C)
find_package(modelport $version REQUIRED)
add_executable(quickstart "$root/examples/c/quickstart.c")
target_compile_definitions(quickstart PRIVATE MODELPORT_REPLAY_FILE="$root/examples/replay/quickstart.yaml")
target_link_libraries(quickstart PRIVATE modelport::modelport)
add_executable(quickstart_static "$root/examples/c/quickstart.c")
target_compile_definitions(quickstart_static PRIVATE MODELPORT_REPLAY_FILE="$root/examples/replay/quickstart.yaml")
target_link_libraries(quickstart_static PRIVATE modelport::modelport_static)
EOF
cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake/build" >/dev/null
expect_answer "the C quickstart (CMake, shared)" "$(LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/build/quickstart")"
expect_answer "the C quickstart (CMake, static)" "$("$work/cmake/build/quickstart_static")"
# The version file refuses a release the project did not ask for.
mkdir "$work/cmake-newer"
echo 'cmake_minimum_required(VERSION 3.16)
project(newer C)
find_package(modelport 99.0 REQUIRED)' > "$work/cmake-newer/CMakeLists.txt"
if cmake -S "$work/cmake-newer" -B "$work/cmake-newer/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake-newer/log" 2>&1; then
    fail "find_package(modelport 99.0) accepted version $version"
fi
grep -q "$version" "$work/cmake-newer/log" || { cat "$work/cmake-newer/log"; fail "CMake's refusal does not name the version found"; }

step "done"
