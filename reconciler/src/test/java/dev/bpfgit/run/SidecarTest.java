package dev.bpfgit.run;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.source.PolicySource;
import dev.bpfgit.source.RefusedRevisionException;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import dev.bpfgit.state.MemoryKernel;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loop's decisions, step by step, on a fake source, an in-memory kernel and a clock the test moves. */
class SidecarTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final Path RULES = ROOT.resolve("traffic/eth0/xdp/rules_v4");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));
    private static final String DROP = "    - {prefix: 192.0.2.0/24, action: drop}\n";
    private static final String OTHER = "    - {prefix: 198.51.100.0/24, action: drop}\n";
    private static final String BAD = "    - {prefix: 192.0.2.0/24, action: explode}\n";

    @TempDir
    Path tmp;

    private final MemoryKernel memory = new MemoryKernel(HOST.interfaces(), 2);
    /** When set, every map update fails with ENOSPC (a failing apply). */
    private final AtomicBoolean failWrites = new AtomicBoolean();
    /** Observations (one listing of the pins each) by the thread that made them. */
    private final Map<String, Integer> observedOn = new java.util.concurrent.ConcurrentHashMap<>();
    /** Every call made to the kernel. */
    private final java.util.concurrent.atomic.AtomicInteger kernelCalls = new java.util.concurrent.atomic.AtomicInteger();
    /** The map write counter the kernel below offers when set: it counts the writes made through it, as the real one. */
    private Writes writes;
    /** Dumps of the rule trie by readMap through the kernel below (a scrape's; an observation reads pins). */
    private final java.util.concurrent.atomic.AtomicInteger ruleReads = new java.util.concurrent.atomic.AtomicInteger();
    /** Opens of the rule trie by readMap or mapInfo through the kernel below (each opens the pin once). */
    private final java.util.concurrent.atomic.AtomicInteger ruleOpens = new java.util.concurrent.atomic.AtomicInteger();

    /** Counts per watched map id the elements written, as bpf/mapwrites.bpf.c; {@link #count} for a foreign write. */
    private final class Writes implements dev.bpfgit.kernel.MapWriteCounter {
        final Map<Integer, Long> counts = new java.util.concurrent.ConcurrentHashMap<>();
        volatile long unresolved;

        void count(Path pin, long n) {
            memory.mapInfo(pin).ifPresent(i -> counts.computeIfPresent(i.id(), (k, v) -> v + n));
        }

        @Override
        public void watch(int mapId) {
            counts.putIfAbsent(mapId, 0L);
        }

        @Override
        public void unwatch(int mapId) {
            counts.remove(mapId);
        }

        @Override
        public java.util.OptionalLong writes(int mapId) {
            Long c = counts.get(mapId);
            return c == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(c);
        }

        @Override
        public long unresolved() {
            return unresolved;
        }

        @Override
        public void close() {
        }
    }

    private final Kernel kernel = (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(),
            new Class<?>[]{Kernel.class}, (proxy, method, args) -> {
                kernelCalls.incrementAndGet();
                if (method.getName().equals("pins") || method.getName().equals("pinTree")
                        || method.getName().equals("readPins") || method.getName().equals("startReadPins")) {
                    observedOn.merge(Thread.currentThread().getName(), 1, Integer::sum);
                }
                if (method.getName().equals("mapWriteCounter") && writes != null) {
                    return Optional.of(writes);
                }
                if ((method.getName().equals("readMap") || method.getName().equals("mapInfo"))
                        && RULES.equals(args[0])) {
                    ruleOpens.incrementAndGet();
                }
                if (method.getName().equals("readMap") && RULES.equals(args[0])) {
                    @SuppressWarnings("unchecked")
                    var withEntries = (java.util.function.Predicate<dev.bpfgit.kernel.MapInfo>) args[1];
                    args = new Object[]{args[0], (java.util.function.Predicate<dev.bpfgit.kernel.MapInfo>) i -> {
                        boolean dump = withEntries.test(i);
                        if (dump) {
                            ruleReads.incrementAndGet();
                        }
                        return dump;
                    }};
                }
                if (failWrites.get() && method.getName().equals("update")) {
                    throw KernelException.of("update map", String.valueOf(args[0]), Errno.of(28), null);
                }
                Object result;
                try {
                    result = method.invoke(memory, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
                if (writes != null && (method.getName().equals("update") || method.getName().equals("delete"))
                        && args[1] instanceof java.util.Collection<?> c) {
                    writes.count((Path) args[0], c.size());   // as the kernel: after the write is in the map
                }
                return result;
            });
    private final MutableClock clock = new MutableClock();
    private final FakeSource source = new FakeSource();
    private Metrics metrics;

    private Sidecar sidecar(String drift) throws IOException {
        return sidecar(drift, 10_000);
    }

    private Sidecar sidecar(String drift, int maxRuleSeries) throws IOException {
        Path file = tmp.resolve("bpfgit.yaml");
        Files.writeString(file, "reconcile: {interval: 60s, jitter: 0, drift: " + drift
                + (writes != null ? ", writeCounter: true" : "") + "}\n"
                + "metrics: {maxRuleSeries: " + maxRuleSeries + "}\n");
        metrics = new Metrics(clock);
        return new Sidecar(new Pipeline(kernel, ROOT, clock), source, () -> HOST, Config.load(file),
                Duration.ofSeconds(30), clock, metrics);
    }

    private static Snapshot revision(String rev, String rules) {
        return new Snapshot(rev, Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: edge}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n" + rules));
    }

    private boolean has(String prefix) {
        return memory.lookup(RULES, TrafficLayout.key(Prefix.parse(prefix))).isPresent();
    }

    private void drop(String prefix) {
        memory.delete(RULES, List.of(TrafficLayout.key(Prefix.parse(prefix))));
    }

    private Map<String, String> meta() {
        Map<String, String> m = new java.util.TreeMap<>();
        memory.entries(Meta.pin(ROOT)).forEach(e -> m.put(Meta.decode(e.key()), Meta.decode(e.value())));
        return m;
    }

    private String scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape(), EscapingScheme.ALLOW_UTF8);
        return out.toString(StandardCharsets.UTF_8);
    }

    private static double sample(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        if (!m.find()) {
            throw new AssertionError("no sample " + series + " in\n" + text);
        }
        return Double.parseDouble(m.group(1));
    }

    @Test
    void driftOfTheLastGoodRevisionIsCorrectedWhileTheSourceIsInvalidUnreachableOrRefused() throws IOException {
        Sidecar s = sidecar("correct");
        source.set("h1", revision("r1", DROP));
        s.step();
        assertTrue(has("192.0.2.0/24"));
        assertEquals(Optional.of("r1"), s.enforcedRevision());

        source.set("h2", revision("r2", BAD));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(Sidecar.SourceState.INVALID, s.sourceState());
        assertTrue(s.sourceError().startsWith("p.yaml:8:"), s.sourceError());
        assertEquals(Optional.of("r1"), s.enforcedRevision());
        assertEquals("invalid", meta().get("sidecar/state"));
        assertEquals("r2", meta().get("sidecar/revision"));
        assertTrue(meta().get("sidecar/error").startsWith("p.yaml:8:"), meta().toString());
        assertEquals(1, sample(scrape(), "bpfgit_source_info{revision=\"r2\",source=\"fake\",state=\"invalid\"}"));

        Map<String, Object> troubles = new java.util.LinkedHashMap<>();
        troubles.put("h2", revision("r2", BAD));   // unchanged head: nothing read
        troubles.put("h3", new SourceException("git unreachable"));
        troubles.put("h4", new RefusedRevisionException("r3", "no signature"));
        for (Map.Entry<String, Object> trouble : troubles.entrySet()) {
            source.set(trouble.getKey(), trouble.getValue());
            drop("192.0.2.0/24");
            clock.advance(Duration.ofSeconds(61));
            s.step();
            assertTrue(has("192.0.2.0/24"), "drift corrected while the source is " + s.sourceState());
            assertTrue(s.ready());
        }
        assertEquals(Sidecar.SourceState.REFUSED, s.sourceState());
        assertEquals("r1", meta().get("revision"));
        assertEquals("refused", meta().get("sidecar/state"));

        source.set("h5", revision("r4", OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertTrue(has("198.51.100.0/24") && !has("192.0.2.0/24"));
        assertEquals(Sidecar.SourceState.OK, s.sourceState());
        assertEquals("ok", meta().get("sidecar/state"), "the sidecar's keys survive an apply");
        String m = scrape();
        assertEquals(3, sample(m, "bpfgit_drift_corrected_total"), m);
        assertEquals(1, sample(m, "bpfgit_reconcile_total{result=\"invalid\"}"), m);
        assertEquals(1, sample(m, "bpfgit_reconcile_total{result=\"refused\"}"), m);
        assertEquals(1, sample(m, "bpfgit_reconcile_total{result=\"source_error\"}"), m);
        assertEquals(1, sample(m, "bpfgit_refused_commits_total"), m);
        assertEquals(1, sample(m, "bpfgit_revision_info{revision=\"r4\",short=\"r4\"}"), m);
        assertEquals(1, sample(m, "bpfgit_source_info{revision=\"r4\",source=\"fake\",state=\"ok\"}"), m);
        assertEquals(1, sample(m, "bpfgit_policy_state{policy=\"TrafficPolicy/edge\",state=\"in_sync\"}"), m);
    }

    @Test
    void aNewRevisionIsDiffedAgainstWhatWasObservedWhileItWasParsedUnlessItAttachesElsewhere() throws IOException {
        Sidecar s = sidecar("correct");
        source.set("h1", revision("r1", DROP));
        s.step();   // the first revision: nothing to observe ahead for
        assertEquals(null, observedOn.get("bpfgit-observe"));
        assertTrue(has("192.0.2.0/24"));

        source.set("h2", revision("r2", OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(1, observedOn.get("bpfgit-observe"), observedOn.toString());
        assertTrue(has("198.51.100.0/24") && !has("192.0.2.0/24"));
        assertEquals("r2", meta().get("revision"));

        source.set("h3", revision("r3", BAD));   // observed ahead, not used: nothing applied
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(2, observedOn.get("bpfgit-observe"), observedOn.toString());
        assertEquals("r2", meta().get("revision"));

        int onLoop = observedOn.getOrDefault(Thread.currentThread().getName(), 0);
        source.set("h4", new Snapshot("r4", Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\n"
                + "metadata: {name: edge}\nspec:\n  interfaces: [eth1]\n  hook: xdp\n  rules:\n" + DROP)));
        clock.advance(Duration.ofSeconds(31));
        s.step();   // attaches elsewhere: what was observed ahead does not cover eth1, so observed again
        assertEquals(3, observedOn.get("bpfgit-observe"), observedOn.toString());
        assertTrue(observedOn.getOrDefault(Thread.currentThread().getName(), 0) > onLoop, observedOn.toString());
        assertTrue(memory.lookup(ROOT.resolve("traffic/eth1/xdp/rules_v4"),
                TrafficLayout.key(Prefix.parse("192.0.2.0/24"))).isPresent());
        assertTrue(memory.mapInfo(RULES).isEmpty(), "eth0's rules removed");
        assertEquals("r4", meta().get("revision"));
        assertTrue(s.ready());
    }

    @Test
    void anUnchangedHeadIsNotReadAndAnUnchangedRevisionNotParsed() throws IOException {
        Sidecar s = sidecar("correct");
        source.set("h1", revision("r1", DROP));
        s.step();
        assertEquals(1, metrics.parses());
        assertEquals(1, source.reads);
        for (int i = 0; i < 5; i++) {
            clock.advance(Duration.ofSeconds(31));
            s.step();
        }
        assertEquals(1, source.reads, "head unchanged: no read");
        assertEquals(1, metrics.parses());

        source.set("h2", revision("r1", DROP));   // a touched file: new head, same files
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(2, source.reads);
        assertEquals(1, metrics.parses(), "same revision: no parse");

        source.set("h3", revision("r2", BAD));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        source.set("h4", revision("r2", BAD));   // the invalid revision read again is not parsed again
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(2, metrics.parses());
    }

    @Test
    void aFailedApplyIsRetriedWithExponentialBackoffAndReadinessFollows() throws IOException {
        Sidecar s = sidecar("correct");
        assertFalse(s.ready(), "nothing applied yet");
        source.set("h1", revision("r1", DROP));
        s.step();
        assertTrue(s.ready());

        failWrites.set(true);
        source.set("h2", revision("r2", DROP + OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertFalse(s.ready(), "an apply failure is pending");
        List<String> body = s.readiness().lines().toList();
        assertEquals("revision r2 failed to apply, retrying", body.getFirst(), s.readiness());
        assertEquals(2, body.size(), s.readiness());
        assertTrue(body.get(1).startsWith("TrafficPolicy/edge: "), "the failed policy named, with why: " + body);
        assertFalse(body.get(1).startsWith("TrafficPolicy/edge: apply "), "the cause, not the wrapper: " + body);
        List<Long> delays = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Instant retry = s.retryAt().orElseThrow();
            delays.add(Duration.between(clock.instant(), retry).toSeconds());
            clock.advance(Duration.between(clock.instant(), retry).minusMillis(1));
            int reads = source.reads;
            s.step();
            assertEquals(Optional.of(retry), s.retryAt(), "not retried before it is due");
            clock.advance(Duration.ofMillis(1));
            s.step();
            assertEquals(reads, source.reads, "a retry applies the kept revision; it does not read the source");
        }
        assertEquals(List.of(1L, 2L, 4L, 8L), delays);
        failWrites.set(false);
        clock.advance(Duration.between(clock.instant(), s.retryAt().orElseThrow()));
        s.step();
        assertTrue(s.ready());
        assertTrue(has("198.51.100.0/24"));
        assertEquals(Optional.empty(), s.retryAt());
        assertEquals(4 + 1, (int) sample(scrape(), "bpfgit_reconcile_total{result=\"error\"}"));
    }

    /**
     * A foreign tc program refuses one policy's unit: that policy is failed (bookkeeping for status, metrics),
     * the rest of the revision is applied, the loop is not ready and retries; once the program is gone the
     * retry applies the policy and clears the failure.
     */
    @Test
    void aForeignTcProgramFailsThatPolicyAloneAndTheRetryAppliesItOnceItIsGone() throws IOException {
        Sidecar s = sidecar("correct");
        AttachPoint tc = new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS);
        memory.attachForeign(tc, 77, "their_tc");
        Snapshot both = new Snapshot("r1", Map.of("p.yaml", revision("r1", DROP).files().get("p.yaml"),
                "tc.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: steer}\nspec:\n"
                        + "  interfaces: [eth1]\n  hook: tc-ingress\n  rules:\n" + OTHER));
        source.set("h1", both);
        s.step();
        assertTrue(has("192.0.2.0/24"), "the other policy is applied");
        assertTrue(memory.pins(ROOT).stream().noneMatch(p -> p.path().startsWith(ROOT.resolve("traffic/eth1"))),
                "nothing at the refused hook");
        assertFalse(s.ready());
        assertTrue(s.retryAt().isPresent(), "retried");
        // /readyz says which policy is refused and why, one line; not the one applied
        List<String> body = s.readiness().lines().toList();
        assertEquals("revision r1 failed to apply, retrying", body.getFirst(), s.readiness());
        assertEquals(2, body.size(), s.readiness());
        assertTrue(body.get(1).startsWith("TrafficPolicy/steer: eth1 tcx-ingress: program id 77 \"their_tc\""),
                s.readiness());
        assertTrue(body.get(1).length() <= "TrafficPolicy/steer: ".length() + Sidecar.READY_REASON_CHARS, body.get(1));
        assertTrue(meta().getOrDefault(Meta.FAILED + "TrafficPolicy/steer", "").startsWith(
                "eth1 tcx-ingress: program id 77 \"their_tc\" is attached and was not attached by bpfgit"), meta().toString());
        String text = scrape();
        assertEquals(1.0, sample(text, "bpfgit_policy_state{policy=\"TrafficPolicy/steer\",state=\"failed\"}"));
        assertEquals(1.0, sample(text, "bpfgit_policy_state{policy=\"TrafficPolicy/edge\",state=\"in_sync\"}"));
        assertEquals(1.0, sample(text, "bpfgit_reconcile_total{result=\"error\"}"));

        // still there at the retry: still failed, and the applied policy untouched
        clock.advance(Duration.between(clock.instant(), s.retryAt().orElseThrow()));
        s.step();
        assertFalse(s.ready());
        memory.detachForeign(tc, 77);
        clock.advance(Duration.between(clock.instant(), s.retryAt().orElseThrow()));
        s.step();
        assertTrue(s.ready(), "applied once the foreign program left");
        assertEquals("revision r1 applied and in sync", s.readiness());
        assertTrue(memory.lookup(ROOT.resolve("traffic/eth1/tc-ingress/rules_v4"),
                TrafficLayout.key(Prefix.parse("198.51.100.0/24"))).isPresent());
        assertFalse(meta().containsKey(Meta.FAILED + "TrafficPolicy/steer"), meta().toString());
        assertEquals(1.0, sample(scrape(), "bpfgit_policy_state{policy=\"TrafficPolicy/steer\",state=\"in_sync\"}"));
    }

    @Test
    void reportModeReportsDriftWithoutCorrectingItButAppliesNewRevisions() throws IOException {
        Sidecar s = sidecar("report");
        source.set("h1", revision("r1", DROP));
        s.step();
        assertTrue(has("192.0.2.0/24"), "a new revision is applied in report mode too");
        drop("192.0.2.0/24");
        clock.advance(Duration.ofSeconds(61));
        s.step();
        assertFalse(has("192.0.2.0/24"), "drift only reported");
        assertFalse(s.ready(), "not in sync");
        assertEquals("revision r1 not in sync\nTrafficPolicy/edge: drifted, not corrected (reconcile.drift: report)",
                s.readiness());
        String m = scrape();
        assertEquals(1, sample(m, "bpfgit_drift_detected_total"), m);
        assertEquals(0, sample(m, "bpfgit_drift_corrected_total"), m);
        assertEquals(1, sample(m, "bpfgit_policy_state{policy=\"TrafficPolicy/edge\",state=\"drifted\"}"), m);

        source.set("h2", revision("r2", OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertTrue(has("198.51.100.0/24"));
        assertTrue(s.ready());
        assertEquals("revision r2 applied and in sync", s.readiness());
    }

    @Test
    void aRestartWithTheAppliedRevisionChangesNothingAndIsReady() throws IOException {
        Sidecar first = sidecar("report");
        source.set("h1", revision("r1", DROP));
        first.step();
        String applied = meta().get("applied");
        clock.advance(Duration.ofSeconds(5));
        Sidecar second = sidecar("report");
        source.reads = 0;
        second.step();
        assertTrue(second.ready());
        assertEquals(applied, meta().get("applied"), "nothing was applied again");
    }

    @Test
    void aRestartOnABadHeadEnforcesTheRevisionThePinsRecordWhenTheSourceCanGiveItBack() throws IOException {
        source.set("h1", revision("r1", DROP));
        sidecar("correct").step();
        assertEquals("r1", meta().get("revision"));

        // restarted while the head is invalid, with drift in the kernel
        source.set("h2", revision("r2", BAD));
        drop("192.0.2.0/24");
        Sidecar directory = sidecar("correct");
        directory.step();
        clock.advance(Duration.ofSeconds(61));
        directory.step();
        assertEquals(Optional.empty(), directory.enforcedRevision(), "a source without the past enforces nothing");
        assertFalse(has("192.0.2.0/24"));
        assertEquals(Sidecar.SourceState.INVALID, directory.sourceState());

        source.past.put("r1", revision("r1", DROP));
        Sidecar git = sidecar("correct");
        git.step();
        assertEquals(Optional.of("r1"), git.enforcedRevision());
        assertTrue(has("192.0.2.0/24"), "drift corrected from the revision the pins record");
        assertTrue(git.ready());
        assertEquals(Sidecar.SourceState.INVALID, git.sourceState(), "the bad head is still reported");
        assertEquals("r2", meta().get("sidecar/revision"));
        assertEquals("r1", meta().get("revision"));
        String m = scrape();
        assertEquals(1, sample(m, "bpfgit_source_info{revision=\"r2\",source=\"fake\",state=\"invalid\"}"), m);
        assertEquals(1, sample(m, "bpfgit_drift_corrected_total"), m);
        drop("192.0.2.0/24");
        clock.advance(Duration.ofSeconds(61));
        git.step();
        assertTrue(has("192.0.2.0/24"), "and at every interval after");

        source.set("h3", revision("r3", DROP + OTHER));
        clock.advance(Duration.ofSeconds(31));
        git.step();
        assertEquals(Optional.of("r3"), git.enforcedRevision());
        assertTrue(has("198.51.100.0/24"));
        assertEquals(Sidecar.SourceState.OK, git.sourceState());
    }

    @Test
    void perRuleCountersAreReadAtScrapeTimeUpToTheSeriesCap() throws IOException {
        Sidecar s = sidecar("correct", 2);
        source.set("h1", revision("r1", DROP + OTHER));
        s.step();
        String m = scrape();
        assertEquals(0, sample(m, "bpfgit_traffic_rule_packets_total{action=\"drop\",policy=\"TrafficPolicy/edge\","
                + "prefix=\"192.0.2.0/24\",unit=\"traffic/eth0/xdp\"}"), m);
        assertEquals(2, m.lines().filter(l -> l.startsWith("bpfgit_traffic_rule_packets_total{")).count(), m);
        assertEquals(1, sample(m, "bpfgit_traffic_rule_series_omitted"), "two rules and the default slot, cap 2");
    }

    /**
     * A scrape keeps the label sets it made while the rules are unchanged and reads only the counters again; a new
     * revision, and a rule changed in the kernel under the same revision, get label sets made anew (never the kept
     * ones), and the counts follow each rule's own slot and generation.
     */
    @Test
    void keptLabelSetsAreNeverReusedForChangedRules() throws IOException {
        Sidecar s = sidecar("report");
        String pass = "    - {prefix: 192.0.2.0/24, action: pass}\n";
        String unit = ",unit=\"traffic/eth0/xdp\"}";
        String dropped = "bpfgit_traffic_rule_packets_total{action=\"drop\",policy=\"TrafficPolicy/edge\",prefix=\"192.0.2.0/24\"" + unit;
        String passed = "bpfgit_traffic_rule_packets_total{action=\"pass\",policy=\"TrafficPolicy/edge\",prefix=\"192.0.2.0/24\"" + unit;
        String other = "bpfgit_traffic_rule_packets_total{action=\"drop\",policy=\"TrafficPolicy/edge\",prefix=\"198.51.100.0/24\"" + unit;
        source.set("h1", revision("r1", DROP + OTHER));
        s.step();
        count("192.0.2.0/24", 3);
        String m = scrape();
        assertEquals(3, sample(m, dropped), m);
        assertEquals(0, sample(m, other), m);
        count("192.0.2.0/24", 5);
        count("198.51.100.0/24", 7);
        m = scrape();
        assertEquals(5, sample(m, dropped), "the same rules: only the counters read again\n" + m);
        assertEquals(7, sample(m, other), m);

        source.set("h2", revision("r2", pass + OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        count("192.0.2.0/24", 11);
        m = scrape();
        assertFalse(m.contains(dropped.substring(0, dropped.length() - 1)), "the old rule's series is gone\n" + m);
        assertEquals(11, sample(m, passed), m);
        assertEquals(7, sample(m, other), m);
        assertEquals(3, m.lines().filter(l -> l.startsWith("bpfgit_traffic_rule_bytes_total{")).count(), m);

        // the same revision, the kernel's rule removed behind its back (drift: report): the kernel's rules show
        drop("198.51.100.0/24");
        m = scrape();
        assertFalse(m.contains("prefix=\"198.51.100.0/24\""), m);
        assertEquals(11, sample(m, passed), m);
        assertEquals(2, m.lines().filter(l -> l.startsWith("bpfgit_traffic_rule_packets_total{")).count(), m);
    }

    /**
     * With the write counter, a scrape takes the rule trie the loop kept while the kernel counted no write to it
     * (it reads no trie), and any counted write (a foreign one, the loop's own new revision, a write the counter
     * could not attribute) makes the next scrape read the trie and show the rules in it now: the labels of a
     * removed or changed rule never outlive the change.
     */
    @Test
    void withTheWriteCounterAScrapeReadsTheTrieOnlyAfterAWrite() throws IOException {
        writes = new Writes();
        Sidecar s = sidecar("report");
        String unit = ",unit=\"traffic/eth0/xdp\"}";
        String dropped = "bpfgit_traffic_rule_packets_total{action=\"drop\",policy=\"TrafficPolicy/edge\",prefix=\"192.0.2.0/24\"" + unit;
        String passed = "bpfgit_traffic_rule_packets_total{action=\"pass\",policy=\"TrafficPolicy/edge\",prefix=\"192.0.2.0/24\"" + unit;
        String other = "bpfgit_traffic_rule_packets_total{action=\"drop\",policy=\"TrafficPolicy/edge\",prefix=\"198.51.100.0/24\"" + unit;
        source.set("h1", revision("r1", DROP + OTHER));
        s.step();
        clock.advance(Duration.ofSeconds(61));
        s.step();   // a drift tick: the trie is read and kept
        assertTrue(has("198.51.100.0/24"));
        assertFalse(writes.counts.isEmpty(), "the counter watches the maps read");
        count("192.0.2.0/24", 3);
        ruleReads.set(0);
        ruleOpens.set(0);
        String m = scrape();
        assertEquals(3, sample(m, dropped), m);
        assertEquals(0, sample(m, other), m);
        m = scrape();
        assertEquals(3, sample(m, dropped), m);
        assertEquals(0, ruleReads.get(), "no write counted since the tick: the kept trie, no read");

        assertEquals(2, ruleOpens.get(), "one open of the trie per scrape");

        // a foreign write to the trie, counted by the kernel: read again, the removed rule's series is gone
        drop("198.51.100.0/24");
        writes.count(RULES, 1);
        ruleOpens.set(0);
        m = scrape();
        assertFalse(m.contains("prefix=\"198.51.100.0/24\""), "a counted write is never missed\n" + m);
        assertEquals(3, sample(m, dropped), m);
        assertEquals(1, ruleReads.get());
        assertEquals(1, ruleOpens.get(), "the kept trie does not serve: read with the one open that checked it");

        // a foreign change of a rule's action in place (same key, same slot): the labels follow it
        Entry rule = new Entry(TrafficLayout.key(Prefix.parse("192.0.2.0/24")),
                memory.lookup(RULES, TrafficLayout.key(Prefix.parse("192.0.2.0/24"))).orElseThrow());
        byte[] v = rule.value().toArray();
        v[20] = (byte) dev.bpfgit.kind.traffic.TrafficPolicySpec.Action.PASS.ordinal();   // TrafficLayout.ACTION
        memory.update(RULES, List.of(new Entry(rule.key(), dev.bpfgit.kernel.Bytes.wrap(v))));
        assertEquals(dev.bpfgit.kind.traffic.TrafficPolicySpec.Action.PASS, TrafficLayout.rule(memory.lookup(RULES, rule.key()).orElseThrow()).action());
        writes.count(RULES, 1);
        m = scrape();
        assertFalse(m.contains(dropped.substring(0, dropped.length() - 1)), m);
        assertEquals(3, sample(m, passed), m);

        // a write the counter could not attribute: the trie is read again
        ruleReads.set(0);
        writes.unresolved++;
        scrape();
        assertEquals(1, ruleReads.get());

        // a new revision (the loop's own writes, folded into what it kept): its rules, never the kept labels
        source.set("h2", revision("r2", DROP));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        clock.advance(Duration.ofSeconds(61));
        s.step();
        count("192.0.2.0/24", 5);
        ruleReads.set(0);
        m = scrape();
        assertEquals(5, sample(m, dropped), m);
        assertFalse(m.contains(passed.substring(0, passed.length() - 1)), m);
        assertEquals(0, ruleReads.get(), "the loop's own writes are folded in: still no read\n" + m);
    }

    /** Sets {@code packets} (and 100 bytes each) on one CPU of the counter slot of the kernel's rule for a prefix. */
    private void count(String prefix, long packets) {
        TrafficLayout.Rule r = TrafficLayout.rule(memory.lookup(RULES, TrafficLayout.key(Prefix.parse(prefix))).orElseThrow());
        java.nio.ByteBuffer v = java.nio.ByteBuffer.allocate(2 * 24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        v.putLong(packets).putLong(100 * packets).putInt((int) r.gen()).putInt(0);
        v.putLong(0).putLong(0).putInt((int) r.gen()).putInt(0);
        memory.update(RULES.resolveSibling("counters"), List.of(new Entry(
                dev.bpfgit.kernel.Bytes.wrap(dev.bpfgit.compile.Le.u32(r.slot())), dev.bpfgit.kernel.Bytes.wrap(v.array()))));
    }

    @Test
    void aGitRevisionIsShownByItsShortIdAndItsCommitRecordedForStatus() throws IOException {
        Sidecar s = sidecar("correct");
        String id = "0123456789abcdef0123456789abcdef01234567";
        Snapshot r = revision(id, DROP);
        source.set(id, new Snapshot(id, r.files(), Optional.of(new dev.bpfgit.source.Commit(id, "drop the bad net",
                "Ops <ops@example.com>", Instant.parse("2026-11-20T10:00:00Z"), Optional.empty()))));
        s.step();
        String m = scrape();
        assertEquals(1, sample(m, "bpfgit_revision_info{revision=\"" + id + "\",short=\"0123456789ab\"}"), m);
        assertEquals("drop the bad net", meta().get("commit/subject"), "the commit reaches the bookkeeping");
        assertEquals(id, meta().get("revision"));
    }

    @Test
    void theLoopWakesOnAChangeEventAndStopsPromptly() throws Exception {
        Path file = tmp.resolve("loop.yaml");
        Files.writeString(file, "reconcile: {interval: 60s, jitter: 0}\n");
        metrics = new Metrics(Clock.systemUTC());
        Sidecar s = new Sidecar(new Pipeline(kernel, ROOT, Clock.systemUTC()), source, () -> HOST, Config.load(file),
                Duration.ofMinutes(10), Clock.systemUTC(), metrics);
        assertFalse(s.alive(), "not running yet");
        source.set("h1", revision("r1", DROP));
        Thread loop = Thread.ofPlatform().start(s::run);
        try {
            assertTrue(waitFor(() -> s.ready(), 5000), "the first revision applied at start");
            assertTrue(s.alive());
            source.set("h2", revision("r2", OTHER));
            long t0 = System.nanoTime();
            s.changed();   // what the directory's watcher calls; the next periodic check is 10 minutes away
            assertTrue(waitFor(() -> s.enforcedRevision().equals(Optional.of("r2")) && s.ready(), 2000),
                    "a change event is acted on at once");
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 1500);
        } finally {
            long t0 = System.nanoTime();
            s.stop();
            loop.join(2000);
            assertFalse(loop.isAlive(), "stop() ends a waiting loop");
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 1000, "promptly, not at its next wake-up");
        }
        assertFalse(s.alive());
        assertTrue(has("198.51.100.0/24"));
    }

    private static boolean waitFor(java.util.function.BooleanSupplier c, long ms) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    @Test
    void sidecarValuesAreCutToTheBookkeepingSizes() {
        assertEquals("abc", SidecarRecord.fit("abc", 10));
        String cut = SidecarRecord.fit("é".repeat(100), Meta.VALUE_SIZE - 1);
        assertTrue(cut.endsWith("...") && cut.getBytes(StandardCharsets.UTF_8).length <= Meta.VALUE_SIZE - 1, cut);
        Meta.encodeValue(cut);
    }


    /**
     * A directory's read is parsed before it is known to be settled; a read that was not (events came during the
     * quiet time) leads to nothing seen: neither its half-written revision applied nor its errors reported. The
     * source is read again, settled, and that is what is applied.
     */
    @Test
    void anUnsettledEarlyReadIsNeitherAppliedNorReportedAndTheSettledReadIs() throws IOException {
        SettlingFake settling = new SettlingFake();
        Path file = tmp.resolve("bpfgit.yaml");
        Files.writeString(file, "reconcile: {interval: 60s, jitter: 0}\n");
        metrics = new Metrics(clock);
        Sidecar s = new Sidecar(new Pipeline(kernel, ROOT, clock), settling, () -> HOST, Config.load(file),
                Duration.ofSeconds(30), clock, metrics);
        settling.set("h1", revision("r1", DROP));
        settling.early = revision("half", DROP.substring(0, DROP.length() - 12));   // cut mid-rule: invalid
        settling.earlySettled = false;
        s.step();
        assertEquals(1, settling.earlyReads);
        assertEquals(1, settling.reads, "read again, settled");
        assertEquals(Sidecar.SourceState.OK, s.sourceState(), "the half-written file's errors are not reported");
        assertEquals("r1", meta().get("revision"));
        assertTrue(has("192.0.2.0/24"));

        // half-written and valid (a rule list cut at a line): not applied either
        settling.set("h2", revision("r2", DROP + OTHER));
        settling.early = revision("half2", OTHER);
        settling.earlySettled = false;
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals("r2", meta().get("revision"));
        assertTrue(has("192.0.2.0/24"), "the rule the half-written read lacked was never removed: r2 has it");
        assertTrue(has("198.51.100.0/24"));
        assertFalse(scrape().contains("half"), "no metric names the unsettled read");

        // settled: applied from the early read alone, with the time the settling took
        settling.set("h3", revision("r3", OTHER));
        settling.early = revision("r3", OTHER);
        settling.earlySettled = true;
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals(3, settling.earlyReads);
        assertEquals(2, settling.reads, "a settled early read is not read again");
        assertEquals("r3", meta().get("revision"));
        assertFalse(has("192.0.2.0/24"));
        assertTrue(scrape().contains("stage=\"settle\""), scrape());
    }

    /**
     * A new revision's full collection waits until no change event has come for COLLECT_QUIET (an edit that came
     * meanwhile would wait for it), but not for more than MAX_UNCOLLECTED revisions.
     */
    @Test
    void theCollectionAfterANewRevisionWaitsForAQuietSourceButNotForever() throws IOException {
        Sidecar s = sidecar("correct");
        java.util.concurrent.atomic.AtomicInteger collections = new java.util.concurrent.atomic.AtomicInteger();
        s.collector = collections::incrementAndGet;
        source.set("h1", revision("r1", DROP));
        s.step();
        clock.advance(Sidecar.COLLECT_QUIET);
        s.step();
        assertEquals(1, collections.get(), "the first revision's");
        collections.set(0);
        source.set("h2", revision("r2", OTHER));
        clock.advance(Duration.ofSeconds(31));
        s.step();
        assertEquals("r2", meta().get("revision"));
        assertEquals(0, collections.get(), "not at once");
        clock.advance(Sidecar.COLLECT_QUIET);
        s.changed();   // an event just as it is due: the collection waits for the edit it may announce
        s.step();
        assertEquals(0, collections.get());
        clock.advance(Sidecar.SETTLE);
        s.step();   // the source check the event asked for: nothing new
        assertEquals(0, collections.get());
        clock.advance(Sidecar.COLLECT_QUIET);
        s.step();
        assertEquals(1, collections.get(), "quiet: collected");

        // a burst of revisions with no quiet between them: collected every MAX_UNCOLLECTED
        for (int i = 0; i < Sidecar.MAX_UNCOLLECTED; i++) {
            source.set("b" + i, revision("rb" + i, i % 2 == 0 ? DROP : OTHER));
            s.changed();
            clock.advance(Duration.ofMillis(50));
            s.step();
            assertEquals("rb" + i, meta().get("revision"));
        }
        assertEquals(2, collections.get(), "the burst's last revision collected at once");
    }

    /** A {@link FakeSource} that reads early too: {@link #early} and whether it is settled are the test's. */
    static final class SettlingFake extends FakeSourceBase implements dev.bpfgit.source.SettlingSource {
        Snapshot early;
        boolean earlySettled;
        int earlyReads;

        @Override
        public Early readEarly(String h) {
            earlyReads++;
            Snapshot s = early;
            boolean settled = earlySettled;
            return new Early(s, () -> settled);
        }
    }

    static final class FakeSource extends FakeSourceBase {
    }

    /** A source whose head and content the test sets: a snapshot, or an exception to throw on read. */
    static class FakeSourceBase implements PolicySource {
        private String head = "none";
        Object snapshot;
        int reads;
        /** Earlier revisions it can give back (a git source's clone); none, like a directory, until put here. */
        final Map<String, Snapshot> past = new java.util.HashMap<>();

        void set(String head, Object content) {
            this.head = head;
            this.snapshot = content;
        }

        @Override
        public String head() {
            if (snapshot instanceof SourceException e && !(e instanceof RefusedRevisionException)) {
                throw e;
            }
            return head;
        }

        @Override
        public Snapshot read(String h) {
            reads++;
            return switch (snapshot) {
                case Snapshot s -> s;
                case RuntimeException e -> throw e;
                default -> throw new UncheckedIOException(new IOException("no content"));
            };
        }

        @Override
        public Optional<Snapshot> readRevision(String revision) {
            return Optional.ofNullable(past.get(revision));
        }

        @Override
        public String describe() {
            return "fake";
        }

        @Override
        public void close() {
        }
    }

    static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-11-23T12:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aReasonForReadyzIsOneShortLine() {
        assertEquals("attach eth0: EBUSY", Sidecar.oneLine("attach eth0: EBUSY\n  at the second line"));
        String cut = Sidecar.oneLine("x".repeat(500));
        assertEquals(Sidecar.READY_REASON_CHARS, cut.length());
        assertTrue(cut.endsWith("..."), cut);
        assertEquals("unknown error", Sidecar.oneLine(null));
    }
}
