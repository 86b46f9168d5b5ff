package dev.bpfgit.run;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.TrafficLayout;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SidecarTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final Path RULES = ROOT.resolve("traffic/eth0/xdp/rules_v4");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));

    private final MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);
    private final MutableClock clock = new MutableClock();
    private final AtomicReference<Object> source = new AtomicReference<>();

    private Sidecar sidecar(boolean correctDrift) {
        Config c = new Config(ROOT, Optional.empty(), Map.of(), Optional.empty(), Optional.empty(), Duration.ofSeconds(60), 0,
                correctDrift, "127.0.0.1:0", Config.DEFAULT_LOCK_TIMEOUT);
        return new Sidecar(new Pipeline(kernel, ROOT, clock), () -> switch (source.get()) {
            case Snapshot s -> s;
            case RuntimeException e -> throw e;
            default -> throw new IllegalStateException();
        }, () -> HOST, c, clock, new Metrics(clock));
    }

    private static Snapshot revision(String rev, String rules) {
        return new Snapshot(rev, Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: edge}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n" + rules));
    }

    private boolean has(String prefix) {
        return kernel.lookup(RULES, TrafficLayout.key(Prefix.parse(prefix))).isPresent();
    }

    @Test
    void anInvalidRevisionOrAnUnreadableSourceKeepsTheLastGoodOne() {
        Sidecar s = sidecar(true);
        source.set(revision("r1", "    - {prefix: 192.0.2.0/24, action: drop}\n"));
        s.tick();
        assertTrue(has("192.0.2.0/24"));
        assertEquals(Optional.of("r1"), s.lastGoodRevision());

        source.set(revision("r2", "    - {prefix: 192.0.2.0/24, action: explode}\n"));
        s.tick();
        assertTrue(has("192.0.2.0/24"), "an invalid revision removes nothing");
        assertEquals(Optional.of("r1"), s.lastGoodRevision());

        source.set(new SourceException("git unreachable"));
        clock.advance(Duration.ofMinutes(5));
        s.tick();
        assertTrue(has("192.0.2.0/24"));

        source.set(revision("r3", "    - {prefix: 198.51.100.0/24, action: drop}\n"));
        s.tick();
        assertTrue(has("198.51.100.0/24") && !has("192.0.2.0/24"));
        assertEquals(Optional.of("r3"), s.lastGoodRevision());
    }

    @Test
    void driftIsCorrectedAtTheIntervalOrOnlyReported() {
        for (boolean correct : new boolean[]{true, false}) {
            MemoryKernel k = kernel;
            Sidecar s = sidecar(correct);
            source.set(revision("r1", "    - {prefix: 192.0.2.0/24, action: drop}\n"));
            s.tick();
            k.delete(RULES, java.util.List.of(TrafficLayout.key(Prefix.parse("192.0.2.0/24"))));
            s.tick();
            assertTrue(!has("192.0.2.0/24"), "no reconcile before the interval");
            clock.advance(Duration.ofSeconds(61));
            s.tick();
            assertEquals(correct, has("192.0.2.0/24"), "drift corrected only with drift: correct");
            if (!correct) {
                return;
            }
            k.update(RULES, java.util.List.of(new dev.bpfgit.kernel.Entry(
                    TrafficLayout.key(Prefix.parse("192.0.2.0/24")), Bytes.wrap(new byte[24]))));
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
}
