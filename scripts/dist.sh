#!/usr/bin/env bash
# Builds every shipped package into dist/ (`make dist`; MODELPORT_DIST_DIR for another directory),
# from the repository root:
#   modelport-<v>-cp39-abi3-manylinux_2_28_x86_64.whl   Python wheel (abi3, with the `modelport` command)
#   modelport-<v>.tar.gz                                Python sdist (builds the module; needs Rust)
#   modelport-<v>.tgz                                   npm package `modelport` (JavaScript and types)
#   modelport-linux-x64-gnu-<v>.tgz                     npm package `@modelport/linux-x64-gnu` (the addon
#                                                       and the `modelport` command)
#   modelport-<v>-linux-x64-gnu.tar.gz                  C library: lib/, include/, pkg-config, CMake
#   SHA256SUMS
#
# MODELPORT_DIST_PROFILE picks the Cargo profile: `dist` (default: LTO, one codegen unit, stripped) for
# what ships; `make test` uses `dev` (into target/dist-ci), which builds in a fraction of the time; its
# artifacts are stripped here. Every binary is linked by zig (ziglang from PyPI, through maturin's
# `zig cc` wrapper) against glibc 2.28, so it runs on any Linux from 2018 on; `auditwheel show`
# checks the wheel's tag and objdump every binary's glibc symbols. The Python tools live in a venv
# under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
profile="${MODELPORT_DIST_PROFILE:-dist}"
triple="${CARGO_BUILD_TARGET:-x86_64-unknown-linux-gnu}"
export CARGO_BUILD_TARGET="$triple"
[ "$triple" = x86_64-unknown-linux-gnu ] || { echo "dist: only x86_64-unknown-linux-gnu is packaged (CARGO_BUILD_TARGET=$triple)" >&2; exit 1; }
mkdir -p "${CARGO_TARGET_DIR:-target}"
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
export CARGO_TARGET_DIR="$target"
# Everything that ships is linked by zig against glibc 2.28 (maturin's `zig cc` wrapper, which
# drops the linker arguments zig does not take), in a target directory of its own: the C compiler
# differs from the test builds', and sharing one directory would rebuild both sides every time.
zig_dir="$target/zig"
case "$profile" in
    dev) out="$zig_dir/$triple/debug" ;;
    *) out="$zig_dir/$triple/$profile" ;;
esac
version="$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')"
node_version="$(python3 -c 'import json; print(json.load(open("bindings-node/package.json"))["version"])')"
[ "$node_version" = "$version" ] || { echo "dist: bindings-node/package.json has version $node_version, Cargo.toml $version: make them equal" >&2; exit 1; }

mkdir -p "${MODELPORT_DIST_DIR:-dist}"
dist="$(cd "${MODELPORT_DIST_DIR:-dist}" && pwd)"
# The directory is emptied first: refuse one that holds anything but packages.
case "$dist" in "$root" | / | "$HOME") echo "dist: will not empty $dist (MODELPORT_DIST_DIR)" >&2; exit 1 ;; esac
[ ! -e "$dist/.git" ] && [ ! -e "$dist/Cargo.toml" ] || { echo "dist: will not empty $dist (MODELPORT_DIST_DIR)" >&2; exit 1; }
stage="$target/dist-stage"
rm -rf "$dist" "$stage"
mkdir -p "$dist" "$stage"
started=$(date +%s)
step() { echo "== dist: $* ($(( $(date +%s) - started )) s)"; }
# Stripped copies of what cargo built (the dist profile strips already; dev does not).
install_stripped() { install -m "$1" "$2" "$3"; strip --strip-unneeded "$3"; }

step "tools (maturin, ziglang, auditwheel in $target/dist-venv)"
venv="$target/dist-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2"

mkdir -p "$zig_dir/bin"
zig_version="$("$venv/bin/python" -m ziglang version)"
for tool in cc c++; do
    cat > "$zig_dir/bin/zig-$tool" <<EOF
#!/bin/sh
export CARGO_ZIGBUILD_ZIG_COMMAND="$venv/bin/python" CARGO_ZIGBUILD_ZIG_COMMAND_ARGS="-m ziglang" CARGO_ZIGBUILD_ZIG_VERSION="$zig_version"
exec "$venv/bin/maturin" zig $tool -- -g -fno-sanitize=all -target x86_64-linux-gnu.2.28 "\$@"
EOF
    chmod +x "$zig_dir/bin/zig-$tool"
done
export CARGO_TARGET_DIR="$zig_dir"
export CC_x86_64_unknown_linux_gnu="$zig_dir/bin/zig-cc" CXX_x86_64_unknown_linux_gnu="$zig_dir/bin/zig-c++"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$zig_dir/bin/zig-cc"

step "cargo build --profile $profile: the command line and the C library"
cargo build --profile "$profile" -p modelport-cli
cargo build --profile "$profile" -p modelport-ffi
install_stripped 755 "$out/modelport" "$stage/modelport"

step "Python wheel (abi3, manylinux_2_28) with the modelport command, and the sdist"
# The command line rides in the package (modelport/_bin/, git-ignored), started by the `modelport`
# script of [project.scripts]; removed again before the sdist, which builds the module only.
data="$root/bindings-python/python/modelport/_bin"
rm -rf "$data"
mkdir -p "$data"
trap 'rm -rf "$data"' EXIT
cp "$stage/modelport" "$data/modelport"
PATH="$venv/bin:$PATH" maturin build --quiet -m bindings-python/Cargo.toml --profile "$profile" \
    --compatibility manylinux_2_28 --strip --out "$dist"
