#!/usr/bin/env bash
# Puts nats-server 2.10 or newer at .tools/bin/nats-server, without touching the machine's apt configuration.
#
# Why 2.10: replicated JetStream on Debian 12's nats-server 2.9.10 diverged after node kills in every run we made,
# and 2.10.27 never did; decentralized (JWT) auth works on both. Debian 13 ("trixie") ships 2.10.27. apt-get reads a
# temporary source list for the trixie suite of the Debian mirror this machine is already configured with, keeps its
# lists and cache in a temporary folder, downloads the one package (checked against Debian's archive keyring) and
# dpkg-deb unpacks it here. About 3 s; nothing is installed system-wide.
#
# Order of preference: NATS_SERVER_BIN when it names a 2.10+ binary, then .tools/bin/nats-server when it is 2.10+,
# then `nats-server` on PATH when it is 2.10+, else the download above. Prints the binary's path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools="$root/.tools"
want_major=2
want_minor=10

say() { echo "nats-server: $*" >&2; }

# True when $1 runs and reports version 2.10 or newer.
recent_enough() {
  local bin=$1 version major minor
  [ -x "$bin" ] || return 1
  version=$("$bin" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9]*\.[0-9][0-9]*\)\..*/\1/p' | head -1)
  [ -n "$version" ] || return 1
  major=${version%%.*}
  minor=${version#*.}
  [ "$major" -gt "$want_major" ] || { [ "$major" -eq "$want_major" ] && [ "$minor" -ge "$want_minor" ]; }
}

if [ -n "${NATS_SERVER_BIN:-}" ]; then
  if recent_enough "$NATS_SERVER_BIN"; then echo "$NATS_SERVER_BIN"; exit 0; fi
  say "NATS_SERVER_BIN=$NATS_SERVER_BIN is not a runnable nats-server 2.10 or newer" && exit 1
fi
if recent_enough "$tools/bin/nats-server"; then echo "$tools/bin/nats-server"; exit 0; fi
if command -v nats-server >/dev/null 2>&1 && recent_enough "$(command -v nats-server)"; then
  command -v nats-server
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  say "nats-server 2.10 or newer is required: install it (https://github.com/nats-io/nats-server/releases)"
  say "and put it on PATH, or point NATS_SERVER_BIN at it"
  exit 1
fi

# The Debian mirror this machine already uses (deb822 .sources first, then the one-line format).
mirror=$(
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
  } | grep -v -- '-security' | grep '/debian/*$' | head -1 || true
)
if [ -z "$mirror" ]; then
  say "no Debian mirror found in /etc/apt; install nats-server 2.10+ by hand or set NATS_SERVER_BIN"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Sandbox::User=root"
)
say "fetching Debian 13's nats-server package (temporary apt lists; the machine's apt config is untouched)"
apt-get -qq "${apt_opts[@]}" update >/dev/null
(cd "$work" && apt-get -qq "${apt_opts[@]}" download nats-server >/dev/null)
deb=$(ls "$work"/nats-server_*.deb)
version=$(dpkg-deb -f "$deb" Version)
dest="$tools/nats-server-$version"
rm -rf "$dest"
mkdir -p "$dest" "$tools/bin"
dpkg-deb -x "$deb" "$dest"
ln -sfn "$(find "$dest/usr" -name nats-server -type f | head -1)" "$tools/bin/nats-server"
if ! recent_enough "$tools/bin/nats-server"; then
  say "the downloaded package ($version) is older than 2.10"
  exit 1
fi
say "nats-server $version at .tools/bin/nats-server"
echo "$tools/bin/nats-server"
