#!/usr/bin/env bash
# Build FerretDB (the embedded MongoDB-compatible server for dev and tests) once per version and patch set.
# The published module lacks build/version/version.txt, which the binary requires, so we build
# from a copy of the module source with that file written in, and with the patches in
# scripts/ferretdb/ applied (each says why). Prints the binary's path.
set -euo pipefail
version="${FERRETDB_VERSION:-v1.24.2}"
cache="${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}"
patches=("$(cd "$(dirname "$0")" && pwd)"/ferretdb/*.patch)
key=$(cat "${patches[@]}" | sha256sum | cut -c1-12)  # a changed patch is a new build, beside the old one
out="$cache/ferretdb-$version-$key/ferretdb"
if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
  echo "$out"; exit 0
fi
echo "building FerretDB $version (once; cached in $cache)..." >&2
start=$(date +%s)
src_dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src_dir/." "$work/"
chmod -R u+w "$work"
echo "$version" > "$work/build/version/version.txt"
echo "sqlite-only" > "$work/build/version/package.txt"
for p in "${patches[@]}"; do
  # git apply works outside a repository (patch(1) may be missing); the ceiling keeps it out of any above
  GIT_CEILING_DIRECTORIES="$(dirname "$work")" git -C "$work" apply -p1 "$p"
done
mkdir -p "$(dirname "$out")"
(cd "$work" && GOFLAGS=-trimpath go build -ldflags "-s -w" -o "$out.tmp" ./cmd/ferretdb)
mv "$out.tmp" "$out"
echo "built $out in $(( $(date +%s) - start ))s" >&2
echo "$out"