rm -rf "$data"
trap - EXIT
PATH="$venv/bin:$PATH" maturin sdist -m bindings-python/Cargo.toml --out "$dist"
wheel="$(ls "$dist"/modelport-"$version"-*.whl)"
"$venv/bin/auditwheel" show "$wheel" | tee "$stage/auditwheel.txt"
# auditwheel names the most compatible tag the wheel satisfies: manylinux_2_28 or an older one.
tag="$(tr '\n' ' ' < "$stage/auditwheel.txt" | tr -s ' ' | grep -o 'consistent with the following platform tag: "manylinux_2_[0-9]*_x86_64"' | grep -o '2_[0-9]*' || true)"
[ -n "$tag" ] && [ "${tag#2_}" -le 28 ] ||
    { echo "dist: auditwheel does not accept the wheel as manylinux_2_28 (it says: ${tag:-no manylinux tag})" >&2; exit 1; }

step "npm packages: modelport and @modelport/linux-x64-gnu"
cargo build --profile "$profile" -p modelport-node
platform="$stage/npm/linux-x64-gnu"
mkdir -p "$platform/bin"
install_stripped 644 "$out/libmodelport_node.so" "$platform/modelport.linux-x64-gnu.node"
cp "$stage/modelport" "$platform/bin/modelport"
cp LICENSE-MIT LICENSE-APACHE "$platform/"
cat > "$platform/README.md" <<EOF
# @modelport/linux-x64-gnu

The native addon and the \`modelport\` command of [modelport](https://www.npmjs.com/package/modelport)
for Linux x64 with glibc. Install \`modelport\`; npm picks this package for you.
EOF
node - "$platform/package.json" "$version" <<'EOF'
const [file, version] = process.argv.slice(2);
const pkg = {
  name: "@modelport/linux-x64-gnu",
  version,
  description: "modelport's native addon and command line for Linux x64 (glibc)",
  license: "MIT OR Apache-2.0",
  repository: { type: "git", url: "https://github.com/modelport/modelport" },
  main: "modelport.linux-x64-gnu.node",
  files: ["modelport.linux-x64-gnu.node", "bin/modelport", "LICENSE-MIT", "LICENSE-APACHE"],
  os: ["linux"],
  cpu: ["x64"],
  libc: ["glibc"],
  engines: { node: ">=20" },
};
require("node:fs").writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
EOF
main="$stage/npm/modelport"
mkdir -p "$main/native"
cp -r bindings-node/lib bindings-node/bin bindings-node/README.md "$main/"
cp bindings-node/native/index.js bindings-node/native/index.d.ts "$main/native/"
cp LICENSE-MIT LICENSE-APACHE "$main/"
# The published manifest: the platform package as an optional dependency (npm installs the one
# matching os/cpu/libc), no scripts or devDependencies (nothing runs at install time).
node - bindings-node/package.json "$main/package.json" <<'EOF'
const fs = require("node:fs");
const [from, to] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(from, "utf8"));
delete pkg.scripts;
delete pkg.devDependencies;
pkg.files.push("LICENSE-MIT", "LICENSE-APACHE");
pkg.optionalDependencies = { "@modelport/linux-x64-gnu": pkg.version };
fs.writeFileSync(to, JSON.stringify(pkg, null, 2) + "\n");
EOF
(cd "$platform" && npm pack --silent --pack-destination "$dist" >/dev/null)
(cd "$main" && npm pack --silent --pack-destination "$dist" >/dev/null)

step "C library tarball"
name="modelport-$version-linux-x64-gnu"
c="$stage/$name"
mkdir -p "$c/include" "$c/lib/pkgconfig" "$c/lib/cmake/modelport" "$c/share/doc/modelport" "$c/share/modelport/csharp"
cp bindings-ffi/include/modelport.h "$c/include/"
install_stripped 755 "$out/libmodelport.so" "$c/lib/libmodelport.so"
install -m 644 "$out/libmodelport.a" "$c/lib/libmodelport.a"
strip --strip-debug "$c/lib/libmodelport.a"
minor="${version#*.}"; minor="${minor%%.*}"
sed "s/@VERSION@/$version/" bindings-ffi/dist/modelport.pc.in > "$c/lib/pkgconfig/modelport.pc"
cp bindings-ffi/dist/modelport-config.cmake "$c/lib/cmake/modelport/"
sed -e "s/@VERSION@/$version/" -e "s/@VERSION_MAJOR@/${version%%.*}/" -e "s/@VERSION_MINOR@/$minor/" \
    bindings-ffi/dist/modelport-config-version.cmake.in > "$c/lib/cmake/modelport/modelport-config-version.cmake"
cp bindings-ffi/README.md LICENSE-MIT LICENSE-APACHE CHANGELOG.md "$c/share/doc/modelport/"
cp examples/csharp/Modelport.cs "$c/share/modelport/csharp/"
tar -C "$stage" -czf "$dist/$name.tar.gz" --owner=0 --group=0 "$name"

readelf -d "$c/lib/libmodelport.so" | grep -qF "Library soname: [libmodelport.so]" ||
    { echo "dist: libmodelport.so has no SONAME" >&2; exit 1; }

step "no shipped binary needs a glibc newer than 2.28"
for f in "$stage/modelport" "$platform/modelport.linux-x64-gnu.node" "$c/lib/libmodelport.so"; do
    newest="$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sort -V -u | tail -1)"
    echo "$(basename "$f"): $newest"
    [ "$(printf '%s\n' "$newest" GLIBC_2.28 | sort -V | tail -1)" = GLIBC_2.28 ] ||
        { echo "dist: $f needs $newest" >&2; exit 1; }
done

(cd "$dist" && sha256sum -- * > SHA256SUMS)
step "done: $dist (profile $profile)"
ls -l "$dist"
