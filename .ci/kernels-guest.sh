#!/bin/bash
# Runs inside the .ci/kernels guest as its init (pid 1), on the host's / (read-only, tmpfs overlay).
# /run/ci is the host's writable share: env in, uname, rc, test.log and reports out.
#
# The subset, and why (the full kernel tier does not fit: every CLI test starts JVMs, and under TCG a
# JVM's CPU work is 15-18x slower):
#   - LinuxKernelIT: the native layer (maps, batches, loading, verifier, test runs, XDP links with traffic,
#     pins), minus the tests tagged "tcx" (they need real tcx links, 6.6);
#   - LegacyTcIT: bpfgit's legacy tc filter (clsact + cls_bpf direct-action) on both directions with
#     traffic, recognised after a restart, its program replaced 40 times under 500 pings (0 lost), foreign
#     filters of every classifier (cls_bpf, u32, matchall, flower) added with tc and listed, the clsact
#     qdisc removed with bpfgit's last filter only where bpfgit created it;
#   - TrafficPolicyIT, RedirectAndMarkIT: TrafficPolicy through the pipeline and the CLI with real traffic
#     in netns/veth, on XDP and on tc, which falls back to legacy tc here (6.1 has no tcx);
#   - LegacyTcPolicyIT: TrafficPolicy on tc-ingress and tc-egress through legacy tc, a foreign cls_bpf filter
#     reported by plan and kept, minus the tcx<->legacy switch (tagged "tcx");
#   - KernelFactsIT: the known facts of the kernel under test (tcx, bpf_sock_destroy, XDP links) and every
#     feature probe's answer checked against the release its feature arrived in;
#   - IteratorIT, and ReuseportIT's tests of the kernel mechanisms (sk_reuseport select and migrate, TCP and
#     UDP groups, listeners found in a process's namespace) at the native level, with real sockets: what the
#     probes say 6.1 has, used. Its statistical tests (2000 weighted connections, 400 over workers), IPv6 and
#     error paths are left to 6.18: python clients under TCG cost minutes and tell nothing about 6.1;
#   - SocketTerminationIT, its first invocations only (the kfunc case: on 6.1 that is the netlink fallback,
#     so the forced-netlink invocations would run the same path twice): sockets matched, terminated through
#     netlink SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY=y in Debian's 6.1) and counted, the others untouched,
#     and the cgroup scoping. Its continuous mode under 'bpfgit run' is left out: a sidecar JVM under TCG,
#     and a 2 s latency bound;
#   - EgressTimeoutKernelIT: socket-layer timeouts through sock_ops bpf_setsockopt work, idle timeouts are
#     NotSupported(bpf_sock_destroy, 6.5) at plan naming the policy (in process: no CLI JVMs).
# Left out: ReusePortGroupIT and EgressTimeoutIT (CLI processes and 'bpfgit run' sidecars: a run with
# ReusePortGroupIT did not finish in 20 minutes), and the CLI tests that do not depend on the kernel.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
. /run/ci/env
out=/run/ci
busybox=/run/busybox
cp /bin/busybox "$busybox" # poweroff must not need the 9p root, which is going away
finish() {
  echo "${1:-99}" > "$out/rc"
  sync
  "$busybox" poweroff -f
}
trap 'finish 97' EXIT

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# a clean /tmp, unless the checkout itself lives there
case $repo in /tmp/*) ;; *) mount -t tmpfs -o size=600m tmpfs /tmp ;; esac
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# the guest's modules (veth, sch_ingress, cls_bpf autoload from here), over the host's tree
mkdir -p "/lib/modules/$kver"
mount --bind "$moddir" "/lib/modules/$kver"
# and its config where an installed kernel has it: libbpf resolves a BPF object's __kconfig externs from
# /boot/config-$(uname -r) (egresstimeout.bpf.o fails to load without it), as bpftool feature probe does
cp "${moddir%/lib/modules/*}/boot/config-$kver" "/boot/config-$kver"
ip link set lo up
hostname bpfgit-guest
uname -r > "$out/uname"

cd "$repo"
# the host built the project right before the boot: the CLI tests' ./bpfgit must not rebuild it here (Maven
# under TCG takes minutes), not even when a source was edited on the host since
touch reconciler/target/bpfgit.stamp
{
  echo "guest: $(uname -r), $(nproc) cpus, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"
  share=()
  [ -f "$out/junit.jsa" ] && share=(-XX:SharedArchiveFile="$out/junit.jsa")
  start=$(date +%s)
  st=dev.bpfgit.it.SocketTerminationIT
  rp=dev.bpfgit.kernel.linux.ReuseportIT
  "$java" "${share[@]}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow \
    -Dbpfgit.kernel=required -Dbpfgit.repo="$repo" -Dbpfgit.test.timeScale="${timescale:-16}" \
    -Dbpfgit.classpath.file="$repo/reconciler/target/classpath.txt" \
    -jar "$launcher" execute --disable-banner --details=tree --disable-ansi-colors \
    --class-path "$cp" --reports-dir "$out/reports" \
    --select-class dev.bpfgit.kernel.linux.KernelFactsIT \
    --select-class dev.bpfgit.kernel.linux.LinuxKernelIT \
    --select-class dev.bpfgit.kernel.linux.LegacyTcIT \
    --select-class dev.bpfgit.it.TrafficPolicyIT \
    --select-class dev.bpfgit.it.RedirectAndMarkIT \
    --select-class dev.bpfgit.it.LegacyTcPolicyIT \
    --select-class dev.bpfgit.kernel.linux.IteratorIT \
    --select-method "$rp#bothProgramsLoadThroughLoadProgramAsSkReuseport" \
    --select-method "$rp#hotStandbySendsAllToTheFirstLiveMemberFailsOverAndReturns" \
    --select-method "$rp#theMigrateProgramMovesQueuedConnectionsOfAClosingListenerAndSelectAloneLosesThem" \
    --select-method "$rp#udpGroupConnectedAndUnconnected" \
    --select-method "$rp#listenersAreFoundByPortAddressAndProtocolInTheProcessNamespace" \
    --select-class dev.bpfgit.it.EgressTimeoutKernelIT \
    --select-iteration "method:$st#matchedSocketsAbortOthersKeepWorkingAndThePlanListedExactlyThem(boolean,java.nio.file.Path)[0]" \
    --select-iteration "method:$st#onlySocketsOfProcessesInTheCgroup(boolean,java.nio.file.Path)[0]" \
    --exclude-tag tcx --exclude-tag fib-mark
  rc=$?
  echo "guest: tests took $(( $(date +%s) - start ))s, exit $rc"
  # what the tests left behind: they must clean up on 6.1 as on the host
  { ls /sys/fs/bpf; ip netns list; } | tr '\n' ' ' > "$out/left"
} > "$out/test.log" 2>&1
trap - EXIT
finish "$rc"
