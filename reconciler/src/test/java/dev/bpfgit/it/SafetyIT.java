package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What bpfgit must never do: change the host on invalid input, take down what the last good revision
 * installed, replace a program it did not attach, touch pins outside its root, or leave anything behind
 * after destroy. Driven through the packaged CLI, as an operator would.
 */
@KernelTest
class SafetyIT {
    private static final String GOOD = traffic("good", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}");
    /** Line 11 column 41: the action; line 12 column 16: the prefix. */
    private static final String BROKEN = traffic("broken", "eth0", "xdp", "source", "pass",
            "{prefix: 198.51.100.0/24, action: dorp}",
            "{prefix: 198.51.100.300/24, action: drop}");

    @TempDir
    static Path build;
    static Path foreignObject;

    @BeforeAll
    static void prepare() throws Exception {
        Bpfgit.warmUp();
        foreignObject = Bpfgit.bpfObject(build, "foreign", """
                #include <linux/bpf.h>
                __attribute__((section("xdp"), used)) int foreign_pass(struct xdp_md *ctx) { return XDP_PASS; }
                __attribute__((section("license"), used)) char LICENSE[] = "GPL";
                """);
    }

    @Test
    void invalidFilesChangeNothingAndNameFileLineAndColumn(@TempDir Path dir) throws Exception {
        write(dir, "good.yaml", GOOD);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            assertEquals(0, edge.cli("apply", dir.toString(), "--yes").exit());
            Bpfgit.Cli before = edge.cli("state", "export");
            assertEquals(0, before.exit(), before.toString());
            assertEquals(1, before.json().get("links").size(), "the export holds the applied state: " + before.out());
            int prog = t.xdpProgId("edge", "eth0");

            // a valid change and a broken file in one revision: neither may reach the kernel
            write(dir, "good.yaml", GOOD.replace("203.0.113.0/24", "192.0.2.0/24"));
            Path broken = write(dir, "broken.yaml", BROKEN);
            Bpfgit.Cli apply = edge.cli("apply", dir.toString(), "--yes");
            assertEquals(2, apply.exit(), apply.toString());
            assertTrue(apply.err().contains(broken + ":11:41: "), apply.err());
            assertTrue(apply.err().contains(broken + ":12:16: "), apply.err());

            Bpfgit.Cli after = edge.cli("state", "export");
            // compared as data: the export lists maps and attach points in no particular order; and only what
            // bpfgit owns: the host's cgroup tree is in the export too (for plans of cgroup kinds), and other
            // processes on this machine make and remove cgroups at any time
            assertEquals(Bpfgit.canonical(owned(before.json())), Bpfgit.canonical(owned(after.json())),
                    "state export before and after the refused apply");
            assertTrue(owned(after.json()).at("/host/cgroups").isMissingNode());
            assertEquals(1, after.json().get("links").size(), after.out());
            assertEquals(prog, t.xdpProgId("edge", "eth0"));
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 2), "the old rule still drops");
            assertEquals(2, t.ping("client", "192.0.2.7", "10.0.0.2", 2), "the new one was not applied");
        }
    }

    /** A state export without the host's cgroup tree: what bpfgit pinned and attached, and the host's interfaces. */
    private static tools.jackson.databind.JsonNode owned(tools.jackson.databind.JsonNode export) {
        tools.jackson.databind.JsonNode copy = export.deepCopy();
        if (copy.get("host") instanceof tools.jackson.databind.node.ObjectNode host) {
            host.remove("cgroups");
        }
        return copy;
    }

    @Test
    void anInvalidRevisionNeverRemovesWhatTheLastGoodOneInstalled(@TempDir Path dir) throws Exception {
        Path a = write(dir, "a.yaml", GOOD);
        write(dir, "b.yaml", traffic("other", "eth0", "tc-ingress", "source", "pass",
                "{prefix: 198.51.100.0/24, action: drop}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            assertEquals(0, edge.cli("apply", dir.toString(), "--yes").exit());
            List<String> pins = edge.pins();

            // the file holding policy "good" no longer parses: that is not the same as "good" removed
            Files.writeString(a, "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: good\n");
            for (String verb : List.of("plan", "apply")) {
                Bpfgit.Cli r = verb.equals("plan") ? edge.cli("plan", dir.toString())
                        : edge.cli("apply", dir.toString(), "--yes");
                assertEquals(2, r.exit(), r.toString());
                assertTrue(r.err().contains(a + ":"), r.err());
                assertTrue(r.err().contains("nothing was changed"), r.err());
            }
            assertEquals(pins, edge.pins());
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 2), "xdp rule of the last good revision");
            assertEquals(0, t.ping("client", "198.51.100.7", "10.0.0.2", 2), "tc rule of the last good revision");
        }
    }

    @Test
    void aForeignXdpProgramIsReportedAndNotReplaced(@TempDir Path dir) throws Exception {
        write(dir, "good.yaml", GOOD);
        try (PinRoot root = PinRoot.create(); PinRoot theirs = PinRoot.create(); Topology t = Topology.pair()) {
            // loaded and attached the classic way (netlink, no bpf_link), as another tool would; bpftool
            // rather than "ip link set xdp obj", which leaves tc/globals behind in /sys/fs/bpf
            Commands.run("bpftool", "prog", "load", foreignObject.toString(), theirs.resolve("prog").toString(),
                    "type", "xdp");
            t.ns("edge").run("bpftool", "net", "attach", "xdp", "pinned", theirs.resolve("prog").toString(),
                    "dev", "eth0");
            int foreign = t.xdpProgId("edge", "eth0");
            assertNotEquals(0, foreign);
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());

            for (String verb : List.of("plan", "apply")) {
                Bpfgit.Cli r = verb.equals("plan") ? edge.cli("plan", dir.toString())
                        : edge.cli("apply", dir.toString(), "--yes");
                assertEquals(3, r.exit(), r.toString());
                assertTrue(r.err().contains("foreign_pass") && r.err().contains("eth0")
                        && r.err().contains("id " + foreign), r.err());
            }
            assertEquals(foreign, t.xdpProgId("edge", "eth0"), "still attached, not replaced");
            assertEquals(List.of(), edge.pins(), "nothing was created under the pin root");
            assertEquals(2, t.ping("client", "203.0.113.7", "10.0.0.2", 2), "the foreign program passes all");
        }
    }

    @Test
    void applyAndDestroyTouchNothingOutsideThePinRootAndLeaveBpffsAsBefore(@TempDir Path dir) throws Exception {
        write(dir, "xdp.yaml", GOOD);
        write(dir, "tc.yaml", traffic("tc-in", "eth0", "tc-ingress", "source", "pass",
                "{prefix: 198.51.100.0/24, action: drop}"));
        write(dir, "eg.yaml", traffic("tc-out", "eth0", "tc-egress", "destination", "pass",
                "{prefix: 192.0.2.0/24, action: drop}"));
        try (PinRoot parent = PinRoot.create(); Topology t = Topology.pair()) {
            // neighbours of the root whose names start like it, each holding a pinned map of someone else
            Path root = parent.resolve("bpfgit");
            List<Path> siblings = List.of(parent.resolve("bpfgit-old"), parent.resolve("bpfgitx"), parent.resolve("other"));
            for (Path s : siblings) {
                Files.createDirectory(s);
                Commands.run("bpftool", "map", "create", s.resolve("theirs").toString(), "type", "hash", "key", "4",
                        "value", "4", "entries", "4", "name", "theirs");
            }
            List<String> bpffsBefore = listing(parent.path());
            List<String> idsBefore = mapIds(siblings);

            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root);
            Bpfgit.Cli apply = edge.cli("apply", dir.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            List<Integer> ours = edge.inside(p -> {
                List<Integer> ids = new ArrayList<>();
                for (String hook : List.of("xdp", "tc-ingress", "tc-egress")) {
                    p.kernel().linkInfo(root.resolve("traffic/eth0/" + hook + "/link")).ifPresent(l -> ids.add(l.id()));
                }
                return ids;
            });
            assertEquals(3, ours.size(), "one link per hook");
            assertEquals(0, t.ping("client", "198.51.100.7", "10.0.0.2", 2), "tc-ingress drops");

            Bpfgit.Cli destroy = edge.cli("destroy", "--yes");
            assertEquals(0, destroy.exit(), destroy.toString());
            assertFalse(Files.exists(root), "the pin root is gone");
            assertEquals(bpffsBefore, listing(parent.path()), "bpffs around the root is as it was");
            assertEquals(idsBefore, mapIds(siblings), "the same maps, not recreated");
            // a link goes with its last pin, detached from deferred work a moment later
            assertTrue(Topology.waitFor(Duration.ofSeconds(2), () -> linkIds().stream().noneMatch(ours::contains)),
                    "bpftool link show still lists " + ours + " of " + linkIds());
            assertEquals(0, t.xdpProgId("edge", "eth0"), "ip link shows no xdp");
            for (AttachPoint.Direction d : AttachPoint.Direction.values()) {
                assertEquals(List.of(), edge.inside(p -> p.kernel().attached(new AttachPoint.Tcx("eth0", d))),
                        "tcx " + d);
            }
            assertEquals(2, t.ping("client", "198.51.100.7", "10.0.0.2", 2));
            assertEquals(2, t.ping("client", "203.0.113.7", "10.0.0.2", 2));
        }
    }

    /** Every path below {@code dir}, relative, sorted. */
    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    private static List<String> mapIds(List<Path> dirs) {
        List<String> ids = new ArrayList<>();
        for (Path d : dirs) {
            JsonNode info = Bpfgit.unchecked(() -> Bpfgit.JSON.readTree(Commands.run("bpftool", "-j", "map", "show",
                    "pinned", d.resolve("theirs").toString())));
            ids.add(d.getFileName() + " " + info.get("id").asInt());
        }
        return ids;
    }

    private static Set<Integer> linkIds() {
        Set<Integer> ids = new HashSet<>();
        JsonNode links = Bpfgit.unchecked(() -> Bpfgit.JSON.readTree(Commands.run("bpftool", "-j", "link", "show")));
        links.forEach(l -> ids.add(l.get("id").asInt()));
        return ids;
    }
}
