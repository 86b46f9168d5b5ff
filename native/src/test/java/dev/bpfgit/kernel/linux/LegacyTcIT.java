package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.Pin;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.testing.BpfCompiler;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import dev.bpfgit.kernel.testing.TimeScale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * tc programs where tcx is missing (before 6.6): a clsact qdisc and a cls_bpf direct-action filter at bpfgit's
 * handle and priority, owned through a pinned record. Runs on every kernel: on 6.6+ the legacy path is used
 * directly (as {@code bpfgit.tc=legacy} makes bpfgit do), on 6.1 it is the only one. Foreign cls_bpf filters
 * are added with iproute2's {@code tc}, as an operator would.
 */
@KernelTest
class LegacyTcIT {
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

    @Test
    void aFilterOnEachDirectionCarriesTrafficAndARestartRecognisesItByItsRecord() throws Exception {
        Path count = load("tc_count");
        int countId = kernel.programInfo(count).orElseThrow().id();
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            AttachPoint in = new AttachPoint.LegacyTc(veth.ifB(), AttachPoint.Direction.INGRESS);
            AttachPoint eg = new AttachPoint.LegacyTc(veth.ifB(), AttachPoint.Direction.EGRESS);
            Path inRec = root.resolve("in");
            Path egRec = root.resolve("eg");
            b.call(() -> {
                kernel.attach(inRec, count, in);
                kernel.attach(egRec, count, eg);
                return null;
            });
            String shown = b.run("tc", "filter", "show", "dev", veth.ifB(), "ingress");
            assertTrue(shown.contains("pref " + LegacyTc.PRIORITY) && shown.contains("handle 0xb9f")
                    && shown.contains("direct-action") && shown.contains("id " + countId), shown);
            assertTrue(b.run("tc", "filter", "show", "dev", veth.ifB(), "egress").contains("id " + countId));

            assertTrue(ping(a, veth.ipv4B()));
            long ingress = perCpuSum(2);
            long egress = perCpuSum(3);
            assertTrue(ingress >= 3 && egress >= 3, ingress + " in, " + egress + " out");

            // a new process (a restart) finds the record, and through it the filter, as a link
            LinuxKernel restarted = new LinuxKernel();
            int ifindex = b.ifindex(veth.ifB());
            LinkInfo info = b.call(() -> restarted.linkInfo(inRec).orElseThrow());
            assertEquals(List.of(LinkInfo.TYPE_LEGACY_TC, countId, ifindex, 46),
                    List.of(info.type(), info.progId(), info.ifindex(), info.attachType()));
            assertEquals(47, b.call(() -> restarted.linkInfo(egRec).orElseThrow()).attachType());
            assertEquals(List.of(new Pin(egRec, PinType.LINK), new Pin(inRec, PinType.LINK)),
                    restarted.pins(root.path()).stream().filter(p -> p.type() == PinType.LINK).toList());
            // from another namespace its ifindex means nothing: out of reach, never acted on
            assertEquals(0, restarted.linkInfo(inRec).orElseThrow().ifindex());
            List<AttachedProgram> there = b.call(() -> kernel.attached(in));
            assertEquals(List.of(countId), there.stream().map(AttachedProgram::progId).toList());

            // removing the record removes the filter; the other direction stays
            b.call(() -> {
                kernel.unpin(inRec);
                return null;
            });
            assertFalse(Files.exists(inRec));
            assertFalse(b.run("tc", "filter", "show", "dev", veth.ifB(), "ingress").contains("id " + countId));
            assertTrue(b.run("tc", "filter", "show", "dev", veth.ifB(), "egress").contains("id " + countId));
        }
    }

    /** The upgrade path: the filter's program replaced on its handle, again and again, under pings. */
    @Test
    void replacingTheProgramOnItsHandleUnderContinuousPingsLosesNoPacket() throws Exception {
        Path count = load("tc_count");
        Path pass = load("tc_pass");
        int countId = kernel.programInfo(count).orElseThrow().id();
        int passId = kernel.programInfo(pass).orElseThrow().id();
        Path rec = root.resolve("in");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            AttachPoint in = new AttachPoint.LegacyTc(veth.ifB(), AttachPoint.Direction.INGRESS);
            b.call(() -> {
                kernel.attach(rec, count, in);
                return null;
            });
            int pings = 500;
            Process ping = a.start("ping", "-c", String.valueOf(pings), "-i", "0.01", "-W", "2", veth.ipv4B());
            int swaps = 0;
            int now = countId;
            while (ping.isAlive() && swaps < 40) {
                int next = now == countId ? passId : countId;
                Path nextPin = next == countId ? count : pass;
                int expected = now;
                b.call(() -> {
                    kernel.updateLink(rec, nextPin, Optional.of(expected));
                    return null;
                });
                assertEquals(next, b.call(() -> kernel.linkInfo(rec).orElseThrow()).progId());
                now = next;
                swaps++;
                Thread.sleep(50);
            }
            assertTrue(ping.waitFor(TimeScale.seconds(60), TimeUnit.SECONDS), "ping finished");
            String out = new String(ping.getInputStream().readAllBytes());
            Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(out);
            assertTrue(m.find(), out);
            assertTrue(swaps >= 10, swaps + " swaps while pinging");
            assertEquals(List.of(pings, pings), List.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))),
                    "0 lost over " + swaps + " replacements: " + out);
            assertTrue(perCpuSum(2) > 0, "the counting program saw part of the pings");

            // a compare-and-swap against the wrong program is refused and changes nothing
            int current = now;
            int wrong = current == countId ? passId : countId;
            KernelException e = assertThrows(KernelException.PermissionDenied.class, () -> b.call(() -> {
                kernel.updateLink(rec, count, Optional.of(wrong));
                return null;
            }));
            assertTrue(e.getMessage().contains("runs program id " + current + ", expected id " + wrong), e.getMessage());
            assertEquals(current, b.call(() -> kernel.linkInfo(rec).orElseThrow()).progId());
        }
    }

    /** A cls_bpf filter bpfgit did not add is listed at the tc attach points of its direction, whichever mode. */
    @Test
    void foreignLegacyFiltersAreListedAtTcxAndLegacyTcAttachPoints() throws Exception {
        Path pass = load("tc_pass");
        Path count = load("tc_count");
        int passId = kernel.programInfo(pass).orElseThrow().id();
        int countId = kernel.programInfo(count).orElseThrow().id();
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            b.run("tc", "qdisc", "add", "dev", veth.ifB(), "clsact");
            b.run("tc", "filter", "add", "dev", veth.ifB(), "ingress", "pref", "10", "handle", "0x7", "bpf", "da",
                    "object-pinned", pass.toString());
            AttachPoint legacy = new AttachPoint.LegacyTc(veth.ifB(), AttachPoint.Direction.INGRESS);
            AttachPoint tcx = new AttachPoint.Tcx(veth.ifB(), AttachPoint.Direction.INGRESS);
            for (AttachPoint at : List.of(legacy, tcx)) {
                List<AttachedProgram> seen = b.call(() -> kernel.attached(at));
                assertEquals(List.of(passId), seen.stream().map(AttachedProgram::progId).toList(), at.label());
                assertTrue(seen.getFirst().name().contains("legacy tc filter, pref 10 handle 0x7"), seen.toString());
            }
            assertEquals(List.of(), b.call(() -> kernel.attached(new AttachPoint.LegacyTc(veth.ifB(),
                    AttachPoint.Direction.EGRESS))), "nothing on egress");

            // bpfgit's own filter joins at its own priority; the foreign one stays
            b.call(() -> {
                kernel.attach(root.resolve("in"), count, legacy);
                return null;
            });
            assertEquals(List.of(passId, countId), b.call(() -> kernel.attached(legacy)).stream()
                    .map(AttachedProgram::progId).toList(), "by priority: 10, then bpfgit's");
            b.call(() -> {
                kernel.unpin(root.resolve("in"));
                return null;
            });
            assertEquals(List.of(passId), b.call(() -> kernel.attached(legacy)).stream()
                    .map(AttachedProgram::progId).toList(), "the foreign filter is never touched");
            if (Probes.kernelHas(Feature.TCX_LINK)) {
                // and a tcx program is listed at the legacy attach point too: both see the same packets
                b.call(() -> {
                    kernel.attach(root.resolve("tcx"), count, tcx);
                    return null;
                });
                assertEquals(List.of(countId, passId), b.call(() -> kernel.attached(legacy)).stream()
                        .map(AttachedProgram::progId).toList());
            }
        }
    }

    /**
     * Filters of any classifier, not only cls_bpf, decide what bpfgit's program sees (a u32 or flower with a
     * drop or redirect action, a matchall mirroring everything): each is listed at the tc attach points of its
     * direction, with id 0 and its kind, once per priority. u32 on every kernel; matchall and flower where the
     * kernel has those classifiers (Debian's 6.1 has them as modules; this 6.18 host has neither).
     */
    @Test
    void foreignFiltersOfEveryClassifierAreListedOncePerPriority() throws Exception {
        Path pass = load("tc_pass");
        int passId = kernel.programInfo(pass).orElseThrow().id();
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            String dev = veth.ifB();
            b.run("tc", "qdisc", "add", "dev", dev, "clsact");
            // a u32 with two keys at one priority: one classifier, listed once
            b.run("tc", "filter", "add", "dev", dev, "ingress", "pref", "30", "protocol", "ip", "u32",
                    "match", "ip", "dst", "192.0.2.1/32", "flowid", "1:1");
            b.run("tc", "filter", "add", "dev", dev, "ingress", "pref", "30", "protocol", "ip", "u32",
                    "match", "ip", "dst", "192.0.2.2/32", "flowid", "1:2");
            b.run("tc", "filter", "add", "dev", dev, "egress", "pref", "40", "protocol", "all", "u32",
                    "match", "u32", "0", "0", "flowid", "1:1");
            b.run("tc", "filter", "add", "dev", dev, "ingress", "pref", "50", "bpf", "da", "object-pinned",
                    pass.toString());
            List<String> in = new java.util.ArrayList<>(List.of("0 tc u32 filter (legacy tc, pref 30)",
                    passId + " (legacy tc filter, pref 50 handle 0x1)"));
            List<String> out = new java.util.ArrayList<>(List.of("0 tc u32 filter (legacy tc, pref 40)"));
            // a BPF filter's name is its program's section or file, as tc set it: not compared
            if (b.exec("tc", "filter", "add", "dev", dev, "ingress", "pref", "10", "matchall", "classid", "1:1").ok()) {
                in.addFirst("0 tc matchall filter (legacy tc, pref 10)");
            }
            if (b.exec("tc", "filter", "add", "dev", dev, "egress", "pref", "20", "protocol", "ip", "flower",
                    "dst_ip", "192.0.2.1", "classid", "1:1").ok()) {
                b.run("tc", "filter", "add", "dev", dev, "egress", "pref", "20", "protocol", "ip", "flower",
                        "dst_ip", "192.0.2.2", "classid", "1:2");
                out.addFirst("0 tc flower filter (legacy tc, pref 20)");
            }
            for (AttachPoint.Direction d : AttachPoint.Direction.values()) {
                List<String> expected = d == AttachPoint.Direction.INGRESS ? in : out;
                for (AttachPoint at : List.of(new AttachPoint.LegacyTc(dev, d), new AttachPoint.Tcx(dev, d))) {
                    List<String> seen = b.call(() -> kernel.attached(at)).stream()
                            .map(p -> p.progId() + " " + (p.progId() == 0 ? p.name()
                                    : p.name().substring(p.name().indexOf("(legacy")))).toList();
                    assertEquals(expected, seen, at.label() + "\n" + b.run("tc", "filter", "show", "dev", dev,
                            d.name().toLowerCase()));
                }
            }
        }
    }

    /**
     * The clsact qdisc bpfgit created goes with the last of its filters when nothing else filters there; a
     * qdisc that was there before, or that carries someone else's filter by then, stays.
     */
    @Test
    void theClsactQdiscBpfgitCreatedGoesWithItsLastFilterAndNoOtherQdiscIsRemoved() throws Exception {
        Path count = load("tc_count");
        try (TestNetns a = TestNetns.create(); TestNetns b = TestNetns.create()) {
            TestNetns.Veth veth = TestNetns.veth(a, b);
            String dev = veth.ifB();
            AttachPoint in = new AttachPoint.LegacyTc(dev, AttachPoint.Direction.INGRESS);
            AttachPoint eg = new AttachPoint.LegacyTc(dev, AttachPoint.Direction.EGRESS);
            Path inRec = root.resolve("in");
            Path egRec = root.resolve("eg");

            // bpfgit makes the qdisc (ingress), the egress filter joins it; the ingress record goes first
            assertFalse(clsact(b, dev), "no clsact qdisc before");
            attach(b, inRec, count, in);
            attach(b, egRec, count, eg);
            assertTrue(clsact(b, dev));
            unpin(b, inRec);
            assertTrue(clsact(b, dev), "kept while bpfgit's egress filter is on it");
            unpin(b, egRec);
            assertFalse(clsact(b, dev), "removed with bpfgit's last filter: " + qdiscs(b, dev));

            // bpfgit's qdisc, then an operator's u32 filter on it: kept, with that filter
            attach(b, inRec, count, in);
            b.run("tc", "filter", "add", "dev", dev, "egress", "pref", "40", "protocol", "all", "u32",
                    "match", "u32", "0", "0", "flowid", "1:1");
            unpin(b, inRec);
            assertTrue(clsact(b, dev), "kept: it carries someone else's filter");
            assertTrue(b.run("tc", "filter", "show", "dev", dev, "egress").contains("u32"));
            b.run("tc", "qdisc", "del", "dev", dev, "clsact");

            // an operator's qdisc, empty when bpfgit leaves: kept
            b.run("tc", "qdisc", "add", "dev", dev, "clsact");
            attach(b, inRec, count, in);
            attach(b, egRec, count, eg);
            unpin(b, egRec);
            unpin(b, inRec);
            assertTrue(clsact(b, dev), "not bpfgit's to remove: " + qdiscs(b, dev));
            assertEquals("", b.run("tc", "filter", "show", "dev", dev, "ingress").strip());
        }
    }

    private void attach(TestNetns ns, Path rec, Path prog, AttachPoint at) throws Exception {
        ns.call(() -> {
            kernel.attach(rec, prog, at);
            return null;
        });
    }

    private void unpin(TestNetns ns, Path rec) throws Exception {
        ns.call(() -> {
            kernel.unpin(rec);
            return null;
        });
    }

    private static String qdiscs(TestNetns ns, String dev) {
        return ns.run("tc", "qdisc", "show", "dev", dev);
    }

    private static boolean clsact(TestNetns ns, String dev) {
        return qdiscs(ns, dev).contains("qdisc clsact");
    }

    // ---- helpers

    private Path load(String program) {
        Path rules = root.resolve("rules");
        Path counters = root.resolve("counters");
        if (!Files.exists(rules)) {
            kernel.createMap(rules, new MapSpec("rules", MapType.LPM_TRIE, 8, 8, 1024, MapSpec.BPF_F_NO_PREALLOC,
                    Optional.empty()));
            kernel.createMap(counters, new MapSpec("counters", MapType.PERCPU_ARRAY, 4, 16, 4, 0, Optional.empty()));
        }
        Path pin = root.resolve(program);
        kernel.loadProgram(pin, new ProgramSpec(it, program, Map.of("rules", rules, "counters", counters)));
        return pin;
    }

    private static boolean ping(TestNetns from, String address) {
        return from.exec("ping", "-c", "3", "-i", "0.2", "-W", "1", address).ok();
    }

    private long perCpuSum(int slot) {
        byte[] key = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(slot).array();
        byte[] v = kernel.lookup(root.resolve("counters"), dev.bpfgit.kernel.Bytes.wrap(key)).orElseThrow().toArray();
        long sum = 0;
        for (int c = 0; c < kernel.possibleCpus(); c++) {
            sum += ByteBuffer.wrap(v, c * 16, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
        return sum;
    }
}
