package dev.bpfgit.it;

import dev.bpfgit.compile.NotSupportedException;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import dev.bpfgit.kernel.testing.TimeScale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TrafficPolicy on tc through legacy tc (a clsact qdisc and bpfgit's cls_bpf filter), the mode bpfgit uses
 * where the kernel has no tcx: here forced with {@code bpfgit.tc=legacy} (in process) or {@code BPFGIT_TC=legacy}
 * (the CLI), so the fallback is tested on 6.18 too; on 6.1 it is the only mode. Real traffic through a veth
 * pair in test namespaces.
 */
@KernelTest
class LegacyTcPolicyIT {
    private static final Map<String, String> LEGACY = Map.of("BPFGIT_TC", "legacy");

    @TempDir
    static Path build;
    static Path foreignObject;

    @BeforeAll
    static void prepare() throws Exception {
        Bpfgit.warmUp();
        // a classifier that decides nothing (TC_ACT_UNSPEC): the next filter runs
        foreignObject = Bpfgit.bpfObject(build, "foreign_tc", """
                #include <linux/bpf.h>
                __attribute__((section("tc"), used)) int foreign_tc(struct __sk_buff *skb) { return -1; }
                __attribute__((section("license"), used)) char LICENSE[] = "GPL";
                """);
    }

    @AfterEach
    void notForced() {
        System.clearProperty("bpfgit.tc");
    }

    private static List<String> policies() {
        return List.of(
                traffic("in", "eth0", "tc-ingress", "source", "pass", "{prefix: 203.0.113.0/24, action: drop}"),
                // replies to this client address leave through eth0's egress
                traffic("out", "eth0", "tc-egress", "destination", "pass", "{prefix: 198.51.100.0/24, action: drop}"));
    }

    private static void writePolicies(Path dir) throws Exception {
        write(dir, "in.yaml", policies().get(0));
        write(dir, "out.yaml", policies().get(1));
    }

    private static String filters(Topology t, String direction) {
        return t.ns("edge").run("tc", "filter", "show", "dev", "eth0", direction);
    }

    @Test
    void tcIngressAndEgressPoliciesRunAsBpfgitsFiltersAndPlanInSyncAfterARestart(@TempDir Path dir) throws Exception {
        System.setProperty("bpfgit.tc", "legacy");
        writePolicies(dir);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            for (String direction : List.of("ingress", "egress")) {
                String shown = filters(t, direction);
                assertTrue(shown.contains("handle 0xb9f") && shown.contains("pref 2975")
                        && shown.contains("direct-action"), direction + ": " + shown);
            }
            assertEquals(List.of("traffic/eth0/tc-egress/tc_filter LINK", "traffic/eth0/tc-ingress/tc_filter LINK"),
                    edge.pins().stream().filter(p -> p.endsWith("LINK")).toList());

            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "dropped at ingress");
            assertEquals(0, t.ping("client", "198.51.100.7", "10.0.0.2", 3), "replies dropped at egress");
            assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3));
            assertEquals(3L, edge.packets("traffic/eth0/tc-ingress").get("203.0.113.0/24"));
            assertEquals(3L, edge.packets("traffic/eth0/tc-egress").get("198.51.100.0/24"));

            // each plan is a new process's view (a new kernel object, the records read back): nothing to do
            Plan again = edge.plan(dir);
            assertTrue(again.inSync(), dev.bpfgit.render.PlanText.render(again));
            edge.inside(p -> p.apply(Differ.destroy(p.observe(List.of()))));
            assertFalse(filters(t, "ingress").contains("0xb9f"), "bpfgit's filter went with its record");
            assertFalse(filters(t, "egress").contains("0xb9f"));
            assertFalse(t.ns("edge").run("tc", "qdisc", "show", "dev", "eth0").contains("clsact"),
                    "the clsact qdisc bpfgit created went with its last filter");
            assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
        }
    }

    /**
     * A filter of another classifier (here u32: this host's kernel has no matchall or flower) decides what
     * bpfgit's program sees too: plan reports it at the tc hooks of its direction, in both modes, and bpfgit
     * neither touches it nor removes the operator's clsact qdisc it sits on.
     */
    @Test
    void aForeignFilterOfAnotherClassifierIsReportedAndKeptWithItsQdisc(@TempDir Path dir) throws Exception {
        writePolicies(dir);
        boolean tcx = new LinuxKernel().features().has(Feature.TCX_LINK);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns edgeNs = t.ns("edge");
            edgeNs.run("tc", "qdisc", "add", "dev", "eth0", "clsact");
            edgeNs.run("tc", "filter", "add", "dev", "eth0", "ingress", "pref", "30", "protocol", "ip", "u32",
                    "match", "ip", "dst", "192.0.2.1/32", "flowid", "1:1");
            Bpfgit.Host edge = new Bpfgit.Host(edgeNs, root.path());
            for (boolean legacy : tcx ? List.of(false, true) : List.of(true)) {
                if (legacy) {
                    System.setProperty("bpfgit.tc", "legacy");
                } else {
                    System.clearProperty("bpfgit.tc");
                }
                String label = legacy ? "eth0 tc-ingress (legacy tc)" : "eth0 tcx-ingress";
                Plan plan = edge.plan(dir);
                List<String> about = plan.warnings().stream().filter(w -> w.contains("u32")).toList();
                assertEquals(1, about.size(), plan.warnings().toString());
                assertTrue(about.getFirst().startsWith(label + ": tc u32 filter (legacy tc, pref 30) is attached and"
                        + " was not attached by bpfgit; for TrafficPolicy/in"), about.getFirst());
                edge.apply(dir);
                assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "bpfgit's rule decides");
                edge.inside(p -> p.apply(Differ.destroy(p.observe(List.of()))));
                assertTrue(filters(t, "ingress").contains("u32"), "the foreign filter is kept");
                assertTrue(edgeNs.run("tc", "qdisc", "show", "dev", "eth0").contains("clsact"), "and its qdisc");
            }
        }
    }

    /**
     * A kernel upgrade (6.1 to 6.6+) moves the tc units from legacy tc to tcx, and a forced downgrade moves them
     * back: each apply attaches the new mode before it removes the old, under pings. Tagged tcx: the tcx side
     * needs 6.6.
     */
    @Test
    @Tag("tcx")
    void movingBetweenLegacyTcAndTcxUnderPingsLosesNoPacket(@TempDir Path dir) throws Exception {
        assertTrue(new LinuxKernel().features().has(Feature.TCX_LINK), "this test needs tcx");
        writePolicies(dir);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            System.setProperty("bpfgit.tc", "legacy");
            edge.apply(dir);
            int pings = 400;
            Process ping = t.ns("client").start("ping", "-n", "-q", "-c", String.valueOf(pings), "-i", "0.01",
                    "-W", "2", "-I", "10.0.0.1", "10.0.0.2");
            List<String> modes = new ArrayList<>();
            for (int i = 0; i < 4 && ping.isAlive(); i++) {
                boolean legacy = i % 2 == 1;
                if (legacy) {
                    System.setProperty("bpfgit.tc", "legacy");
                } else {
                    System.clearProperty("bpfgit.tc");
                }
                edge.apply(dir);
                String link = legacy ? "tc_filter" : "link";
                assertEquals(List.of("traffic/eth0/tc-egress/" + link + " LINK", "traffic/eth0/tc-ingress/" + link + " LINK"),
                        edge.pins().stream().filter(p -> p.endsWith("LINK")).toList());
                assertEquals(legacy, filters(t, "ingress").contains("0xb9f"));
                modes.add(legacy ? "legacy" : "tcx");
                Thread.sleep(300);
            }
            assertTrue(ping.waitFor(TimeScale.seconds(60), TimeUnit.SECONDS));
            String out = new String(ping.getInputStream().readAllBytes());
            Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(out);
            assertTrue(m.find(), out);
            assertTrue(modes.size() >= 3, "switched " + modes + " while pinging");
            assertEquals(List.of(pings, pings), List.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))),
                    "0 lost across " + modes + ": " + out);
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "the policy holds in the last mode");
        }
    }

    /**
     * A foreign cls_bpf filter at the policy's interface and direction: plan and apply refuse (exit 3) naming
     * hook, program and the way out, and change nothing; with {@code foreignPrograms: coexist} bpfgit attaches
     * beside it with a warning; once attached, the policy without the opt-in is refused again and bpfgit's own
     * filter is left attached. In both modes where the kernel has tcx, legacy tc alone on 6.1.
     */
    @Test
    void aForeignLegacyTcFilterIsRefusedByDefaultCoexistsOnRequestAndIsNeverTouched(@TempDir Path dir) throws Exception {
        writePolicies(dir);
        String coexisting = policies().get(0).replace("  rules:", "  foreignPrograms: coexist\n  rules:");
        boolean tcx = new LinuxKernel().features().has(Feature.TCX_LINK);
        try (PinRoot root = PinRoot.create(); PinRoot theirs = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns edgeNs = t.ns("edge");
            Commands.run("bpftool", "prog", "load", foreignObject.toString(), theirs.resolve("prog").toString(),
                    "type", "classifier");
            edgeNs.run("tc", "qdisc", "add", "dev", "eth0", "clsact");
            edgeNs.run("tc", "filter", "add", "dev", "eth0", "ingress", "pref", "10", "handle", "0x7", "bpf", "da",
                    "object-pinned", theirs.resolve("prog").toString());
            String theirsShown = filters(t, "ingress");
            Matcher id = Pattern.compile("id (\\d+)").matcher(theirsShown);
            assertTrue(id.find(), theirsShown);
            Bpfgit.Host edge = new Bpfgit.Host(edgeNs, root.path());

            List<Map<String, String>> modes = tcx ? List.of(Map.of(), LEGACY) : List.of(LEGACY);
            for (Map<String, String> env : modes) {
                write(dir, "in.yaml", policies().get(0));
                String label = env.isEmpty() ? "eth0 tcx-ingress" : "eth0 tc-ingress (legacy tc)";
                for (String verb : List.of("plan", "apply")) {
                    Bpfgit.Cli r = verb.equals("plan") ? edge.cliWith(env, "plan", dir.toString())
                            : edge.cliWith(env, "apply", dir.toString(), "--yes");
                    assertEquals(3, r.exit(), r.toString());
                    assertTrue(r.err().startsWith("error: " + label + ": program id " + id.group(1) + " \"foreign_tc"
                            + " (legacy tc filter, pref 10 handle 0x7)\" is attached and was not attached by bpfgit;"
                            + " for TrafficPolicy/in: it may decide packets before bpfgit's"), r.err());
                    assertTrue(r.err().contains("tc filter del dev eth0 ingress pref PREF")
                            && r.err().contains("set spec.foreignPrograms: coexist in TrafficPolicy/in.")
                            && r.err().endsWith("nothing was changed.\n"), r.err());
                }
                assertEquals(List.of(), edge.pins(), "nothing applied");
                assertEquals(theirsShown, filters(t, "ingress"), "the foreign filter alone, untouched");
                assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "no policy runs");

                write(dir, "in.yaml", coexisting);
                Bpfgit.Cli plan = edge.cliWith(env, "plan", dir.toString());
                assertEquals(1, plan.exit(), plan.toString());
                assertTrue(plan.out().contains("Warning: " + label + ": program id " + id.group(1))
                        && plan.out().contains("legacy tc filter, pref 10 handle 0x7")
                        && plan.out().contains("was not attached by bpfgit"), plan.out());
                if (env.isEmpty()) {
                    System.clearProperty("bpfgit.tc");
                } else {
                    System.setProperty("bpfgit.tc", "legacy");
                }
                edge.apply(dir);
                assertTrue(filters(t, "ingress").contains("pref 10 bpf chain 0 handle 0x7"), filters(t, "ingress"));
                assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3),
                        "bpfgit's rule still decides after the foreign filter that decides nothing");
                assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3));
                Bpfgit.Cli again = edge.cliWith(env, "plan", dir.toString());
                assertEquals(0, again.exit(), "bpfgit's own filter is not foreign to a new process: " + again);

                // the opt-in withdrawn while both run: refused, and bpfgit's own filter stays attached
                write(dir, "in.yaml", policies().get(0));
                List<String> pins = edge.pins();
                Bpfgit.Cli refused = edge.cliWith(env, "apply", dir.toString(), "--yes");
                assertEquals(3, refused.exit(), refused.toString());
                assertTrue(refused.err().contains(label + ": program id " + id.group(1)), refused.err());
                assertEquals(pins, edge.pins());
                assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "the applied rule still drops");

                edge.inside(p -> p.apply(Differ.destroy(p.observe(List.of()))));
                assertTrue(filters(t, "ingress").contains("handle 0x7"), "the foreign filter is kept");
                assertFalse(filters(t, "ingress").contains("0xb9f"), "bpfgit's own filter is gone");
            }
        }
    }

    /**
     * A tc-egress mark re-routes through bpf_fib_lookup with the mark (6.10): where the probes find it missing
     * (6.1) the plan names the feature and the policy; where it is there the same policy plans.
     */
    @Test
    void aTcEgressMarkNeedsTheFibLookupMarkAndOlderKernelsRefuseItAtPlan(@TempDir Path dir) throws Exception {
        write(dir, "mark.yaml", traffic("steer", "eth0", "tc-egress", "destination", "pass",
                "{prefix: 198.51.100.0/24, action: mark, mark: 0x10}"));
        boolean has = new LinuxKernel().features().has(Feature.FIB_LOOKUP_MARK);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            if (has) {
                assertFalse(edge.plan(dir).inSync(), "plans on " + System.getProperty("os.version"));
            } else {
                NotSupportedException e = org.junit.jupiter.api.Assertions.assertThrows(NotSupportedException.class,
                        () -> edge.plan(dir));
                assertTrue(e.getMessage().startsWith("NotSupported(bpf_fib_lookup with BPF_FIB_LOOKUP_MARK"
                        + " (re-routing by mark at tc-egress), Linux 6.10): kernel " + System.getProperty("os.version")
                        + " does not have it; needed by TrafficPolicy/steer ("), e.getMessage());
            }
            assertEquals(List.of(), edge.pins(), "nothing applied");
        }
    }
}
