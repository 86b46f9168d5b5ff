package dev.bpfgit.it;

import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole installed location database (tor-geoipdb, about 1.16 million prefixes) as the geo-routing
 * example generates it, applied with the CLI on the edge of a test namespace: datagrams to a sample address
 * of several countries leave by their region's path (ip rule fwmark, inside the namespace only); a database
 * update that moves 1% of the ranges to other countries plans and applies exactly the entries whose mark
 * changed, and changes the path of a moved sample only; destroy leaves nothing. The database is required:
 * CI installs it (.ci/run), and the test fails without it rather than skipping.
 */
@KernelTest
@Tag("tcx")
class GeoRoutingIT {
    static final Path GEOIP = Path.of("/usr/share/tor/geoip");
    static final Path GEOIP6 = Path.of("/usr/share/tor/geoip6");
    private static final int N = 5;

    /** A sample country per path, and one (Brazil) whose mark has no rule, so it keeps the main table. */
    private record Sample(String country, String v4, String v6, String path) {
    }

    /** The edge's paths: its main table by pmain, and the tables of three regions' marks. */
    private static final Map<String, Integer> PATH_MARKS = Map.of("peu", 3, "pna", 4, "pas", 2);

    @Test
    void theWholeTableRoutesByCountryAndADatabaseUpdateChangesOnlyWhatMoved(@TempDir Path work) throws Exception {
        assertTrue(Files.isReadable(GEOIP) && Files.isReadable(GEOIP6),
                "the location database is missing: apt-get install tor-geoipdb (CI installs it)");
        Path db = Files.createDirectories(work.resolve("db"));
        List<String> v4 = Files.readAllLines(GEOIP), v6 = Files.readAllLines(GEOIP6);
        Map<String, Sample> samples = new LinkedHashMap<>();
        for (String[] s : new String[][]{{"DE", "peu"}, {"FR", "peu"}, {"US", "pna"}, {"JP", "pas"}, {"BR", "pmain"}}) {
            samples.put(s[0], new Sample(s[0], sample(v4, s[0], false), sample(v6, s[0], true), s[1]));
        }
        // the update: 1% of the ranges to a country of another continent, and Germany's sample ranges to the US
        List<String> v4moved = move(v4, samples.get("DE").v4(), samples.values().stream().map(Sample::v4).toList(), false);
        List<String> v6moved = move(v6, samples.get("DE").v6(), samples.values().stream().map(Sample::v6).toList(), true);
        Files.write(db.resolve("geoip"), v4);
        Files.write(db.resolve("geoip6"), v6);
        Path before = work.resolve("before"), after = work.resolve("after");
        GeoRoutingExampleIT.generate(before, "--geoip", db.resolve("geoip").toString(), "--geoip6",
                db.resolve("geoip6").toString());
        Files.write(db.resolve("geoip"), v4moved);
        Files.write(db.resolve("geoip6"), v6moved);
        GeoRoutingExampleIT.generate(after, "--geoip", db.resolve("geoip").toString(), "--geoip6",
                db.resolve("geoip6").toString());
        Map<String, String> marksBefore = marks(before), marksAfter = marks(after);
        assertEquals(marksBefore.keySet(), marksAfter.keySet(), "a move changes marks, never prefixes");
        long moved = marksBefore.keySet().stream().filter(p -> !marksBefore.get(p).equals(marksAfter.get(p))).count();
        assertTrue(marksBefore.size() > 1_000_000, "the whole table: " + marksBefore.size());
        assertTrue(moved > 1000, "1% of the ranges moved: " + moved + " prefixes");

        try (PinRoot root = PinRoot.create(); Topology t = paths(samples)) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli apply = slow(edge, "apply", before.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            Sinks sinks = new Sinks(t, samples);
            sinks.sendAll(t);
            for (Sample s : samples.values()) {
                sinks.assertLeftBy(s, s.path());
            }

            Bpfgit.Cli plan = slow(edge, "plan", after.toString());
            assertEquals(1, plan.exit(), plan.err());
            assertTrue(plan.out().contains("entries +0 ~" + moved + " -0.\n"), tail(plan.out()));
            Bpfgit.Cli update = slow(edge, "apply", after.toString(), "--yes");
            assertEquals(0, update.exit(), update.toString());
            Bpfgit.Cli replan = slow(edge, "plan", after.toString());
            assertEquals(0, replan.exit(), "in sync after the update: " + tail(replan.out()));

            sinks.reset();
            sinks.sendAll(t);
            for (Sample s : samples.values()) {
                sinks.assertLeftBy(s, s.country().equals("DE") ? "pna" : s.path());
            }

            Bpfgit.Cli destroy = slow(edge, "destroy", "--yes");
            assertEquals(0, destroy.exit(), destroy.toString());
            assertFalse(Files.exists(root.path()), "nothing left under the pin root");
            assertEquals("", t.ns("edge").run("bpftool", "net", "show", "dev", "eth0").replaceAll("(?m)^(xdp|tc|flow_dissector|netfilter):\\s*$", "").strip(),
                    "no program left on eth0");
            sinks.reset();
            sinks.sendAll(t);
            for (Sample s : samples.values()) {
                sinks.assertLeftBy(s, "pmain");
            }
        }
    }

