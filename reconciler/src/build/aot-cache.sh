#!/usr/bin/env bash
# The release's AOT cache (JDK 25, JEP 483/514/515): one training run of `bpfgit validate` over the shipped
# examples, with the jars laid out and named as in the tarball's lib/ and the flags bin/bpfgit gives the
# one-shot verbs, writes lib/bpfgit.aot. bin/bpfgit passes it with -XX:AOTCache when it is there: the JVM
# then starts with bpfgit's classes already parsed, linked and profiled. A cache made by another JDK build
# or for other jars is refused by the JVM, which then starts as without it (nothing is logged).
#
#   aot-cache.sh TARGET_DIR EXAMPLES_DIR JAVA_HOME
set -euo pipefail
target=$1
examples=$2
java_home=$3
# trained in a directory of its own: the cache records the jars' paths, and the release must name no path
# of the machine that built it (ReleaseIT)
stage=$(mktemp -d /tmp/bpfgit-aot.XXXXXX)
trap 'rm -rf "$stage"' EXIT
lib=$stage/lib
rm -rf "$target/aot"
mkdir -p "$lib" "$target/aot/lib"
cp -r "$examples/edge-filter" "$examples/blocklist" "$stage/"
# -p: the JVM checks each jar's size and modification time against the cache's; the tarball keeps those of
# the same files
cp -p "$target"/bpfgit-reconciler-*.jar "$lib/"
tr ':' '\n' < "$target/classpath.txt" | while read -r jar || [ -n "$jar" ]; do [ -n "$jar" ] && cp -p "$jar" "$lib/"; done
cp=$(LC_ALL=C; printf '%s:' "$lib"/*.jar)
cd "$stage"
# the launcher's heap (bin/bpfgit), so that the cache is made for the heap it is used with
"$java_home/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC \
  -XX:TieredStopAtLevel=1 -Xmx768m -XX:AOTCacheOutput="$lib/bpfgit.aot" -Xlog:aot*=error -cp "${cp%:}" dev.bpfgit.cli.Main \
  validate edge-filter blocklist > "$target/aot/training.log" 2>&1 || rc=$?
# 2: the two examples claim the same prefix on eth0, which trains the error path too
[ "${rc:-0}" -le 2 ] && [ -s "$lib/bpfgit.aot" ] || { cat "$target/aot/training.log" >&2; exit 1; }
cp "$lib/bpfgit.aot" "$target/aot/lib/"
