package dev.bpfgit.it;

import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Map writes as the kernel counts them (bench/src/map_writes.bpf.c: tracepoints on bpf(2), elements updated
 * and deleted per map id), not as bpfgit reports them: an in-sync `bpfgit apply` writes no map at all, the
 * bookkeeping map included, and a one-rule change writes exactly that rule.
 */
@KernelTest
class MapWritesIT {
    private static final String A = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}");
    private static final String B = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}");

    private final LinuxKernel kernel = new LinuxKernel();

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void anInSyncApplyMakesNoMapWriteAndAOneRuleChangeWritesOneEntry(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        Path b = write(dir.resolve("b"), "edge.yaml", B).getParent();
        try (PinRoot counter = PinRoot.create(); PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Path counts = load(dir.resolve("counter"), counter.path().resolve("writes"));
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            try {
                Bpfgit.Cli first = edge.cli("apply", a.toString(), "--yes");
                assertEquals(0, first.exit(), first.toString());

                Map<Integer, long[]> before = counters(counts);
                Bpfgit.Cli again = edge.cli("apply", a.toString(), "--yes");
                assertEquals(0, again.exit(), again.toString());
                assertTrue(again.out().contains("No changes"), again.toString());
                Map<String, long[]> inSync = writes(root.path(), before, counters(counts));
                assertTrue(inSync.containsKey("meta") && inSync.containsKey("traffic/eth0/xdp/rules_v4"), inSync.keySet().toString());
                inSync.forEach((map, w) -> assertTrue(w[0] == 0 && w[1] == 0,
                        "the in-sync apply wrote " + w[0] + " and deleted " + w[1] + " entries of " + map));

                before = counters(counts);
                Bpfgit.Cli change = edge.cli("apply", b.toString(), "--yes");
                assertEquals(0, change.exit(), change.toString());
                Map<String, long[]> changed = writes(root.path(), before, counters(counts));
                assertEquals("1/0", text(changed.get("traffic/eth0/xdp/rules_v4")), "the one new IPv4 rule");
                assertEquals("0/0", text(changed.get("traffic/eth0/xdp/rules_v6")));
                assertTrue(changed.get("meta")[0] > 0, "the new revision is recorded: " + text(changed.get("meta")));

                assertEquals(0, edge.cli("destroy", "--yes").exit());
            } finally {
                edge.cli("destroy", "--yes");
            }
        }
    }

    /**
     * The first apply of a large table (as the geo-routing example's: prefixes of several lengths in one
     * {@code prefixes:} list, mark at tc-egress) fills new maps from a plan that refers to the desired entries
     * (diff/EntryChanges): each entry is written once, nothing is deleted, and a capacity change that replaces
     * the maps writes every entry once into the new ones.
     */
    @Test
    void aFreshLargeTableIsWrittenOnceEntryByEntryAndSoIsItsResizedCopy(@TempDir Path dir) throws Exception {
        int v4 = 0;
        int v6 = 0;
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < 40_000; i++, v4++) {
            list.append(i == 0 ? "" : ", ").append("10.").append(i >> 16 & 255).append('.').append(i >> 8 & 255)
                    .append('.').append(i & 255).append("/32");
        }
        for (int i = 0; i < 20_000; i++, v4++) {
            list.append(", 11.").append(i >> 8 & 255).append('.').append(i & 255).append(".0/24");
        }
        for (int i = 0; i < 30_000; i++, v6++) {
            list.append(", 2001:db8:").append(Integer.toHexString(i)).append("::/48");
        }
        for (int i = 0; i < 30_000; i++, v6++) {
            list.append(", 2001:db9:").append(Integer.toHexString(i >> 8)).append(':').append(Integer.toHexString(i & 255))
                    .append("::/64");
        }
        String rule = "{prefixes: [" + list + "], action: mark, mark: 3}";
        Path a = write(dir.resolve("a"), "geo.yaml", traffic("geo-europe", "eth0", "tc-egress", "destination", "pass",
                rule).replace("  rules:", "  capacity: 131072\n  rules:")).getParent();
        Path b = write(dir.resolve("b"), "geo.yaml", traffic("geo-europe", "eth0", "tc-egress", "destination", "pass",
                rule).replace("  rules:", "  capacity: 196608\n  rules:")).getParent();
        try (PinRoot counter = PinRoot.create(); PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Path counts = load(dir.resolve("counter"), counter.path().resolve("writes"));
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            try {
                Map<Integer, long[]> before = counters(counts);
                Bpfgit.Cli first = edge.cli("apply", a.toString(), "--yes");
                assertEquals(0, first.exit(), first.toString());
                Map<String, long[]> fresh = writes(root.path(), before, counters(counts));
                assertEquals(v4 + "/0", text(fresh.get("traffic/eth0/tc-egress/rules_v4")), "each IPv4 entry once");
                assertEquals(v6 + "/0", text(fresh.get("traffic/eth0/tc-egress/rules_v6")), "each IPv6 entry once");
                assertTrue(first.out().contains("entries +" + (v4 + v6 + 1) + " ~0 -0."), first.out().lines()
                        .filter(l -> l.startsWith("Plan:")).toList().toString());
                assertEquals(v4, kernel.entries(root.path().resolve("traffic/eth0/tc-egress/rules_v4")).size());
                assertEquals(v6, kernel.entries(root.path().resolve("traffic/eth0/tc-egress/rules_v6")).size());

                before = counters(counts);
                Bpfgit.Cli resized = edge.cli("apply", b.toString(), "--yes");
                assertEquals(0, resized.exit(), resized.toString());
                assertTrue(resized.out().contains("replace"), resized.toString());
                Map<String, long[]> copy = writes(root.path(), before, counters(counts));
                assertEquals(v4 + "/0", text(copy.get("traffic/eth0/tc-egress/rules_v4")), "the new IPv4 map, each entry once");
                assertEquals(v6 + "/0", text(copy.get("traffic/eth0/tc-egress/rules_v6")), "the new IPv6 map, each entry once");
                Bpfgit.Cli again = edge.cli("plan", b.toString());
                assertEquals(0, again.exit(), again.toString());

                assertEquals(0, edge.cli("destroy", "--yes").exit());
            } finally {
                edge.cli("destroy", "--yes");
            }
        }
    }

    private static String text(long[] w) {
        return w == null ? "absent" : w[0] + "/" + w[1];
    }

    /** Builds the counter and its loader with clang, cc and bpftool, as bench/run does, and loads it. */
    private static Path load(Path work, Path pins) throws IOException {
        Files.createDirectories(work);
        Path src = Bpfgit.REPO.resolve("bench/src");
        try {
            Process p = new ProcessBuilder("bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c")
                    .redirectOutput(work.resolve("vmlinux.h").toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            assertEquals(0, p.waitFor(), "bpftool btf dump");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Path obj = work.resolve("map_writes.bpf.o");
        Path loader = work.resolve("map_writes");
        Commands.run("clang", "-O2", "-g", "-target", "bpf", "-I" + work, "-c", src.resolve("map_writes.bpf.c").toString(),
                "-o", obj.toString());
        Commands.run("cc", "-O2", "-o", loader.toString(), src.resolve("map_writes.c").toString(), "-lbpf");
        // tracefs only inside a mount namespace of the loader's own, for the tracepoint ids; where the host has it
        // mounted already, a second mount there fails (exit 32), and the host's is used as it is
        Commands.run("unshare", "-m", "sh", "-c", "{ mountpoint -q /sys/kernel/tracing"
                + " || mount -t tracefs tracefs /sys/kernel/tracing; } && exec \"$0\" \"$1\" \"$2\"",
                loader.toString(), obj.toString(), pins.toString());
        return pins.resolve("map_writes");
    }

    private Map<Integer, long[]> counters(Path pin) {
        Map<Integer, long[]> m = new HashMap<>();
        for (Entry e : kernel.entries(pin)) {
            ByteBuffer k = ByteBuffer.wrap(e.key().toArray()).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer v = ByteBuffer.wrap(e.value().toArray()).order(ByteOrder.LITTLE_ENDIAN);
            m.put(k.getInt(0), new long[]{v.getLong(0), v.getLong(8)});
        }
        return m;
    }

    /** Every map pinned under the root, by its path relative to the root: {updated, deleted} between the two. */
    private Map<String, long[]> writes(Path root, Map<Integer, long[]> before, Map<Integer, long[]> after) {
        Map<String, long[]> out = new TreeMap<>();
        try (var walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                try {
                    kernel.mapInfo(p).ifPresent(i -> {
                        long[] x = after.getOrDefault(i.id(), new long[2]);
                        long[] y = before.getOrDefault(i.id(), new long[2]);
                        out.put(root.relativize(p).toString(), new long[]{x[0] - y[0], x[1] - y[1]});
                    });
                } catch (RuntimeException notAMap) {
                    // a program or link pin
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
