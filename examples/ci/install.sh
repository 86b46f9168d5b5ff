#!/usr/bin/env bash
# Installs a bpfgit release tarball (bpfgit-VERSION.tar.gz, with bin/bpfgit inside) into $BPFGIT_PREFIX
# (default /opt/bpfgit) and checks that it runs. The release needs Java 25: set BPFGIT_JAVA_HOME (or
# JAVA_HOME_25) when it is not at /usr/lib/jvm/temurin-25-jdk-amd64.
#   BPFGIT_VERSION  the release, e.g. 0.1.0
#   BPFGIT_URL      where its tarball is (default: the GitHub release of BPFGIT_REPO)
#   BPFGIT_SHA256   optional: the tarball's SHA-256, checked before anything is unpacked
set -euo pipefail
: "${BPFGIT_VERSION:?set BPFGIT_VERSION, e.g. 0.1.0}"
prefix=${BPFGIT_PREFIX:-/opt/bpfgit}
url=${BPFGIT_URL:-https://github.com/${BPFGIT_REPO:-bpfgit/bpfgit}/releases/download/v$BPFGIT_VERSION/bpfgit-$BPFGIT_VERSION.tar.gz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/bpfgit.tar.gz" "$url"
if [ -n "${BPFGIT_SHA256:-}" ]; then
  echo "$BPFGIT_SHA256  $tmp/bpfgit.tar.gz" | sha256sum -c --quiet -
fi
mkdir "$tmp/x"
tar -xzf "$tmp/bpfgit.tar.gz" -C "$tmp/x"
# bin/bpfgit at the top of the tarball, or under one directory (bpfgit-VERSION/bin/bpfgit)
top="$tmp/x"
if [ ! -e "$top/bin/bpfgit" ]; then
  top=$(dirname "$(dirname "$(find "$tmp/x" -mindepth 3 -maxdepth 3 -path '*/bin/bpfgit' | head -1)")")
fi
if [ ! -x "$top/bin/bpfgit" ]; then
  echo "install.sh: no bin/bpfgit in $url" >&2
  exit 1
fi
mkdir -p "$prefix"
cp -a "$top/." "$prefix/"
"$prefix/bin/bpfgit" --version
