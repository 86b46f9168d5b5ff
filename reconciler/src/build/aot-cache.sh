#!/usr/bin/env bash
# The AOT caches (JDK 25, JEP 483/514/515; run.aot, the sidecar's, is trained apart: train_run below).
# One training JVM (cli/AotTraining) runs `bpfgit validate` over
# the shipped examples, `bpfgit plan` of the fleet example (parse, validate, compile, diff, render; no
# root, no kernel) and `bpfgit plan --against HEAD` of the blocklist example (the base applied to an
# in-memory kernel), with the flags the launchers give the one-shot verbs, and writes the cache at exit:
#   - lib/bpfgit.aot of the release, trained with the jars laid out and named as in the tarball's lib/;
#     bin/bpfgit passes it with -XX:AOTCache when it is there;
#   - aot/dev.aot for the source checkout's ./bpfgit, trained with the classpath it runs with (the module
#     jars in target/ and the Maven repository's jars, as in classpath.txt).
# Two kinds of jars are first copied into a form the cache can hold (CacheableJar.java, target/aot/lib/):
# picocli's, asm's and jnr-x86asm's (class files of Java 5, upgraded to version 50 with stack maps) and JGit's (signed: the
# signature is left out). The release ships those copies (src/assembly/release.xml) and ./bpfgit runs with
# them when it uses dev.aot (target/aot/classpath.txt). The training's directory is a git repository, so
# that reading a directory's revision (JGit) is trained too: policies usually live in a git checkout.
# The JVM then starts with bpfgit's classes already parsed and linked (run.aot: and profiled). It checks every classpath
# entry's path, size and modification time against the cache's and refuses a cache made for other jars or
# by another JDK build, starting as without it (nothing is logged): a stale cache is never used.
#
#   aot-cache.sh TARGET_DIR EXAMPLES_DIR JAVA_HOME
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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
mkdir "$stage/policies"
cp -r "$examples/edge-filter" "$examples/blocklist" "$examples/fleet" "$stage/policies/"

