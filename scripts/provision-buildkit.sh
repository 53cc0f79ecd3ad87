#!/usr/bin/env bash
# Provisions a real BuildKit for the tests and the demo, without installing it: Debian 13's dockerd
# (BuildKit v0.13, which can export a registry cache, unlike Debian 12's dockerd 20.10), containerd,
# the docker CLI and the buildx plugin, fetched with `apt-get download` under a private apt
# configuration and unpacked with `dpkg-deb -x`. runc comes from Debian 12.
#
# The system's apt sources are never changed: the private configuration has its own sources list,
# lists, cache and status folders. The archive address is read from the system's apt sources.
#
# Output: $BASEWARM_BUILDKIT_DIR (default /var/cache/basewarm/buildkit), shared by every checkout on
# the machine (dockerd needs root anyway, and one ~100 MB fetch serves every clone and worktree):
#   root/       the unpacked packages (root/usr/sbin/dockerd, root/usr/bin/docker, ...)
#   versions    the stamp: the wanted package list, then "package version" per unpacked package
# A second run finds the stamp and the binaries and fetches nothing.
set -euo pipefail

SUITE=trixie
PACKAGES=(docker.io docker-cli containerd docker-buildx)
DEST="${BASEWARM_BUILDKIT_DIR:-/var/cache/basewarm/buildkit}"
# Files the tests start; the stamp alone is not trusted if one of them went missing.
BINARIES=(usr/sbin/dockerd usr/bin/docker usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/libexec/docker/cli-plugins/docker-buildx)

log() { echo "provision-buildkit: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (dockerd needs root; the cache lives in $DEST): run it with sudo"

mkdir -p "$DEST"
# Two setups at once (two checkouts, a CI retry) must not unpack into each other.
exec 9>"$DEST/.lock"
flock 9

wanted="packages: ${PACKAGES[*]} suite: $SUITE"

provisioned() {
  [ -f "$DEST/versions" ] || return 1
  [ "$(head -n 1 "$DEST/versions")" = "$wanted" ] || return 1
  local bin
  for bin in "${BINARIES[@]}"; do [ -x "$DEST/root/$bin" ] || return 1; done
}

# runc is Debian 12's own package; the dpkg lock may be held by another install: wait for it.
if ! command -v runc >/dev/null; then
  log "installing runc (Debian 12)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq runc >/dev/null
fi

if provisioned; then
  log "already provisioned in $DEST ($(tail -n +2 "$DEST/versions" | tr '\n' ' '))"
  exit 0
fi

# The Debian archive address, from the system's sources (one-line .list or deb822 .sources files).
# The first `deb` entry that is the main archive (not security, not updates/backports) wins.
archive_uri() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           if ($(i+1) !~ /-(security|updates|backports)$/ && $i !~ /security/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas separated by blank lines; keep Types: deb stanzas whose suites are not security.
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = ""; uris = ""; suites = "";
           for (n = 1; n <= NF; n++) {
             if ($n ~ /^Types:/) types = $n; else if ($n ~ /^URIs:/) uris = $n; else if ($n ~ /^Suites:/) suites = $n }
           if (types ~ /[[:space:]]deb([[:space:]]|$)/ && suites !~ /-security/ && uris !~ /security/) {
             split(uris, u, /[[:space:]]+/); print u[2]; exit } }' "$f"
  done
}

# The keyring that system entry trusts, so the private list verifies trixie's Release the same way.
archive_keyring() {
  local uri="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v uri="$uri" 'BEGIN { RS = ""; FS = "\n" }
         index($0, uri) { for (n = 1; n <= NF; n++) if ($n ~ /^Signed-By:/) { sub(/^Signed-By:[[:space:]]*/, "", $n); print $n; exit } }' "$f"
  done | head -n 1
}

uri="$(archive_uri | head -n 1)"
[ -n "$uri" ] || die "no Debian archive found in /etc/apt/sources.list or /etc/apt/sources.list.d/: add one (e.g. http://deb.debian.org/debian) and retry"
keyring="$(archive_keyring "$uri")"
# One-line entries (or none) name no keyring: Debian's archive keyring verifies trixie's Release.
[ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
log "fetching ${PACKAGES[*]} from $uri suite $SUITE"

# Inside DEST so the final move is a rename on one filesystem.
work="$(mktemp -d "$DEST/.work-XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$work/parts" "$work/prefs" "$work/debs" "$work/root"
: >"$work/status"
signed=""
# A keyring path (not inline key text) is the only form the one-line format can carry.
if [ -n "$keyring" ] && [ -f "$keyring" ]; then signed="[signed-by=$keyring] "; fi
echo "deb ${signed}$uri $SUITE main" >"$work/sources.list"

# Every folder apt reads or writes is private; the system's sources, pins and dpkg status are not read.
APT=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
     -o "Dir::Etc::Preferences=$work/prefs/none" -o "Dir::Etc::PreferencesParts=$work/prefs"
     -o "Dir::State::Lists=$work/lists" -o "Dir::State::Status=$work/status"
     -o "Dir::Cache=$work/cache" -o "Dir::Cache::Archives=$work/archives"
     -o "APT::Sandbox::User=root" -o "Acquire::Languages=none" -o "APT::Get::List-Cleanup=false")

apt-get "${APT[@]}" update -qq || die "apt-get update of the private $SUITE list failed (archive $uri)"
(cd "$work/debs" && apt-get "${APT[@]}" download -qq "${PACKAGES[@]}") || die "apt-get download ${PACKAGES[*]} from $SUITE failed"

versions=("$wanted")
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
  versions+=("$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)")
done
for bin in "${BINARIES[@]}"; do
  [ -x "$work/root/$bin" ] || die "unpacked $SUITE packages lack $bin: the package layout changed"
done

# Swap in the new tree whole, then write the stamp last: an interrupted run leaves no stamp.
rm -f "$DEST/versions"
rm -rf "$DEST/root"
mv "$work/root" "$DEST/root"
printf '%s\n' "${versions[@]}" >"$DEST/versions.tmp"
mv "$DEST/versions.tmp" "$DEST/versions"
log "provisioned in $DEST: $(tail -n +2 "$DEST/versions" | tr '\n' ' ')"