    /** A verb on the whole table: a minute or two on a quiet 2-CPU machine, several on a loaded one. */
    private static final long CLI_TIMEOUT_SECONDS = dev.bpfgit.kernel.testing.TimeScale.seconds(900);

    /** {@code edge.cli(args)} with a timeout for a million-prefix table. */
    private static Bpfgit.Cli slow(Bpfgit.Host edge, String... args) throws InterruptedException {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--root");
        a.add(edge.root().toString());
        Process p = Bpfgit.start(edge.ns(), a.toArray(String[]::new));
        var out = dev.bpfgit.kernel.testing.Commands.drain(p.getInputStream());
        var err = dev.bpfgit.kernel.testing.Commands.drain(p.getErrorStream());
        if (!p.waitFor(CLI_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
            throw new AssertionError("bpfgit " + a + " did not finish in " + CLI_TIMEOUT_SECONDS + "s");
        }
        return new Bpfgit.Cli(a, p.exitValue(), out.join(), err.join());
    }

    /** The edge with eth0 to pmain (its main table) and one more interface to the path of each region table. */
    private static Topology paths(Map<String, Sample> samples) {
        Topology t = Topology.of("edge", "pmain", "peu", "pna", "pas");
        try {
            List<String> names = List.of("pmain", "peu", "pna", "pas");
            for (int i = 0; i < names.size(); i++) {
                String p = names.get(i), a4 = "10.0." + (i + 1) + ".", a6 = "fd0" + (i + 1) + "::";
                t.veth("edge", "eth" + i, a4 + "1", a6 + "1", p, "eth0", a4 + "2", a6 + "2");
                t.staticNeighbours("edge", "eth" + i, p, "eth0", a4 + "1", a6 + "1", a4 + "2", a6 + "2");
                for (Sample s : samples.values()) {
                    t.addr(p, "lo", s.v4());
                    t.addr(p, "lo", s.v6());
                }
                t.sysctl(p, "net.ipv4.conf.all.rp_filter", "0");
                t.sysctl(p, "net.ipv4.conf.eth0.rp_filter", "0");
                if (p.equals("pmain")) {
                    t.ip("edge", "route", "add", "default", "via", a4 + "2", "dev", "eth0");
                    t.ip("edge", "-6", "route", "add", "default", "via", a6 + "2", "dev", "eth0");
                } else {
                    String table = String.valueOf(100 + PATH_MARKS.get(p)), mark = String.valueOf(PATH_MARKS.get(p));
                    t.ip("edge", "route", "add", "default", "via", a4 + "2", "dev", "eth" + i, "table", table);
                    t.ip("edge", "-6", "route", "add", "default", "via", a6 + "2", "dev", "eth" + i, "table", table);
                    t.ip("edge", "rule", "add", "fwmark", mark, "lookup", table);
                    t.ip("edge", "-6", "rule", "add", "fwmark", mark, "lookup", table);
                }
            }
            // the program's FIB lookup answers only where forwarding is on (bpf/README.md)
            t.sysctl("edge", "net.ipv4.conf.all.forwarding", "1");
            t.sysctl("edge", "net.ipv6.conf.all.forwarding", "1");
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * UDP sinks for every sample address on every path, bound once: counts are taken from a baseline, since a
     * closed sink's port may stay bound for a moment while its receiving thread unwinds.
     */
    private static final class Sinks {
        private final Map<String, Map<String, Topology.UdpSink>> byPath = new LinkedHashMap<>();
        private final Map<Topology.UdpSink, Integer> base = new HashMap<>();
        private final Map<String, Sample> samples;

        Sinks(Topology t, Map<String, Sample> samples) throws Exception {
            this.samples = samples;
            for (String p : List.of("pmain", "peu", "pna", "pas")) {
                Map<String, Topology.UdpSink> m = new HashMap<>();
                for (Sample s : samples.values()) {
                    m.put(s.v4(), t.udpSink(p, s.v4(), 7001));
                    m.put(s.v6(), t.udpSink(p, s.v6(), 7001));
                }
                byPath.put(p, m);
            }
        }

        /** Counts from now on. */
        void reset() {
            byPath.values().forEach(m -> m.values().forEach(s -> base.put(s, s.total())));
        }

        private int count(Topology.UdpSink s) {
            return s.total() - base.getOrDefault(s, 0);
        }

        void sendAll(Topology t) throws Exception {
            for (Sample s : samples.values()) {
                t.udpSend("edge", "0.0.0.0", s.v4(), 7001, N);
                t.udpSend("edge", "::", s.v6(), 7001, N);
            }
        }

        /** Every datagram to the sample's addresses arrived on {@code path}, none elsewhere. */
        void assertLeftBy(Sample s, String path) throws Exception {
            for (String a : List.of(s.v4(), s.v6())) {
                Topology.UdpSink sink = byPath.get(path).get(a);
                Topology.waitFor(java.time.Duration.ofSeconds(5), () -> count(sink) >= N);
                assertEquals(N, count(sink), s.country() + " " + a + " by " + path + "; " + this);
                for (String other : byPath.keySet()) {
                    if (!other.equals(path)) {
                        assertEquals(0, count(byPath.get(other).get(a)), s.country() + " " + a + " also by " + other);
                    }
                }
            }
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            byPath.forEach((p, m) -> m.forEach((a, s) -> {
                if (count(s) > 0) {
                    b.append(p).append(' ').append(a).append('=').append(count(s)).append(' ');
                }
            }));
            return b.toString();
        }
    }

    /** An address inside the first range of {@code country} that spans at least 256 addresses (not its first). */
    private static String sample(List<String> db, String country, boolean v6) throws IOException {
        for (String line : db) {
            String[] f = line.split(",");
            if (line.startsWith("#") || f.length != 3 || !f[2].equals(country)) {
                continue;
            }
            java.math.BigInteger from = number(f[0], v6), to = number(f[1], v6);
            if (to.subtract(from).compareTo(java.math.BigInteger.valueOf(255)) >= 0) {
                return address(from.add(java.math.BigInteger.valueOf(7)), v6);
            }
        }
        throw new AssertionError("no range of " + country + " in the database");
    }

    /**
     * The database with every 100th range given to a country of another continent (fixed, so the run is
     * repeatable), the range holding {@code alsoMove} (when not null) given to the United States, and the
     * ranges of the other samples left alone.
     */
    private static List<String> move(List<String> db, String alsoMove, List<String> keep, boolean v6)
            throws IOException {
        List<String> out = new ArrayList<>(db.size());
        java.math.BigInteger pinned = alsoMove == null ? null : number(alsoMove, v6);
        List<java.math.BigInteger> kept = new ArrayList<>();
        for (String k : keep) {
            kept.add(number(k, v6));
        }
        int i = 0;
        for (String line : db) {
            String[] f = line.split(",");
            if (line.startsWith("#") || f.length != 3) {
                out.add(line);
                continue;
            }
            java.math.BigInteger from = number(f[0], v6), to = number(f[1], v6);
            if (pinned != null && from.compareTo(pinned) <= 0 && to.compareTo(pinned) >= 0) {
                out.add(f[0] + "," + f[1] + ",US");
            } else if (kept.stream().anyMatch(k -> from.compareTo(k) <= 0 && to.compareTo(k) >= 0)) {
                out.add(line);
            } else if (i++ % 100 == 0) {
                // DE and US are on different continents; a range of either goes to Japan
                out.add(f[0] + "," + f[1] + "," + (f[2].equals("DE") || f[2].equals("US") ? "JP"
                        : List.of("DE", "US").get(i % 2)));
            } else {
                out.add(line);
            }
        }
        return out;
    }

    private static java.math.BigInteger number(String s, boolean v6) throws IOException {
        return v6 || s.contains(":") || s.contains(".")
                ? new java.math.BigInteger(1, java.net.InetAddress.getByName(s).getAddress())
                : new java.math.BigInteger(s);
    }

    private static String address(java.math.BigInteger n, boolean v6) throws IOException {
        byte[] raw = n.toByteArray(), b = new byte[v6 ? 16 : 4];
        int k = Math.min(raw.length, b.length);
        System.arraycopy(raw, raw.length - k, b, b.length - k, k);
        return java.net.InetAddress.getByAddress(b).getHostAddress();
    }

    private static final Pattern MARK = Pattern.compile("^ +mark: (\\d+)$");
    private static final Pattern ITEM = Pattern.compile("^ +- ([0-9a-f.:]+/\\d+)$");

    /** prefix -> mark of every generated rule, read from the YAML (one list rule per policy) as text. */
    private static Map<String, String> marks(Path dir) throws IOException {
        Map<String, String> m = new HashMap<>(2_000_000);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String[] mark = {null};
                try (Stream<String> lines = Files.lines(f)) {
                    lines.forEach(l -> {
                        Matcher x = MARK.matcher(l);
                        if (x.matches()) {
                            mark[0] = x.group(1);
                        } else if ((x = ITEM.matcher(l)).matches()) {
                            m.put(x.group(1), mark[0]);
                        }
                    });
                }
            }
        }
        return m;
    }

    private static String tail(String s) {
        return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
    }
}
