#!/usr/bin/env bash
# Builds the C ABI library and the C# sample (Quickstart.cs on the wrapper in Modelport.cs), then runs
# it offline against the replay provider: with Mono's compiler and runtime when present (Debian:
# apt-get install mono-mcs mono-runtime), else with a .NET SDK (dotnet), else it says so and stops.
#
#   examples/csharp/run.sh     (from anywhere; CARGO_TARGET_DIR defaults to the workspace's target/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="$(mkdir -p "${CARGO_TARGET_DIR:-$root/target}" && cd "${CARGO_TARGET_DIR:-$root/target}" && pwd)"
out="$target/examples-csharp"
sources=("$here/Modelport.cs" "$here/Quickstart.cs")

(cd "$root" && CARGO_TARGET_DIR="$target" cargo build -p modelport-ffi)
lib="$target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$out"
if command -v mcs >/dev/null && command -v mono >/dev/null; then
    mcs -nologo -warnaserror -out:"$out/Quickstart.exe" "${sources[@]}"
    mono "$out/Quickstart.exe" "$root/examples/replay"
elif command -v dotnet >/dev/null; then
    # A throwaway project around the same two files.
    framework="net$(dotnet --version | cut -d. -f1).0"
    cat >"$out/Quickstart.csproj" <<PROJECT
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>$framework</TargetFramework>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
  </PropertyGroup>
  <ItemGroup>
    <Compile Include="${sources[0]}" />
    <Compile Include="${sources[1]}" />
  </ItemGroup>
</Project>
PROJECT
    dotnet run --project "$out/Quickstart.csproj" -- "$root/examples/replay"
else
    echo "examples/csharp/run.sh: neither mcs + mono nor dotnet is installed: the C# sample was not run" >&2
    exit 1
fi
