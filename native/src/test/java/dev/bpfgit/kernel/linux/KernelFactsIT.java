package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.testing.BpfCompiler;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The known facts of the kernel under test, straight from the kernel rather than through a feature probe:
 * what the tc and socket-termination work has to fall back from. Runs on every kernel and asserts each fact
 * for the kernel it finds: on 6.1 (.ci/kernels 6.1) tcx and bpf_sock_destroy are missing, on 6.18 (this
 * host) they are there. XDP links work on both.
 */
@KernelTest
class KernelFactsIT {
    private static final int BPF_XDP = 37;
    private static final int BPF_TCX_INGRESS = 46;

    @TempDir
    static Path build;
    static ObjectFile it;

    final LinuxKernel kernel = new LinuxKernel();
    PinRoot root;

    @BeforeAll
    static void compile() {
        it = BpfCompiler.compile("/bpf/it.bpf.c", build);
    }

    @BeforeEach
    void pinRoot() {
        root = PinRoot.create();
    }

    @AfterEach
    void cleanUp() {
        root.close();
    }

    /** tcx arrived in 6.6: before it, BPF_LINK_CREATE does not know attach type 46. */
    @Test
    void tcxLinksExistFrom6Point6() throws Exception {
        Path prog = load("tc_pass");
        boolean expected = atLeast(6, 6);
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            int r = b.call(() -> rawLinkCreate(prog, b.ifindex(veth.ifB()), BPF_TCX_INGRESS));
            if (expected) {
                assertTrue(r >= 0, "BPF_LINK_CREATE(tcx ingress) on " + release() + ": errno " + -r);
                Libc.close(r);
            } else {
                assertEquals(-Failures.EINVAL, r, "BPF_LINK_CREATE(tcx ingress) on " + release());
                // and bpfgit names the missing feature instead of a bare EINVAL
                KernelException e = assertThrows(KernelException.class, () -> b.call(() -> {
                    kernel.attach(root.resolve("tcx"), prog, new AttachPoint.Tcx(veth.ifB(), AttachPoint.Direction.INGRESS));
                    return null;
                }));
                assertInstanceOf(KernelException.NotSupported.class, e, e.getMessage());
                assertTrue(e.getMessage().contains("6.6"), e.getMessage());
            }
        }
    }

    /** The bpf_sock_destroy kfunc (SocketTermination's BPF path) arrived in 6.5. */
    @Test
    void bpfSockDestroyIsInTheKernelBtfFrom6Point5() throws Exception {
        byte[] btf = Files.readAllBytes(Path.of("/sys/kernel/btf/vmlinux"));
        assertTrue(contains(btf, "\0bpf_map_lookup_elem\0"), "the BTF string table is readable at all");
        assertEquals(atLeast(6, 5), contains(btf, "\0bpf_sock_destroy\0"),
                "bpf_sock_destroy in /sys/kernel/btf/vmlinux of " + release());
    }

    /** XDP links (5.9) work on every kernel bpfgit supports. */
    @Test
    void xdpLinksWork() throws Exception {
        Path prog = load("xdp_pass");
        int progId = kernel.programInfo(prog).orElseThrow().id();
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            int ifindex = b.ifindex(veth.ifB());
            int r = b.call(() -> rawLinkCreate(prog, ifindex, BPF_XDP));
            assertTrue(r >= 0, "BPF_LINK_CREATE(xdp) on " + release() + ": errno " + -r);
            try (Fd link = Fd.own(r)) {
                LinkInfo info = Info.link(link.value(), root.resolve("raw"));
                assertEquals(Map.of("type", LinkInfo.TYPE_XDP, "prog", progId, "ifindex", ifindex),
                        Map.of("type", info.type(), "prog", info.progId(), "ifindex", info.ifindex()));
            }
        }
    }

    /**
     * The upstream release each probed feature arrived in, written down here from the kernel's history rather
     * than taken from {@link Feature#minKernel()}: the probes' answers are checked against it, and so is the
     * table bpfgit prints in its NotSupported errors. Debian's 6.1 and this 6.18 host configure none of them
     * out, so on both a feature is there exactly when the release is at least this.
     */
    private static final Map<Feature, String> ARRIVED = Map.ofEntries(
            Map.entry(Feature.TCX_LINK, "6.6"),
            Map.entry(Feature.LEGACY_TC, "4.5"),
            Map.entry(Feature.XDP_LINK, "5.9"),
            Map.entry(Feature.FIB_LOOKUP_MARK, "6.10"),
            Map.entry(Feature.SOCK_DESTROY, "6.5"),
            Map.entry(Feature.ITER_TCP, "5.9"),
            Map.entry(Feature.ITER_UDP, "5.9"),
            Map.entry(Feature.SOCK_OPS_SETSOCKOPT, "4.13"),
            Map.entry(Feature.REUSEPORT_MIGRATE, "5.14"),
            Map.entry(Feature.BATCH_HASH, "5.6"),
            Map.entry(Feature.BATCH_PERCPU_HASH, "5.6"),
            Map.entry(Feature.BATCH_ARRAY, "5.6"),
            Map.entry(Feature.BATCH_PERCPU_ARRAY, "5.6"),
            Map.entry(Feature.BATCH_LPM_TRIE, "5.13"));

    /**
     * Every feature the probes answer for has a known fact here (a new probe without one fails), and each
     * answer matches it: on 6.1 everything but tcx links, bpf_sock_destroy and the mark in bpf_fib_lookup
     * (Debian 12's 6.1 has XDP links, iter/tcp and iter/udp, sock_ops bpf_setsockopt, sk_reuseport migrate and
     * batch operations on every map type, LPM tries included); on 6.18 everything.
     */
    @Test
    void probesMatchTheKnownFactsOfThisKernel() {
        assertTrue(atLeast(6, 1), "the probes' expectations are known for 6.1 and later, not " + release());
        assertEquals(EnumSet.allOf(Feature.class), EnumSet.copyOf(ARRIVED.keySet()), "a known fact for every probe");
        Features probed = Probes.probe();
        assertEquals(release(), probed.kernel());
        Map<Feature, String> wrong = new java.util.TreeMap<>();
        for (Feature f : Feature.values()) {
            String[] v = ARRIVED.get(f).split("\\.");
            boolean expected = atLeast(Integer.parseInt(v[0]), Integer.parseInt(v[1]));
            if (probed.has(f) != expected) {
                wrong.put(f, "probed " + (probed.has(f) ? "present" : "missing") + ", arrived in " + ARRIVED.get(f));
            }
            if (!ARRIVED.get(f).equals(f.minKernel())) {
                wrong.put(f, "bpfgit names Linux " + f.minKernel() + " as its first release, it arrived in "
                        + ARRIVED.get(f));
            }
        }
        assertEquals(Map.of(), wrong, "features on " + release() + ": " + probed.table());
    }

    /** Forcing legacy tc turns tcx off in what bpfgit uses, not in what it knows the kernel has. */
    @Test
    void forcingLegacyTcTurnsTcxOff() {
        String old = System.getProperty("bpfgit.tc");
        System.setProperty("bpfgit.tc", "legacy");
        try {
            Features f = kernel.features();
            assertTrue(!f.has(Feature.TCX_LINK) && f.forced().contains(Feature.TCX_LINK), f.toString());
            assertEquals(atLeast(6, 6), Probes.kernelHas(Feature.TCX_LINK));
        } finally {
            if (old == null) {
                System.clearProperty("bpfgit.tc");
            } else {
                System.setProperty("bpfgit.tc", old);
            }
        }
        assertEquals(atLeast(6, 6), kernel.features().has(Feature.TCX_LINK));
    }

    // ---- helpers

    private Path load(String program) {
        Path rules = root.resolve("rules");
        Path counters = root.resolve("counters");
        kernel.createMap(rules, new MapSpec("rules", MapType.LPM_TRIE, 8, 8, 1024, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty()));
        kernel.createMap(counters, new MapSpec("counters", MapType.PERCPU_ARRAY, 4, 16, 4, 0, Optional.empty()));
        Path pin = root.resolve(program);
        kernel.loadProgram(pin, new ProgramSpec(it, program, Map.of("rules", rules, "counters", counters)));
        return pin;
    }

    /** bpf(BPF_LINK_CREATE) without opts: a link fd, or -errno. */
    private static int rawLinkCreate(Path prog, int ifindex, int attachType) {
        try (Fd fd = Pins.open(prog, PinType.PROG, "open program")) {
            return Libbpf.linkCreate(fd.value(), ifindex, attachType, MemorySegment.NULL);
        }
    }

    private static String release() {
        return System.getProperty("os.version");
    }

    private static boolean atLeast(int major, int minor) {
        String[] v = release().split("[.-]");
        int ma = Integer.parseInt(v[0]);
        int mi = Integer.parseInt(v[1]);
        return ma > major || (ma == major && mi >= minor);
    }

    private static boolean contains(byte[] haystack, String needle) {
        byte[] n = needle.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + n.length <= haystack.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (haystack[i + j] != n[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
