#!/usr/bin/env bash
# Installs everything basewarm's demo, tests and benchmark need on a fresh Debian machine:
# the Debian packages of the real parts (registry, buildah, skopeo) and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v buildah >/dev/null || need+=(buildah)
command -v skopeo >/dev/null || need+=(skopeo)
command -v openssl >/dev/null || need+=(openssl)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL 15 for the state backend's contract tests (testkit/postgres.ts runs its binaries from
# /usr/lib/postgresql/*/bin; the package's own cluster is not used).
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "setup: installing Debian package: postgresql" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# A real BuildKit for the tests and the demo: Debian 13's dockerd, containerd, docker CLI and buildx,
# unpacked into /var/cache/basewarm/buildkit (never installed); a second run finds them and fetches nothing.
if [ "$(id -u)" -eq 0 ]; then
  ./scripts/provision-buildkit.sh
else
  sudo --preserve-env=BASEWARM_BUILDKIT_DIR ./scripts/provision-buildkit.sh
fi

# npm ci when the installed tree is missing or older than the lockfile; `prepare` compiles TypeScript.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