# train CLASSPATH CACHE: the launchers' flags for the one-shot verbs (bin/bpfgit, ./bpfgit), their heap
# included, so that the cache is made for the heap it is used with. Classes only, no method profiles
# (-AOTRecordTraining): under C1 alone a profile buys nothing, and a JVM started with a cache that has them
# replays the training's compilations as each class is initialised, so a cold apply of 100,000 rules compiled
# the examples' hot methods too: 110 ms more CPU, 65 of it C1's and 44 main's (bench/README.md, "seventeenth
# session, wip/side17"). run.aot (train_run) keeps its profiles: the sidecar runs C2.
train() {
  (cd "$stage/policies" && "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:Tier3BackEdgeThreshold=2000 -XX:InitialRAMPercentage=100 -Xmx768m \
    -XX:+UnlockDiagnosticVMOptions -XX:-AOTRecordTraining -XX:AOTCacheOutput="$2" -Xlog:aot*=error -cp "$1" \
    dev.bpfgit.cli.AotTraining validate edge-filter blocklist -- plan fleet/policies --hosts fleet/hosts.yaml \
    "${against[@]}") \
    > "$target/aot/training.log" 2>&1 && [ -s "$2" ] || { cat "$target/aot/training.log" >&2; exit 1; }
}

# train_run CLASSPATH CACHE: run's own cache (run.aot), with the flags the launchers give run (the full tiered
# compiler, the shrinking heap), trained on the sidecar loop (cli/AotRunTraining): a directory of
# RUN_RULES rules on an in-memory kernel, its first apply and RUN_EDITS one-rule edits. The cache keeps that
# run's method profiles (JEP 515), so the sidecar's first edit after a start does not warm the JIT up.
RUN_RULES=100000
RUN_EDITS=10
train_run() {
  (cd "$stage" && "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseSerialGC -XX:+TieredCompilation -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xms16m -XX:-ShrinkHeapInSteps \
    -Xmx768m -XX:AOTCacheOutput="$2" -Xlog:aot*=error -Djava.io.tmpdir="$stage" -cp "$1" \
    dev.bpfgit.cli.AotRunTraining "$RUN_RULES" "$RUN_EDITS") \
    > "$target/aot/run-training.log" 2>&1 && [ -s "$2" ] || { cat "$target/aot/run-training.log" >&2; exit 1; }
}

# -p: the JVM checks each jar's size and modification time against the cache's; the tarball keeps those of
# the same files
cp -p "$target"/bpfgit-reconciler-*.jar "$lib/"
tr ':' '\n' < "$target/classpath.txt" | while read -r jar || [ -n "$jar" ]; do [ -n "$jar" ] && cp -p "$jar" "$lib/"; done
# the cacheable copies, made once: the release's lib/ and ./bpfgit's classpath name these same files (size,
# time). The names here and the excludes of src/assembly/release.xml go together.
# asm's and jnr-x86asm's: jnr-ffi generates libc's view with them on every kernel verb's start (57 classes read
# and verified from the jars before, bench/README.md, "native13"); asm-util's superclasses are in asm's other jars
asm=("$lib"/asm-[0-9]*.jar "$lib"/asm-analysis-[0-9]*.jar "$lib"/asm-commons-[0-9]*.jar "$lib"/asm-tree-[0-9]*.jar
  "$lib"/asm-util-[0-9]*.jar)
for jar in "$lib"/picocli-[0-9]*.jar "$lib"/org.eclipse.jgit-[0-9]*.jar "$lib"/org.eclipse.jgit.ssh.apache-[0-9]*.jar \
    "$lib"/jnr-x86asm-[0-9]*.jar "${asm[@]}"; do
  up=$target/aot/lib/$(basename "$jar")
  others=()
  case $(basename "$jar") in asm-*) others=("${asm[@]}") ;; esac
  "$java_home/bin/java" "$here/CacheableJar.java" "$jar" "$up" "${others[@]}" >> "$target/aot/cacheable.log" 2>&1 \
    || { cat "$target/aot/cacheable.log" >&2; exit 1; }
done
# copied in after all are made: asm's are read from lib/ for the hierarchy
for jar in "$lib"/picocli-[0-9]*.jar "$lib"/org.eclipse.jgit-[0-9]*.jar "$lib"/org.eclipse.jgit.ssh.apache-[0-9]*.jar \
    "$lib"/jnr-x86asm-[0-9]*.jar "${asm[@]}"; do
  cp -p "$target/aot/lib/$(basename "$jar")" "$jar"
done
# best effort: without git the cache is made all the same, without JGit's classes
# `plan --against HEAD` (when the directory is a git repository): the base revision applied to an in-memory
# kernel, observed and diffed, the stages after the parse of a cold plan or apply (Applier, Observer, Differ
# with their lambdas): a cold apply of 100,000 rules loads 49 fewer classes outside the cache; its time
# changed within the noise, 0.96-1.02 (bench/README.md, "The cold CLI, eighth session").
against=()
if command -v git > /dev/null; then
  git -C "$stage/policies" init -q && git -C "$stage/policies" add -A \
    && git -C "$stage/policies" -c user.name=bpfgit -c user.email=build@bpfgit.invalid -c commit.gpgsign=false \
      commit -q -m "AOT training" && against=(-- plan blocklist --against HEAD) \
    || echo "aot-cache.sh: the training directory is not a git repository" >&2
fi
cp=$(LC_ALL=C; printf '%s:' "$lib"/*.jar)
train "${cp%:}" "$lib/bpfgit.aot"
cp "$lib/bpfgit.aot" "$target/aot/lib/"
train_run "${cp%:}" "$lib/run.aot"
cp "$lib/run.aot" "$target/aot/lib/"

# the source checkout's: ./bpfgit runs with exactly this classpath when target/aot/dev.aot is there
tr ':' '\n' < "$target/classpath.txt" | while read -r jar || [ -n "$jar" ]; do
  up=$target/aot/lib/$(basename "$jar")
  [ -f "$up" ] && jar=$up
  printf '%s\n' "$jar"
done | paste -sd: - > "$target/aot/classpath.txt"
dev_cp="$(echo "$target"/bpfgit-reconciler-*.jar):$(cat "$target/aot/classpath.txt")"
train "$dev_cp" "$target/aot/dev.aot"
train_run "$dev_cp" "$target/aot/run.aot"
