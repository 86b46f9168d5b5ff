package dev.bpfgit.it;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bpfgit run} with the kernel's map write counter (bpf/mapwrites.bpf.c): a drift tick after which
 * nothing wrote to a map reads no map (bpfgit_drift_checks_total{mode="counter"}), and a foreign
 * {@code bpftool map update} of a rule is seen by the counter and corrected within one tick. The sidecar is
 * the packaged tool as a process, scraped from inside its namespace, signalled and killed by the test.
 */
@KernelTest
class DriftCounterIT {
    private static final String UNIT = "traffic/eth0/xdp";
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}");
    /** Sidecar.FULL_EVERY: every this many reconciles every map is read anyway. */
    private static final int FULL_EVERY = 10;

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    private static double sample(String metrics, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), "no sample matching " + regex + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }

    private static long checks(RunIT.Daemon d, String mode) {
        return (long) sample(d.get("/metrics").body(), "bpfgit_drift_checks_total\\{mode=\"" + mode + "\"}");
    }

    private static Bytes value(Bpfgit.Host edge, String prefix) throws Exception {
        Bytes key = TrafficLayout.key(Prefix.parse(prefix));
        for (Entry e : edge.entries(UNIT + "/rules_v4")) {
            if (e.key().equals(key)) {
                return e.value();
            }
        }
        return null;
    }

    private static String action(Bpfgit.Host edge, String prefix) throws Exception {
        Bytes v = value(edge, prefix);
        return v == null ? "absent" : TrafficLayout.rule(v).action().yaml;
    }

    private static List<String> hex(byte[] b) {
        List<String> out = new ArrayList<>();
        for (byte x : b) {
            out.add(String.format("%02x", x & 0xff));
        }
        return out;
    }

    @Test
    void quietTicksReadNoMapAndAForeignUpdateIsCorrectedWithinOneTick(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies + RunIT.lastGood(dir)
                    + "\nreconcile: {interval: 2s, jitter: 0, drift: correct, writeCounter: true}\nmetrics:\n  listen: 127.0.0.1:" + port
                    + "\n");
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run.log"))) {
                d.awaitReady();
                assertTrue(d.log().contains("map write counter loaded"), d.toString());
                assertEquals("pass", action(edge, "198.51.100.0/24"));

                // quiet ticks: only the first reconciles (the meta map the loop created, then the maps the first
                // apply created) and every FULL_EVERY-th read a map; the rest read none
                assertTrue(Topology.waitFor(Duration.ofSeconds(40), Duration.ofMillis(200),
                        () -> checks(d, "counter") >= 3), "no quiet tick without a dump:\n" + d);
                long full = checks(d, "full");
                long counter = checks(d, "counter");
                long total = full + counter;
                assertTrue(full <= 2 + total / FULL_EVERY + 1, full + " of " + total + " ticks read maps:\n" + d);

                // a foreign write: 198.51.100.0/24 made to drop (the value of the drop rule), with bpftool
                Bytes drop = value(edge, "203.0.113.0/24");
                List<String> update = new ArrayList<>(List.of("bpftool", "map", "update", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                update.addAll(hex(TrafficLayout.key(Prefix.parse("198.51.100.0/24")).toArray()));
                update.addAll(List.of("value", "hex"));
                update.addAll(hex(drop.toArray()));
                long before = checks(d, "full");
                Commands.run(update.toArray(String[]::new));
                assertEquals("drop", action(edge, "198.51.100.0/24"), "the foreign write took");
                // within one tick (2 s, the loop may be in a step: 4 s)
                long t0 = System.nanoTime();
                assertTrue(Topology.waitFor(Duration.ofSeconds(4), Duration.ofMillis(20),
                        () -> Bpfgit.unchecked(() -> action(edge, "198.51.100.0/24")).equals("pass")),
                        "foreign write not corrected within a tick:\n" + d);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                String metrics = d.get("/metrics").body();
                assertTrue(sample(metrics, "bpfgit_drift_corrected_total") >= 1, metrics);
                assertTrue(checks(d, "full") > before, "the tick that corrected it read the map:\n" + metrics);
                assertTrue(d.log().contains("drifted in [TrafficPolicy/edge-filter], correcting"), d.toString());

                // our own correcting write is folded into the kept contents: the ticks after it read nothing
                long c0 = checks(d, "counter");
                long f0 = checks(d, "full");
                assertTrue(Topology.waitFor(Duration.ofSeconds(20), Duration.ofMillis(200),
                        () -> checks(d, "counter") >= c0 + 2), "no quiet tick after the correction:\n" + d);
                assertTrue(checks(d, "full") <= f0 + 1, "quiet ticks after our own write read maps:\n" + d);
                assertEquals("pass", action(edge, "198.51.100.0/24"));

                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
                System.out.println("DriftCounterIT: corrected " + ms + " ms after the foreign write; ticks "
                        + counter + " counter / " + full + " full before it");
            }
        }
    }

    /**
     * With the counter, a /metrics scrape takes the rule trie the loop kept instead of dumping it; a foreign
     * {@code bpftool} write to the trie between two scrapes (drift: report, so nothing corrects it) shows in the
     * very next scrape's labels, also before the loop's next tick: an in-place change of a rule's action, then
     * the rule's removal.
     */
    @Test
    void aForeignWriteToTheTrieBetweenScrapesChangesTheLabels(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        String series = "bpfgit_traffic_rule_packets_total\\{action=\"%s\",policy=\"TrafficPolicy/edge-filter\","
                + "prefix=\"198\\.51\\.100\\.0/24\",unit=\"traffic/eth0/xdp\"}";
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            // drift: report, so nothing corrects the writes; the scrape right after each write usually runs before
            // the next tick, so it is the scrape's own check of the counter that sees the write (the line printed
            // at the end says how many ticks ran in between)
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies + RunIT.lastGood(dir)
                    + "\nreconcile: {interval: 3s, jitter: 0, drift: report, writeCounter: true}\nmetrics:\n  listen: 127.0.0.1:" + port
                    + "\n");
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run.log"))) {
                d.awaitReady();
                assertTrue(d.log().contains("map write counter loaded"), d.toString());
                // a quiet tick read no map: the trie the scrape takes is kept
                assertTrue(Topology.waitFor(Duration.ofSeconds(40), Duration.ofMillis(100),
                        () -> checks(d, "counter") >= 1), "no quiet tick:\n" + d);
                assertEquals(0, sample(d.get("/metrics").body(), String.format(series, "pass")));

                // the pass rule made to drop in place (same key, same slot), between two scrapes
                Bytes drop = value(edge, "203.0.113.0/24");
                List<String> update = new ArrayList<>(List.of("bpftool", "map", "update", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                update.addAll(hex(TrafficLayout.key(Prefix.parse("198.51.100.0/24")).toArray()));
                update.addAll(List.of("value", "hex"));
                update.addAll(hex(drop.toArray()));
                long ticks = checks(d, "counter") + checks(d, "full");
                Commands.run(update.toArray(String[]::new));
                String metrics = d.get("/metrics").body();
                long after = checks(d, "counter") + checks(d, "full");
                assertEquals(0, sample(metrics, String.format(series, "drop")), metrics);
                assertTrue(!Pattern.compile(String.format(series, "pass")).matcher(metrics).find(),
                        "the replaced rule's labels were exported:\n" + metrics);

                // the rule removed: its series goes
                List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                delete.addAll(hex(TrafficLayout.key(Prefix.parse("198.51.100.0/24")).toArray()));
                Commands.run(delete.toArray(String[]::new));
                metrics = d.get("/metrics").body();
                assertTrue(!metrics.contains("prefix=\"198.51.100.0/24\""), "a removed rule was exported:\n" + metrics);
                assertEquals(2, metrics.lines().filter(l -> l.startsWith("bpfgit_traffic_rule_packets_total{")).count(),
                        metrics);
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
                System.out.println("DriftCounterIT: scrapes after the foreign writes; ticks in between: " + (after - ticks));
            }
        }
    }
}
